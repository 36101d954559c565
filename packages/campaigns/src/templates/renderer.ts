import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import { convert } from 'html-to-text';
import { Liquid, type Template } from 'liquidjs';
import { TemplateError, type TemplatePart } from './errors.js';

/** The variable every template can use for the recipient's unsubscribe link. */
export const UNSUBSCRIBE_URL_VARIABLE = 'unsubscribe_url';

/** An email's templates, in Liquid. */
export interface EmailTemplate {
  /** A name for errors and caching, such as `intro-v2`. */
  readonly id?: string;
  /** The subject line (rendered without HTML escaping; line breaks become spaces). */
  readonly subject: string;
  /** The HTML body (every `{{ output }}` is HTML-escaped). Absent: a plain-text email (then `text` is required). */
  readonly html?: string;
  /** The plain-text body (not escaped). When absent it is derived from the rendered HTML, unless the renderer requires it. */
  readonly text?: string;
}

/** A rendered email, ready for a provider. */
export interface RenderedEmail {
  /** The subject: one line, never empty. */
  readonly subject: string;
  /** The HTML body; absent for a plain-text template. */
  readonly html?: string;
  /** The text body: the rendered `text` template, or text derived from the HTML. */
  readonly text: string;
}

/** Options of {@link createTemplateRenderer}. */
export interface TemplateRendererOptions {
  /** `derive` (default): a template without `text` gets one from its HTML; `require`: such a template fails to compile. */
  readonly text?: 'derive' | 'require';
  /**
   * `require` (default): the rendered HTML and text must both contain the unsubscribe URL (marketing mail must carry
   * a working unsubscribe link in its body); `none`: no check (transactional mail).
   */
  readonly unsubscribe?: 'require' | 'none';
  /** How many compiled templates to keep (least recently used are dropped). Default 500. */
  readonly maxCached?: number;
}

/** What a send passes to {@link TemplateRenderer.render}. */
export interface RenderInput {
  /** The variables: lead fields (see {@link leadTemplateVariables}), the sender, anything else the host adds. */
  readonly variables: Readonly<Record<string, unknown>>;
  /** The recipient's unsubscribe URL, available to templates as `unsubscribe_url`; required unless the renderer's `unsubscribe` is `none`. */
  readonly unsubscribeUrl?: string;
}

/** A template parsed once (see {@link TemplateRenderer.compile}). */
export interface CompiledEmailTemplate {
  /** The template's id, when it has one. */
  readonly id: string | undefined;
  /** Whether the text part comes from the template (else derived from the HTML). */
  readonly hasText: boolean;
  /** The parsed Liquid of each part (`text` absent when derived from the HTML). */
  readonly parts: {
    /** The subject line. */
    readonly subject: Template[];
    /** The HTML body, when the template has one. */
    readonly html: Template[] | undefined;
    /** The text body, when the template has one. */
    readonly text: Template[] | undefined;
  };
}

/** Renders campaign emails with liquidjs: strict variables and filters, HTML escaping, `default` fallbacks. */
export interface TemplateRenderer {
  /**
   * Parses a template once; the same template (same subject, html and text) returns the same compiled object from
   * the cache. Throws a {@link TemplateError} (`syntax`, `unknown_filter`, `missing_text`).
   */
  compile(template: EmailTemplate): CompiledEmailTemplate;
  /**
   * Renders subject, HTML and text. Throws a {@link TemplateError}: `missing_variable` for a variable with no value
   * and no `default` (a null or blank value counts as missing, so nothing is sent blank), `empty` for an empty
   * subject or body, `missing_unsubscribe` when the body lacks the unsubscribe link.
   */
  render(template: EmailTemplate | CompiledEmailTemplate, input: RenderInput): RenderedEmail;
  /** How many compiled templates the cache holds. */
  readonly cacheSize: number;
}

const LIQUID_OPTIONS = { strictVariables: true, strictFilters: true, lenientIf: true } as const;

function isCompiled(template: EmailTemplate | CompiledEmailTemplate): template is CompiledEmailTemplate {
  return 'parts' in template && typeof (template as CompiledEmailTemplate).parts === 'object';
}

/** A copy of the variables without null, undefined or blank strings, so a missing value fails or falls back. */
function withoutBlanks(value: unknown, depth = 0): unknown {
  if (depth > 32) return value;
  if (Array.isArray(value)) {
    return value.filter((item) => !isBlank(item)).map((item) => withoutBlanks(item, depth + 1));
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (!isBlank(item)) copy[key] = withoutBlanks(item, depth + 1);
    }
    return copy;
  }
  return value;
}

