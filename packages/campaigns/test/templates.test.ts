import { ConfigurationError, ValidationError } from '@leadpipe/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import {
  createTemplateRenderer,
  type EmailTemplate,
  leadTemplateVariables,
  TemplateError,
  UNSUBSCRIBE_URL_VARIABLE,
} from '../src/index.js';

const UNSUBSCRIBE = 'https://example.test/u?t=abc&c=42';
const FOOTER_HTML = '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>';

const intro: EmailTemplate = {
  id: 'intro',
  subject: 'Hi {{ first_name | default: "there" }}, about {{ company.name }}',
  html: `<p>Hi {{ first_name | default: "there" }},</p><p>{{ company.name }} looks great.</p>${FOOTER_HTML}`,
};

function templateError(run: () => unknown): TemplateError {
  try {
    run();
  } catch (error) {
    expect(TemplateError.isInstance(error)).toBe(true);
    return error as TemplateError;
  }
  throw new Error('expected a TemplateError');
}

describe('createTemplateRenderer', () => {
  it('renders subject, html and a derived text, with the default fallback and the unsubscribe link', () => {
    const renderer = createTemplateRenderer();
    const email = renderer.render(intro, {
      variables: { company: { name: 'Acme' } },
      unsubscribeUrl: UNSUBSCRIBE,
    });
    expect(email.subject).toBe('Hi there, about Acme');
    expect(email.html).toBe(
      '<p>Hi there,</p><p>Acme looks great.</p><p><a href="https://example.test/u?t=abc&amp;c=42">Unsubscribe</a></p>',
    );
    expect(email.text).toBe(`Hi there,\n\nAcme looks great.\n\nUnsubscribe [${UNSUBSCRIBE}]`);
    const named = renderer.render(intro, {
      variables: { first_name: 'Jane', company: { name: 'Acme' } },
      unsubscribeUrl: UNSUBSCRIBE,
    });
    expect(named.subject).toBe('Hi Jane, about Acme');
  });

  it('escapes HTML in the html part only; the subject and text stay plain', () => {
    const renderer = createTemplateRenderer();
    const email = renderer.render(
      {
        subject: 'For {{ company.name }}',
        html: `<p>{{ company.name }} says {{ quote }}</p>${FOOTER_HTML}`,
        text: '{{ company.name }} says {{ quote }}\n{{ unsubscribe_url }}',
      },
      {
        variables: { company: { name: 'Smith & <Sons>' }, quote: '"hi" <script>alert(1)</script>' },
        unsubscribeUrl: UNSUBSCRIBE,
      },
    );
    expect(email.html).toContain(
      '<p>Smith &amp; &lt;Sons&gt; says &#34;hi&#34; &lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
    expect(email.html).not.toContain('<script>');
    expect(email.subject).toBe('For Smith & <Sons>');
    expect(email.text).toBe(`Smith & <Sons> says "hi" <script>alert(1)</script>\n${UNSUBSCRIBE}`);
  });

  it('fails a missing variable without a fallback with a TemplateError naming it, never a blank', () => {
    const renderer = createTemplateRenderer();
    const error = templateError(() =>
      renderer.render(
        { id: 'follow-up', subject: 'Hello {{ first_name }}', html: `x${FOOTER_HTML}` },
        { variables: { company: { name: 'Acme' } }, unsubscribeUrl: UNSUBSCRIBE },
      ),
    );
    expect(error.reason).toBe('missing_variable');
    expect(error.variable).toBe('first_name');
    expect(error.part).toBe('subject');
    expect(error.templateId).toBe('follow-up');
    expect(error.code).toBe('validation_failed');
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.issues[0]?.field).toBe('first_name');
    expect(error.message).toBe(
      'template "follow-up" subject: variable "first_name" has no value and no default (line 1, column 10); add one with {{ first_name | default: "…" }}',
    );
    expect(error.toJSON()).toMatchObject({
      reason: 'missing_variable',
      variable: 'first_name',
      part: 'subject',
    });
  });

  it('treats null and blank values as missing: they fall back to the default or fail', () => {
    const renderer = createTemplateRenderer();
    for (const blank of [null, undefined, '', '   ']) {
      const email = renderer.render(intro, {
        variables: { first_name: blank, company: { name: 'Acme' } },
        unsubscribeUrl: UNSUBSCRIBE,
      });
      expect(email.subject).toBe('Hi there, about Acme');
      const error = templateError(() =>
        renderer.render(intro, {
          variables: { first_name: 'Jo', company: { name: blank } },
          unsubscribeUrl: UNSUBSCRIBE,
        }),
      );
      expect(error.variable).toBe('company.name');
    }
    // A missing parent object is named by the first missing segment.
    expect(
      templateError(() => renderer.render(intro, { variables: {}, unsubscribeUrl: UNSUBSCRIBE })).variable,
    ).toBe('company');
  });

  it('tests presence with if (lenientIf) without failing', () => {
    const renderer = createTemplateRenderer();
    const template = {
      subject: 'Hi',
      html: `{% if title %}As {{ title }}, {% endif %}you know.${FOOTER_HTML}`,
    };
    const without = renderer.render(template, { variables: {}, unsubscribeUrl: UNSUBSCRIBE });
    expect(without.html?.startsWith('you know.')).toBe(true);
    const withTitle = renderer.render(template, { variables: { title: 'CTO' }, unsubscribeUrl: UNSUBSCRIBE });
    expect(withTitle.html?.startsWith('As CTO, you know.')).toBe(true);
  });

  it('refuses unknown filters and syntax errors when compiling, naming the part', () => {
    const renderer = createTemplateRenderer();
    const filter = templateError(() =>
      renderer.compile({ subject: 'Hi {{ first_name | shout }}', html: 'x' }),
    );
    expect(filter.reason).toBe('unknown_filter');
    expect(filter.part).toBe('subject');
    expect(filter.message).toMatch(/unknown filter "shout"/);
    const syntax = templateError(() => renderer.compile({ subject: 'Hi', html: '{% if %}x{% endif %}' }));
    expect(syntax.reason).toBe('syntax');
    expect(syntax.part).toBe('html');
    expect(renderer.cacheSize).toBe(0);
  });

  it('parses a template once and serves it from the cache, dropping the least recently used', () => {
    const renderer = createTemplateRenderer({ maxCached: 2 });
    const first = renderer.compile(intro);
    expect(renderer.compile({ ...intro })).toBe(first);
    expect(
      renderer.render(first, { variables: { company: { name: 'A' } }, unsubscribeUrl: UNSUBSCRIBE }).subject,
    ).toBe('Hi there, about A');
    expect(renderer.cacheSize).toBe(1);
    const second = renderer.compile({ ...intro, subject: 'Two' });
    renderer.compile(intro); // touches the first: the second is now the oldest
    renderer.compile({ ...intro, subject: 'Three' });
    expect(renderer.cacheSize).toBe(2);
    expect(renderer.compile(intro)).toBe(first);
    expect(renderer.compile({ ...intro, subject: 'Two' })).not.toBe(second);
    expect(() => createTemplateRenderer({ maxCached: 0 })).toThrow(ConfigurationError);
  });

  it('requires a text version when asked to', () => {
    const renderer = createTemplateRenderer({ text: 'require' });
    expect(templateError(() => renderer.compile(intro)).reason).toBe('missing_text');
    const email = renderer.render(
      { ...intro, text: 'Hi {{ first_name | default: "there" }}\n\nStop: {{ unsubscribe_url }}' },
      { variables: { company: { name: 'Acme' } }, unsubscribeUrl: UNSUBSCRIBE },
    );
    expect(email.text).toBe(`Hi there\n\nStop: ${UNSUBSCRIBE}`);
  });

  it('requires the unsubscribe link in html and text, and an https unsubscribe URL', () => {
    const renderer = createTemplateRenderer();
    const noLink = templateError(() =>
      renderer.render(
        { subject: 'Hi', html: '<p>Hello</p>' },
        { variables: {}, unsubscribeUrl: UNSUBSCRIBE },
      ),
    );
    expect(noLink.reason).toBe('missing_unsubscribe');
    expect(noLink.part).toBe('html');
    const textWithout = templateError(() =>
      renderer.render(
        { subject: 'Hi', html: FOOTER_HTML, text: 'Hello' },
        { variables: {}, unsubscribeUrl: UNSUBSCRIBE },
      ),
    );
    expect(textWithout.part).toBe('text');
    expect(
      templateError(() =>
        renderer.render(intro, { variables: { company: { name: 'A' } }, unsubscribeUrl: 'http://x.test/u' }),
      ).reason,
    ).toBe('missing_unsubscribe');
    // Transactional mail may opt out.
    const transactional = createTemplateRenderer({ unsubscribe: 'none' });
    expect(
      transactional.render({ subject: 'Receipt', html: '<p>Paid</p>' }, { variables: {}, unsubscribeUrl: '' })
        .text,
    ).toBe('Paid');
  });

  it('keeps the subject on one line and never sends an empty subject or body', () => {
    const renderer = createTemplateRenderer();
    const email = renderer.render(
      { subject: 'Hi {{ name }}', html: FOOTER_HTML },
      { variables: { name: 'Jane\r\nBcc: evil@example.test' }, unsubscribeUrl: UNSUBSCRIBE },
    );
    expect(email.subject).toBe('Hi Jane Bcc: evil@example.test');
    const empty = templateError(() =>
      renderer.render(
        { subject: '{% if x %}{{ x }}{% endif %}', html: FOOTER_HTML },
        { variables: {}, unsubscribeUrl: UNSUBSCRIBE },
      ),
    );
    expect(empty.reason).toBe('empty');
    expect(empty.part).toBe('subject');
  });

  it('offers the unsubscribe URL as a variable that user variables cannot override', () => {
    const renderer = createTemplateRenderer();
    const email = renderer.render(
      { subject: 'Hi', html: `<a href="{{ ${UNSUBSCRIBE_URL_VARIABLE} }}">x</a>` },
      { variables: { unsubscribe_url: 'https://evil.test/' }, unsubscribeUrl: UNSUBSCRIBE },
    );
    expect(email.html).toBe('<a href="https://example.test/u?t=abc&amp;c=42">x</a>');
  });
});

describe('leadTemplateVariables', () => {
  it('maps a lead to snake_case variables and leaves absent fields absent', () => {
    const variables = leadTemplateVariables({
      firstName: 'Jane',
      email: 'jane@acme.test',
      title: '',
      company: { name: 'Acme', headcountRange: '51-200', location: { countryCode: 'DE' } },
      custom: { plan: 'pro' },
    });
    expect(variables).toMatchObject({
      first_name: 'Jane',
      email: 'jane@acme.test',
      company: { name: 'Acme', headcount_range: '51-200', location: { country_code: 'DE' } },
      custom: { plan: 'pro' },
    });
    expect('title' in variables).toBe(false);
    expect('last_name' in variables).toBe(false);
    const renderer = createTemplateRenderer();
    const email = renderer.render(
      {
        subject: '{{ first_name }} at {{ company.name }}',
        html: `{{ title | default: "Leader" }} / {{ custom.plan }}${FOOTER_HTML}`,
      },
      { variables, unsubscribeUrl: UNSUBSCRIBE },
    );
    expect(email.subject).toBe('Jane at Acme');
    expect(email.html?.startsWith('Leader / pro')).toBe(true);
  });
});
