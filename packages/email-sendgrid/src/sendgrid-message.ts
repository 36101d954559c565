import type { EmailAddress, EmailMessage, EmailSendFailure } from '@leadpipe/core/adapter-kit';

/**
 * The custom arg the ledger key travels in. SendGrid returns custom args as
 * top-level fields of every event of the message.
 */
export const SENDGRID_LEDGER_KEY_ARG = 'leadpipe_ledger_key';

/** Most categories SendGrid takes per message. */
const MAX_CATEGORIES = 10;
/** Most bytes of `custom_args` per personalization. */
const MAX_CUSTOM_ARGS_BYTES = 10_000;

/**
 * Headers SendGrid refuses in `headers` (it sets them itself), lower case.
 * (Mail send docs, "headers": reserved headers.)
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
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

/**
 * Fields of an Event Webhook event: a custom arg of the same name would be
 * shadowed by (or shadow) them, so metadata may not use these names.
 */
const EVENT_FIELDS: ReadonlySet<string> = new Set([
  'email',
  'timestamp',
  'event',
  'category',
  'sg_event_id',
  'sg_message_id',
  'smtp-id',
  'ip',
  'response',
  'reason',
  'status',
  'type',
  'url',
  'useragent',
  'tls',
  'attempt',
  'asm_group_id',
  'bounce_classification',
  'marketing_campaign_id',
  'marketing_campaign_name',
  'pool',
  'sg_machine_open',
  'url_offset',
  SENDGRID_LEDGER_KEY_ARG,
]);

/** One personalization of a v3 mail send body. */
interface Personalization {
  to: { email: string; name?: string }[];
  subject: string;
  headers?: Record<string, string>;
  custom_args: Record<string, string>;
}

/** The v3 mail send body, as leadpipe writes it. */
interface SendgridMailBody {
  /** One per recipient. */
  personalizations: Personalization[];
  /** Sender. */
  from: { email: string; name?: string };
  /** Reply-to. */
  reply_to?: { email: string; name?: string };
  /** `text/plain` first, then `text/html`, as SendGrid requires. */
  content: { type: 'text/plain' | 'text/html'; value: string }[];
  /** Tags. */
  categories?: string[];
  /** Sandbox mode: validated, not delivered. */
  mail_settings?: { sandbox_mode: { enable: boolean } };
}

function address(value: EmailAddress): { email: string; name?: string } {
  return value.name === undefined || value.name === ''
    ? { email: value.email }
    : { email: value.email, name: value.name };
}

/** A failed result for a message refused before anything was sent. */
function refused(message: EmailMessage, field: string, reason: string): EmailSendFailure {
  return {
    ledgerKey: message.ledgerKey,
    status: 'failed',
    code: 'invalid_message',
    message: `${field}: ${reason}`,
    retryable: false,
    field,
  };
}

/**
 * Checks SendGrid would make on the message (reserved headers, categories,
 * custom-arg names and size, a body), done before the call so a refusal
 * costs no request. `undefined` when the message may be sent.
 */
export function checkMessage(message: EmailMessage): EmailSendFailure | undefined {
  if (typeof message.ledgerKey !== 'string' || message.ledgerKey.length === 0) {
    return refused(message, 'ledgerKey', 'must be a non-empty string');
  }
  if ((message.html ?? '') === '' && (message.text ?? '') === '') {
    return refused(message, 'content', 'a message needs an html or a text body');
  }
  if (message.subject.length === 0) return refused(message, 'subject', 'must not be empty');
  for (const name of Object.keys(message.headers ?? {})) {
    if (RESERVED_HEADERS.has(name.toLowerCase())) {
      return refused(message, `headers.${name}`, 'is set by SendGrid and may not be given');
    }
  }
  const tags = message.tags ?? [];
  if (tags.length > MAX_CATEGORIES) return refused(message, 'tags', `at most ${MAX_CATEGORIES} categories`);
  for (const [index, tag] of tags.entries()) {
    if (tag.length === 0 || tag.length > 255 || /[^\x20-\x7e]/.test(tag)) {
      return refused(message, `tags.${index}`, 'must be 1 to 255 printable ASCII characters');
    }
  }
  for (const name of Object.keys(message.metadata ?? {})) {
    if (EVENT_FIELDS.has(name)) {
      return refused(message, `metadata.${name}`, 'collides with a field of SendGrid events');
    }
  }
  if (Buffer.byteLength(JSON.stringify(customArgs(message)), 'utf8') > MAX_CUSTOM_ARGS_BYTES) {
    return refused(
      message,
      'metadata',
      `custom args over ${MAX_CUSTOM_ARGS_BYTES} bytes with the ledger key`,
    );
  }
  return undefined;
}

function customArgs(message: EmailMessage): Record<string, string> {
  return { ...message.metadata, [SENDGRID_LEDGER_KEY_ARG]: message.ledgerKey };
}

function personalization(message: EmailMessage): Personalization {
  const headers = message.headers ?? {};
  return {
    to: [address(message.to)],
    subject: message.subject,
    ...(Object.keys(headers).length > 0 ? { headers: { ...headers } } : {}),
    custom_args: customArgs(message),
  };
}

/**
 * What messages of one request must share: SendGrid's content, sender,
 * reply-to and categories are per request; recipient, subject, headers and
 * custom args are per personalization.
 */
function sharedKey(message: EmailMessage): string {
  return JSON.stringify([
    message.from.email.toLowerCase(),
    message.from.name ?? '',
    message.replyTo?.email.toLowerCase() ?? '',
    message.replyTo?.name ?? '',
    message.text ?? '',
    message.html ?? '',
    [...(message.tags ?? [])],
  ]);
}

/** The v3 mail send body for messages that share {@link sharedKey} (one personalization each). */
export function mailBody(messages: readonly EmailMessage[], sandboxMode: boolean): SendgridMailBody {
  const first = messages[0];
  if (first === undefined) throw new TypeError('mailBody needs at least one message');
  const content: SendgridMailBody['content'] = [];
  if (first.text !== undefined && first.text !== '') content.push({ type: 'text/plain', value: first.text });
  if (first.html !== undefined && first.html !== '') content.push({ type: 'text/html', value: first.html });
  return {
    personalizations: messages.map(personalization),
    from: address(first.from),
    ...(first.replyTo === undefined ? {} : { reply_to: address(first.replyTo) }),
    content,
    ...(first.tags !== undefined && first.tags.length > 0 ? { categories: [...first.tags] } : {}),
    ...(sandboxMode ? { mail_settings: { sandbox_mode: { enable: true } } } : {}),
  };
}

/**
 * Split messages (by index) into requests SendGrid can take: the same shared
 * parts, at most `maxSize` personalizations, and no address twice in one
 * request (SendGrid refuses duplicates across personalizations). Groups keep
 * the input order of their members.
 */
export function groupMessages(messages: readonly EmailMessage[], maxSize: number): number[][] {
  const groups: number[][] = [];
  const open = new Map<string, { indexes: number[]; addresses: Set<string> }>();
  for (const [index, message] of messages.entries()) {
    const key = sharedKey(message);
    const email = message.to.email.toLowerCase();
    let group = open.get(key);
    if (group === undefined || group.indexes.length >= maxSize || group.addresses.has(email)) {
      group = { indexes: [], addresses: new Set() };
      open.set(key, group);
      groups.push(group.indexes);
    }
    group.indexes.push(index);
    group.addresses.add(email);
  }
  return groups;
}