function isBlank(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === 'string' && value.trim() === '');
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function describe(
  error: unknown,
  part: TemplatePart,
  templateId: string | undefined,
  stage: 'parse' | 'render',
): TemplateError {
  const name = (error as { name?: string })?.name;
  const message = String((error as { message?: string })?.message ?? error);
  const position = /line:(\d+), col:(\d+)/.exec(message);
  const at = position === null ? '' : ` (line ${position[1]}, column ${position[2]})`;
  const undefinedVariable = /undefined variable: ([^,\s]+)/.exec(message);
  if (undefinedVariable !== null) {
    const variable = undefinedVariable[1] as string;
    return new TemplateError('missing_variable', {
      part,
      variable,
      templateId,
      description: `variable "${variable}" has no value and no default${at}; add one with {{ ${variable} | default: "…" }}`,
      cause: error,
    });
  }
  const unknownFilter = /undefined filter: ([^,\s]+)/.exec(message);
  if (unknownFilter !== null) {
    return new TemplateError('unknown_filter', {
      part,
      templateId,
      description: `unknown filter "${unknownFilter[1]}"${at}`,
      cause: error,
    });
  }
  const summary = message.replace(/, line:\d+, col:\d+.*$/s, '');
  return new TemplateError(stage === 'parse' ? 'syntax' : 'render', {
    part,
    templateId,
    description: `${stage === 'parse' ? `does not parse (${name ?? 'Error'})` : 'failed to render'}: ${summary}${at}`,
    cause: error,
  });
}

/**
 * Liquid variables of a lead, in snake_case: `first_name`, `last_name`, `full_name`, `email`, `title`, `seniority`,
 * `department`, `phone`, `linkedin_url`, `location` (`city`, `region`, `country`, `country_code`), `company` (`name`,
 * `domain`, `industry`, `headcount`, `headcount_range`, `annual_revenue`, `location`), `custom` (as stored), and `lead`
 * (the lead as stored, camelCase). Absent fields are absent, so templates use `default` for them.
 *
 * @param lead - the lead (any object with the Lead's shape).
 */
export function leadTemplateVariables(lead: {
  readonly email?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly fullName?: string;
  readonly title?: string;
  readonly seniority?: string;
  readonly department?: string;
  readonly phone?: string;
  readonly linkedinUrl?: string;
  readonly location?: { city?: string; region?: string; country?: string; countryCode?: string };
  readonly company?: {
    name?: string;
    domain?: string;
    industry?: string;
    headcount?: number;
    headcountRange?: string;
    annualRevenue?: number;
    location?: { city?: string; region?: string; country?: string; countryCode?: string };
  };
  readonly custom?: Record<string, unknown>;
}): Record<string, unknown> {
  const place = (location: typeof lead.location) =>
    location === undefined
      ? undefined
      : {
          city: location.city,
          region: location.region,
          country: location.country,
          country_code: location.countryCode,
        };
  return withoutBlanks({
    first_name: lead.firstName,
    last_name: lead.lastName,
    full_name: lead.fullName,
    email: lead.email,
    title: lead.title,
    seniority: lead.seniority,
    department: lead.department,
    phone: lead.phone,
    linkedin_url: lead.linkedinUrl,
    location: place(lead.location),
    company:
      lead.company === undefined
        ? undefined
        : {
            name: lead.company.name,
            domain: lead.company.domain,
            industry: lead.company.industry,
            headcount: lead.company.headcount,
            headcount_range: lead.company.headcountRange,
            annual_revenue: lead.company.annualRevenue,
            location: place(lead.company.location),
          },
    custom: lead.custom,
    lead,
  }) as Record<string, unknown>;
}

/**
 * Creates a {@link TemplateRenderer}: liquidjs with `{ outputEscape: 'escape', strictVariables: true,
 * strictFilters: true, lenientIf: true }` for HTML (the same without escaping for subject and text), so
 * `{{ first_name | default: "there" }}` falls back and `{% if title %}` tests presence, while a missing variable
 * without a fallback throws a {@link TemplateError} naming it.
 *
 * @param options - text and unsubscribe policies and the cache size.
 */
