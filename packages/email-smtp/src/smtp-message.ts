import { createHash } from 'node:crypto';
import type { EmailAddress, EmailMessage } from '@leadpipe/core/adapter-kit';
import { HEADER_NAME } from './smtp-settings.js';

/** The header the send ledger key travels in, unless `ledgerKeyHeader` names another. */
export const SMTP_LEDGER_KEY_HEADER = 'X-Leadpipe-Ledger-Key';
/** The header carrying the message's tags, comma separated. */
export const SMTP_TAGS_HEADER = 'X-Leadpipe-Tags';
/** The header carrying the message's metadata, form-encoded (`campaign=c-7&step=1`). */
export const SMTP_METADATA_HEADER = 'X-Leadpipe-Metadata';

/** Why a message cannot be sent, found before any connection. */
export interface MessageProblem {
  /** The {@link EmailMessage} field at fault. */
  readonly field: string;
  /** Why. */
  readonly reason: string;
}

/** What nodemailer's `sendMail` is given for one message. */
export interface SmtpMail {
  readonly from: { readonly name: string; readonly address: string };
  readonly to: { readonly name: string; readonly address: string };
  readonly replyTo?: { readonly name: string; readonly address: string };
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  readonly headers: Record<string, string | { readonly prepared: true; readonly value: string }>;
  /** `<…@domain>`, derived from the ledger key. */
  readonly messageId: string;
}

/** Longest form-encoded metadata: one header line stays under SMTP's 998-character line limit. */
const METADATA_LIMIT = 900;
const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]+$/;
const LINE_BREAK = /[\r\n]/;
/** Headers built from the message's own fields or by the adapter: set those fields instead. */
const RESERVED_HEADERS: Readonly<Record<string, string>> = {
  from: 'from',
  sender: 'from',
  to: 'to',
  cc: 'to',
  bcc: 'to',
  subject: 'subject',
  'reply-to': 'replyTo',
  'message-id': 'ledgerKey (the Message-ID is derived from it)',
  date: 'the send time',
  'mime-version': 'html and text',
  'content-type': 'html and text',
  'content-transfer-encoding': 'html and text',
  [SMTP_TAGS_HEADER.toLowerCase()]: 'tags',
  [SMTP_METADATA_HEADER.toLowerCase()]: 'metadata',
};

function mailbox(address: EmailAddress): { name: string; address: string } {
  return { name: address.name?.trim() ?? '', address: address.email.trim() };
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
 * The Message-ID of the message sent under `ledgerKey` from `fromEmail`,
 * without angle brackets: `lp.<32 hex of SHA-256(ledgerKey)>@<sender domain>`.
 * The same ledger key always gives the same id, so it is known before the
 * send (a claim left by a crash can be looked up in the mailbox), and a
 * message sent twice after an ambiguous failure carries one id that receivers
 * can deduplicate by.
 */
export function smtpMessageId(ledgerKey: string, fromEmail: string): string {
  const domain = fromEmail.trim().split('@').pop()?.toLowerCase() ?? 'localhost';
  return `lp.${createHash('sha256').update(ledgerKey).digest('hex').slice(0, 32)}@${domain}`;
}

/**
 * The nodemailer message of one {@link EmailMessage}, or the first problem
 * that keeps it from being sent: addresses, a body, header names and values
 * on one line (no header injection), headers the adapter builds itself, tags
 * and metadata names.
 */
export function buildSmtpMail(
  message: EmailMessage,
  ledgerKeyHeader: string,
): { readonly mail: SmtpMail } | { readonly problem: MessageProblem } {
  if (typeof message !== 'object' || message === null) {
    return { problem: { field: 'message', reason: 'must be an EmailMessage object' } };
  }
  if (
    typeof message.ledgerKey !== 'string' ||
    message.ledgerKey.trim() === '' ||
    message.ledgerKey.length > 200 ||
    LINE_BREAK.test(message.ledgerKey)
  ) {
    return {
      problem: {
        field: 'ledgerKey',
        reason: 'must be a non-empty string of at most 200 characters on one line',
      },
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

  const reserved: Record<string, string> = {
    ...RESERVED_HEADERS,
    [ledgerKeyHeader.toLowerCase()]: 'ledgerKey',
  };
  const headers: SmtpMail['headers'] = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const field = `headers.${name}`;
    if (!HEADER_NAME.test(name)) return { problem: { field, reason: 'is not a valid header name' } };
    const owner = reserved[name.toLowerCase()];
    if (owner !== undefined) {
      return { problem: { field, reason: `is set by the adapter from ${owner}; set that instead` } };
    }
    if (typeof value !== 'string' || LINE_BREAK.test(value)) {
      return { problem: { field, reason: 'must be text on one line (no CR or LF)' } };
    }
    headers[name] = value;
  }
  headers[ledgerKeyHeader] = message.ledgerKey;
  const tags: string[] = [];
  for (const [index, tag] of (message.tags ?? []).entries()) {
    if (typeof tag !== 'string' || !/^[\x21-\x2b\x2d-\x7e][\x20-\x2b\x2d-\x7e]{0,127}$/.test(tag)) {
      return {
        problem: {
          field: `tags.${index}`,
          reason: 'must be 1 to 128 printable ASCII characters without a comma',
        },
      };
    }
    tags.push(tag.trim());
  }
  if (tags.length > 0) headers[SMTP_TAGS_HEADER] = tags.join(', ');
  const metadata = new URLSearchParams();
  for (const [name, value] of Object.entries(message.metadata ?? {})) {
    if (typeof value !== 'string')
      return { problem: { field: `metadata.${name}`, reason: 'must be a string' } };
    metadata.append(name, value);
  }
  const encoded = metadata.toString();
  if (encoded.length > METADATA_LIMIT) {
    return {
      problem: {
        field: 'metadata',
        reason: `is ${encoded.length} characters form-encoded, over the ${METADATA_LIMIT} one header line holds`,
      },
    };
  }
  // Form encoding is plain ASCII: sent as prepared, so nodemailer neither encodes nor folds it.
  if (encoded !== '') headers[SMTP_METADATA_HEADER] = { prepared: true, value: encoded };

  return {
    mail: {
      from: mailbox(message.from),
      to: mailbox(message.to),
      ...(message.replyTo !== undefined && { replyTo: mailbox(message.replyTo) }),
      subject: message.subject,
      ...(text !== undefined && { text }),
      ...(html !== undefined && { html }),
      headers,
      messageId: `<${smtpMessageId(message.ledgerKey, message.from.email)}>`,
    },
  };
}
