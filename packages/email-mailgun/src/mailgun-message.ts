import type {
  EmailAddress,
  EmailMessage,
  HttpErrorInfo,
  HttpErrorOverrides,
  RateLimitHeaderMapping,
} from '@leadpipe/core/adapter-kit';

/** The `v:` variable the ledger key travels in; it comes back in every event's `user-variables`. */
export const MAILGUN_LEDGER_KEY_VARIABLE = 'leadpipe-ledger-key';

/** Mailgun's cap on one message's options (`o:`, `h:`, `v:`, `t:` fields together): 16 KB. */
export const MAILGUN_OPTIONS_LIMIT_BYTES = 16 * 1024;

/**
 * Mailgun's rate-limit headers: `X-RateLimit-Limit`, `-Remaining` and
 * `-Reset` (read as epoch seconds, epoch ms or seconds from now, whichever
 * the value looks like: the unit is UNVERIFIED upstream), and `Retry-After`
 * on a 429.
 */
export const mailgunRateLimitHeaders: RateLimitHeaderMapping = {
  windows: [
    {
      name: 'mailgun',
      limit: 'x-ratelimit-limit',
      remaining: 'x-ratelimit-remaining',
      reset: 'x-ratelimit-reset',
      resetFormat: 'auto',
    },
  ],
  retryAfter: ['retry-after'],
};

/** One form field of a send. */
export interface MailgunField {
  /** The form field name (`to`, `h:List-Unsubscribe`, `v:leadpipe-ledger-key`). */
  readonly name: string;
  /** Its value. */
  readonly value: string;
  /** The {@link EmailMessage} field it comes from, for error messages (`headers.List-Unsubscribe`). */
  readonly source: string;
}

/** Why a message cannot be sent, found before any call. */
export interface MessageProblem {
  /** The {@link EmailMessage} field at fault. */
  readonly field: string;
  /** Why. */
  readonly reason: string;
}

const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,76}$/;
const LINE_BREAK = /[\r\n]/;
/** Headers Mailgun builds from the message's own fields: set those fields instead. */
const RESERVED_HEADERS: Readonly<Record<string, string>> = {
  from: 'from',
  to: 'to',
  cc: 'to',
  bcc: 'to',
  subject: 'subject',
  'reply-to': 'replyTo',
  'x-mailgun-variables': 'metadata',
};
/** Variable names Mailgun keeps for itself or leadpipe uses. */
const VARIABLE_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

function formatAddress(address: EmailAddress): string {
  const email = address.email.trim();
  if (address.name === undefined || address.name.trim() === '') return email;
  const name = address.name.trim().replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return `"${name}" <${email}>`;
}

function checkAddress(address: unknown, field: string): MessageProblem | undefined {
  const value = address as Partial<EmailAddress> | undefined;
  if (typeof value !== 'object' || value === null) return { field, reason: 'is required: { email, name? }' };
  if (typeof value.email !== 'string' || !ADDRESS.test(value.email.trim())) {
    return { field: `${field}.email`, reason: 'must be one email address such as ada@example.com' };
  }
  if (value.name !== undefined && (typeof value.name !== 'string' || LINE_BREAK.test(value.name))) {
    return { field: `${field}.name`, reason: 'must be text on one line' };
  }
  return undefined;
}

/**
 * The form fields of one message, or the first problem that keeps it from
 * being sent: addresses, a body, header names and values on one line (no
 * header injection), headers Mailgun builds itself, tags and variable names,
 * and the 16 KB options cap (naming the largest option).
 */