export function createTemplateRenderer(options: TemplateRendererOptions = {}): TemplateRenderer {
  const textPolicy = options.text ?? 'derive';
  const unsubscribePolicy = options.unsubscribe ?? 'require';
  const maxCached = options.maxCached ?? 500;
  if (!Number.isInteger(maxCached) || maxCached < 1) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [{ field: 'maxCached', reason: 'expected a positive integer' }],
      message: 'createTemplateRenderer: maxCached: expected a positive integer',
    });
  }
  const htmlEngine = new Liquid({ ...LIQUID_OPTIONS, outputEscape: 'escape' });
  const plainEngine = new Liquid({ ...LIQUID_OPTIONS });
  const cache = new Map<string, CompiledEmailTemplate>();

  function parse(engine: Liquid, source: string, part: TemplatePart, id: string | undefined): Template[] {
    if (typeof source !== 'string') {
      throw new TemplateError('syntax', { part, templateId: id, description: 'must be a string' });
    }
    try {
      return engine.parse(source);
    } catch (error) {
      throw describe(error, part, id, 'parse');
    }
  }

  function compile(template: EmailTemplate): CompiledEmailTemplate {
    const key = JSON.stringify([template.subject, template.html, template.text ?? null]);
    const cached = cache.get(key);
    if (cached !== undefined) {
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    const id = template.id;
    if (template.text === undefined && (textPolicy === 'require' || template.html === undefined)) {
      throw new TemplateError('missing_text', {
        part: 'text',
        templateId: id,
        description: 'a text version is required (set `text`)',
      });
    }
    const compiled: CompiledEmailTemplate = Object.freeze({
      id,
      hasText: template.text !== undefined,
      parts: Object.freeze({
        subject: parse(plainEngine, template.subject, 'subject', id),
        html: template.html === undefined ? undefined : parse(htmlEngine, template.html, 'html', id),
        text: template.text === undefined ? undefined : parse(plainEngine, template.text, 'text', id),
      }),
    });
    cache.set(key, compiled);
    if (cache.size > maxCached) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    return compiled;
  }

  function renderPart(
    engine: Liquid,
    parts: Template[],
    scope: object,
    part: TemplatePart,
    id: string | undefined,
  ): string {
    try {
      return engine.renderSync(parts, scope) as string;
    } catch (error) {
      throw describe(error, part, id, 'render');
    }
  }

  function render(template: EmailTemplate | CompiledEmailTemplate, input: RenderInput): RenderedEmail {
    const compiled = isCompiled(template) ? template : compile(template);
    const id = compiled.id;
    if (
      unsubscribePolicy === 'require' &&
      (typeof input.unsubscribeUrl !== 'string' || !/^https:\/\//.test(input.unsubscribeUrl))
    ) {
      throw new TemplateError('missing_unsubscribe', {
        part: 'html',
        templateId: id,
        description: 'unsubscribeUrl must be an https URL',
      });
    }
    const scope = {
      ...(withoutBlanks({ ...input.variables }) as Record<string, unknown>),
      ...(input.unsubscribeUrl === undefined ? {} : { [UNSUBSCRIBE_URL_VARIABLE]: input.unsubscribeUrl }),
    };
    const subject = renderPart(plainEngine, compiled.parts.subject, scope, 'subject', id)
      .replace(/\s+/g, ' ')
      .trim();
    if (subject === '')
      throw new TemplateError('empty', { part: 'subject', templateId: id, description: 'rendered empty' });
    const html =
      compiled.parts.html === undefined
        ? undefined
        : renderPart(htmlEngine, compiled.parts.html, scope, 'html', id);
    if (html !== undefined && html.trim() === '')
      throw new TemplateError('empty', { part: 'html', templateId: id, description: 'rendered empty' });
    const text =
      compiled.parts.text === undefined
        ? convert(html ?? '', { wordwrap: false, selectors: [{ selector: 'img', format: 'skip' }] })
        : renderPart(plainEngine, compiled.parts.text, scope, 'text', id);
    if (text.trim() === '')
      throw new TemplateError('empty', { part: 'text', templateId: id, description: 'rendered empty' });
    if (unsubscribePolicy === 'require') {
      const url = input.unsubscribeUrl ?? '';
      if (html !== undefined && !html.includes(escapeHtml(url)) && !html.includes(url)) {
        throw new TemplateError('missing_unsubscribe', {
          part: 'html',
          templateId: id,
          description: `the body has no unsubscribe link: add <a href="{{ ${UNSUBSCRIBE_URL_VARIABLE} }}">unsubscribe</a>`,
        });
      }
      if (!text.includes(url)) {
        throw new TemplateError('missing_unsubscribe', {
          part: 'text',
          templateId: id,
          description: `the text has no unsubscribe link: add {{ ${UNSUBSCRIBE_URL_VARIABLE} }}`,
        });
      }
    }
    return html === undefined ? { subject, text } : { subject, html, text };
  }

  return {
    compile,
    render,
    get cacheSize() {
      return cache.size;
    },
  };
}
