/** One entry of SendGrid's error body `{"errors":[{"field","message","help"}]}`. */
export interface SendgridErrorItem {
  /** The field blamed (`personalizations.0.to.0.email`), or null. */
  readonly field: string | null;
  /** What is wrong. */
  readonly message: string;
  /** A help link, or null. */
  readonly help: string | null;
}

/** An address in a v3 mail send body. */
export interface SendgridAddress {
  /** Address. */
  readonly email: string;
  /** Display name. */
  readonly name?: string;
}

/** One personalization, as checked. */
interface CheckedPersonalization {
  /** Recipients (to). */
  readonly to: readonly SendgridAddress[];
  /** Subject (its own or the request's). */
  readonly subject: string;
  /** Headers (the request's, with its own over them). */
  readonly headers: Readonly<Record<string, string>>;
  /** Custom args (the request's, with its own over them). */
  readonly customArgs: Readonly<Record<string, string>>;
}

/** A v3 mail send body that passed the checks. */
export interface CheckedMail {
  /** Personalizations. */
  readonly personalizations: readonly CheckedPersonalization[];
  /** Sender. */
  readonly from: SendgridAddress;
  /** Reply-to. */
  readonly replyTo?: SendgridAddress;
  /** `text/plain` content. */
  readonly text?: string;
  /** `text/html` content. */
  readonly html?: string;
  /** Categories. */
  readonly categories: readonly string[];
  /** Whether `mail_settings.sandbox_mode.enable` was true. */
  readonly sandbox: boolean;
}

const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;
const RESERVED_HEADERS = new Set([
  'x-sg-id',
  'x-sg-eid',
  'received',
  'dkim-signature',
  'content-type',
  'content-transfer-encoding',
  'to',
  'from',
  'subject',
  'reply-to',
  'cc',
  'bcc',
]);
const MAX_PERSONALIZATIONS = 1000;
const MAX_CATEGORIES = 10;
const MAX_CUSTOM_ARGS_BYTES = 10_000;