export function buildMailgunFields(
  message: EmailMessage,
  testMode: boolean,
): { readonly fields: MailgunField[] } | { readonly problem: MessageProblem } {
  if (typeof message !== 'object' || message === null) {
    return { problem: { field: 'message', reason: 'must be an EmailMessage object' } };
  }
  if (
    typeof message.ledgerKey !== 'string' ||
    message.ledgerKey.trim() === '' ||
    message.ledgerKey.length > 200
  ) {
    return {
      problem: { field: 'ledgerKey', reason: 'must be a non-empty string of at most 200 characters' },
    };
  }
  const problem =
    checkAddress(message.from, 'from') ??
    checkAddress(message.to, 'to') ??
    (message.replyTo === undefined ? undefined : checkAddress(message.replyTo, 'replyTo'));
  if (problem !== undefined) return { problem };
  if (typeof message.subject !== 'string' || LINE_BREAK.test(message.subject)) {
    return { problem: { field: 'subject', reason: 'must be text on one line' } };
  }
  const html = typeof message.html === 'string' && message.html !== '' ? message.html : undefined;
  const text = typeof message.text === 'string' && message.text !== '' ? message.text : undefined;
  if (html === undefined && text === undefined) {
    return { problem: { field: 'html', reason: 'is required, or text: a message needs a body' } };
  }

  const fields: MailgunField[] = [
    { name: 'from', value: formatAddress(message.from), source: 'from' },
    { name: 'to', value: formatAddress(message.to), source: 'to' },
    { name: 'subject', value: message.subject, source: 'subject' },
  ];
  if (text !== undefined) fields.push({ name: 'text', value: text, source: 'text' });
  if (html !== undefined) fields.push({ name: 'html', value: html, source: 'html' });
  if (message.replyTo !== undefined) {
    fields.push({ name: 'h:Reply-To', value: formatAddress(message.replyTo), source: 'replyTo' });
  }
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const field = `headers.${name}`;
    if (!HEADER_NAME.test(name)) return { problem: { field, reason: 'is not a valid header name' } };
    const reserved = RESERVED_HEADERS[name.toLowerCase()];
    if (reserved !== undefined) {
      return { problem: { field, reason: `is set from the message's ${reserved}; set that instead` } };
    }
    if (typeof value !== 'string' || LINE_BREAK.test(value)) {
      return { problem: { field, reason: 'must be text on one line (no CR or LF)' } };
    }
    fields.push({ name: `h:${name}`, value, source: field });
  }
  for (const [index, tag] of (message.tags ?? []).entries()) {
    if (typeof tag !== 'string' || tag.trim() === '' || tag.length > 128 || !/^[\x20-\x7e]+$/.test(tag)) {
      return { problem: { field: `tags.${index}`, reason: 'must be 1 to 128 printable ASCII characters' } };
    }
    fields.push({ name: 'o:tag', value: tag, source: `tags.${index}` });
  }
  fields.push({ name: `v:${MAILGUN_LEDGER_KEY_VARIABLE}`, value: message.ledgerKey, source: 'ledgerKey' });
  for (const [name, value] of Object.entries(message.metadata ?? {})) {
    const field = `metadata.${name}`;
    if (!VARIABLE_NAME.test(name) || name === MAILGUN_LEDGER_KEY_VARIABLE) {
      return {
        problem: {
          field,
          reason: `must be 1 to 128 letters, digits, ".", "_" or "-", and not ${MAILGUN_LEDGER_KEY_VARIABLE}`,
        },
      };
    }
    if (typeof value !== 'string') return { problem: { field, reason: 'must be a string' } };
    fields.push({ name: `v:${name}`, value, source: field });
  }
  if (testMode) fields.push({ name: 'o:testmode', value: 'yes', source: 'testMode' });

  const options = fields.filter((item) => /^[ohvt]:/.test(item.name));
  const size = (item: MailgunField) => Buffer.byteLength(item.name) + Buffer.byteLength(item.value);
  const total = options.reduce((sum, item) => sum + size(item), 0);
  if (total > MAILGUN_OPTIONS_LIMIT_BYTES) {
    const largest = options.reduce((best, item) => (size(item) > size(best) ? item : best));
    return {
      problem: {
        field: largest.source,
        reason: `makes the options (headers, tags, metadata and the ledger key) ${total} bytes, over Mailgun's 16 KB (${MAILGUN_OPTIONS_LIMIT_BYTES} bytes) cap`,
      },
    };
  }
  return { fields };
}

/** The message of a Mailgun error body (`{"message": "..."}`, or plain text), emails replaced, cut to 200 characters. */
export function mailgunErrorText(bodyText: string, json: unknown): string | undefined {
  let text: string | undefined;
  if (
    typeof json === 'object' &&
    json !== null &&
    typeof (json as { message?: unknown }).message === 'string'
  ) {
    text = (json as { message: string }).message;
  } else if (json === undefined && bodyText.trim() !== '' && bodyText.length < 500) {
    text = bodyText.trim();
  }
  if (text === undefined) return undefined;
  return text.replace(/[^\s'"<>(),;:]+@[^\s'"<>(),;:]+/g, '<address>').slice(0, 200);
}

/** The {@link EmailMessage} field a Mailgun 400 message blames, when it names one. */
export function fieldOfMailgunError(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // "Need at least one of 'text', 'html' or 'template'": the body is missing, reported as `html` like the local check.
  if (/at least one of/i.test(text)) return 'html';
  const named = /'(from|to|subject|text|html|h:[^']+|v:[^']+|o:[^']+)'/.exec(text)?.[1];
  if (named === 'from') return 'from.email';
  if (named === 'to') return 'to.email';
  if (named === 'subject' || named === 'text' || named === 'html') return named;
  if (named?.startsWith('h:')) return `headers.${named.slice(2)}`;
  if (named?.startsWith('v:')) return `metadata.${named.slice(2)}`;
  if (/16\s*KB/i.test(text)) return 'headers';
  return undefined;
}

/** Messages for the failures the engine owns (429, 5xx) and the statuses an adapter maps. */
export function mapMailgunError(info: HttpErrorInfo): HttpErrorOverrides | undefined {
  const text = mailgunErrorText(info.bodyText, info.json);
  const suffix = text === undefined ? '' : `: ${text}`;
  if (info.status === 429) return { code: 'rate_limited', message: `Mailgun rate limit reached${suffix}` };
  if (info.status >= 500)
    return { code: 'server_error', message: `Mailgun answered a server error${suffix}` };
  return undefined;
}
