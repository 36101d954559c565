import { Liquid } from 'liquidjs';

/**
 * Renders a step's templates: the seam the templates module
 * (`src/templates/`) plugs into. A missing variable without a fallback must
 * reject (the step then fails for that enrollment); it must never render a
 * blank.
 */
export interface CampaignTemplateRenderer {
  /** Render `template` with `variables`; `html` asks for output escaping. */
  render(
    template: string,
    variables: Readonly<Record<string, unknown>>,
    options: { readonly html: boolean },
  ): Promise<string>;
}

/**
 * The engine's interim renderer until the templates module is wired in:
 * liquidjs with strict variables and filters, `default` fallbacks that work
 * (`lenientIf`), and output escaping for HTML.
 */
export function createLiquidRenderer(): CampaignTemplateRenderer {
  const strict = { strictVariables: true, strictFilters: true, lenientIf: true } as const;
  const html = new Liquid({ ...strict, outputEscape: 'escape' });
  const plain = new Liquid(strict);
  return {
    render: (template, variables, options) =>
      (options.html ? html : plain).parseAndRender(template, variables) as Promise<string>,
  };
}