function item(field: string | null, message: string): SendgridErrorItem {
  return { field, message, help: null };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {};
  if (!isObject(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') return undefined;
    out[name] = entry;
  }
  return out;
}

function address(value: unknown, field: string, errors: SendgridErrorItem[]): SendgridAddress | undefined {
  if (!isObject(value) || typeof value.email !== 'string') {
    errors.push(item(`${field}.email`, 'The email parameter is required and must be a valid email address.'));
    return undefined;
  }
  if (!EMAIL.test(value.email)) {
    errors.push(item(`${field}.email`, 'Does not contain a valid address.'));
    return undefined;
  }
  return typeof value.name === 'string' ? { email: value.email, name: value.name } : { email: value.email };
}

/**
 * Check a v3 mail send body as SendGrid does (the checks leadpipe's adapter
 * can trip), in SendGrid's words where they are known: every error found,
 * field first.
 */
export function checkMail(body: unknown): { mail?: CheckedMail; errors: SendgridErrorItem[] } {
  const errors: SendgridErrorItem[] = [];
  if (!isObject(body)) return { errors: [item(null, 'Bad Request')] };
  let from: SendgridAddress | undefined;
  if (body.from === undefined) {
    errors.push(
      item(
        'from',
        'The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.',
      ),
    );
  } else from = address(body.from, 'from', errors);
  const replyTo = body.reply_to === undefined ? undefined : address(body.reply_to, 'reply_to', errors);
  const topHeaders = stringRecord(body.headers);
  if (topHeaders === undefined) errors.push(item('headers', 'Invalid type. Expected: object of strings.'));
  const topArgs = stringRecord(body.custom_args);
  if (topArgs === undefined) errors.push(item('custom_args', 'Invalid type. Expected: object of strings.'));
  const topSubject = typeof body.subject === 'string' ? body.subject : undefined;
  const personalizations: CheckedPersonalization[] = [];
  if (!Array.isArray(body.personalizations) || body.personalizations.length === 0) {
    errors.push(
      item(
        'personalizations',
        'The personalizations field is required and must have at least one personalization.',
      ),
    );
  } else if (body.personalizations.length > MAX_PERSONALIZATIONS) {
    errors.push(
      item(
        'personalizations',
        `The personalizations field must not contain more than ${MAX_PERSONALIZATIONS} personalizations.`,
      ),
    );
  } else {
    const seen = new Set<string>();
    let recipients = 0;
    for (const [index, raw] of body.personalizations.entries()) {
      const field = `personalizations.${index}`;
      if (!isObject(raw) || !Array.isArray(raw.to) || raw.to.length === 0) {
        errors.push(
          item(
            `${field}.to`,
            'The to array is required for all personalization objects, and must have at least one email object with a valid email address.',
          ),
        );
        continue;
      }
      const to: SendgridAddress[] = [];
      for (const [position, entry] of raw.to.entries()) {
        const parsed = address(entry, `${field}.to.${position}`, errors);
        if (parsed === undefined) continue;
        const key = parsed.email.toLowerCase();
        if (seen.has(key)) {
          errors.push(
            item(
              `${field}.to`,
              `Each email address in the personalization block should be unique between to, cc, and bcc. We found the first duplicate instance of [${parsed.email}] in the ${field}.to field.`,
            ),
          );
        }
        seen.add(key);
        to.push(parsed);
      }
      recipients += raw.to.length;
      const headers = stringRecord(raw.headers);
      if (headers === undefined)
        errors.push(item(`${field}.headers`, 'Invalid type. Expected: object of strings.'));
      const args = stringRecord(raw.custom_args);
      if (args === undefined)
        errors.push(item(`${field}.custom_args`, 'Invalid type. Expected: object of strings.'));
      const customArgs = { ...topArgs, ...args };
      if (Buffer.byteLength(JSON.stringify(customArgs), 'utf8') > MAX_CUSTOM_ARGS_BYTES) {
        errors.push(item(`${field}.custom_args`, 'The custom_args parameter may not exceed 10,000 bytes.'));
      }
      const mergedHeaders = { ...topHeaders, ...headers };
      for (const name of Object.keys(mergedHeaders)) {
        if (RESERVED_HEADERS.has(name.toLowerCase())) {
          errors.push(
            item(`${field}.headers`, `The following header is reserved and cannot be used: ${name}`),
          );
        }
      }
      const subject = typeof raw.subject === 'string' ? raw.subject : topSubject;
      if (subject === undefined || subject === '') {
        errors.push(
          item(
            'subject',
            'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.',
          ),
        );
      }
      personalizations.push({ to, subject: subject ?? '', headers: mergedHeaders, customArgs });
    }
    if (recipients > MAX_PERSONALIZATIONS) {
      errors.push(item('personalizations', 'The total number of recipients must be no more than 1000.'));
    }
  }
  let text: string | undefined;
  let html: string | undefined;
  if (!Array.isArray(body.content) || body.content.length === 0) {
    errors.push(
      item(
        'content',
        'Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block.',
      ),
    );
  } else {
    for (const [index, block] of body.content.entries()) {
      if (!isObject(block) || typeof block.value !== 'string' || block.value === '') {
        errors.push(
          item(
            `content.${index}.value`,
            'The content value must be a string at least one character in length.',
          ),
        );
        continue;
      }
      if (block.type === 'text/plain') {
        if (index !== 0) {
          errors.push(
            item(
              'content',
              'If present, text/plain content must be first, followed by text/html, followed by any other content.',
            ),
          );
        }
        text = block.value;
      } else if (block.type === 'text/html') html = block.value;
    }
  }
  const categories: string[] = [];
  if (body.categories !== undefined) {
    if (!Array.isArray(body.categories) || body.categories.some((entry) => typeof entry !== 'string')) {
      errors.push(item('categories', 'Invalid type. Expected: array of strings.'));
    } else {
      if (body.categories.length > MAX_CATEGORIES) {
        errors.push(
          item('categories', 'Too many categories. You may include up to 10 categories per email.'),
        );
      }
      categories.push(...(body.categories as string[]));
    }
  }
  const settings = isObject(body.mail_settings) ? body.mail_settings : {};
  const sandbox = isObject(settings.sandbox_mode) && settings.sandbox_mode.enable === true;
  if (errors.length > 0 || from === undefined) return { errors };
  return {
    mail: {
      personalizations,
      from,
      ...(replyTo === undefined ? {} : { replyTo }),
      ...(text === undefined ? {} : { text }),
      ...(html === undefined ? {} : { html }),
      categories,
      sandbox,
    },
    errors,
  };
}
