/**
 * Campaign email templates: liquidjs with HTML escaping, strict variables and filters and working `default`
 * fallbacks; subject, HTML and text rendered, the text derived from the HTML when not given; the unsubscribe link
 * available as `unsubscribe_url`; templates parsed once and cached.
 *
 * @module
 */
export { TemplateError, type TemplateErrorReason, type TemplatePart } from './errors.js';
export {
  type CompiledEmailTemplate,
  createTemplateRenderer,
  type EmailTemplate,
  leadTemplateVariables,
  type RenderedEmail,
  type RenderInput,
  type TemplateRenderer,
  type TemplateRendererOptions,
  UNSUBSCRIBE_URL_VARIABLE,
} from './renderer.js';
