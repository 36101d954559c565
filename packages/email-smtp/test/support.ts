import type { AddressInfo } from 'node:net';
import type { EmailMessage } from '@leadpipe/core';
import type { ContractBackend, EmailStoredMessage } from '@leadpipe/testkit';
// mailparser decodes what nodemailer encoded (multipart/alternative, quoted-printable, RFC 2047 words), so the
// tests read bodies as a mail client would instead of re-implementing MIME decoding.
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** SMTP stages a reply can be injected at. */
export type SmtpStage = 'connect' | 'auth' | 'mail' | 'rcpt' | 'data';

/** A message as the server stored it. */
export interface StoredSmtpMessage {
  readonly envelopeFrom: string;
  readonly envelopeTo: string[];
  readonly raw: string;
  /** Header lines unfolded, names as sent. */
  readonly headers: Record<string, string>;
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly html?: string;
  readonly text?: string;
  readonly user?: string;
  /** Whether the session was TLS (STARTTLS or implicit) when the message arrived. */
  readonly secure: boolean;
}

interface Injected {
  readonly stage: SmtpStage;
  readonly code: number;
  readonly text: string;
  times: number;
}

/** A real SMTP server on a free port: stores messages, checks AUTH, answers injected replies. */
export interface SmtpTestServer {
  readonly port: number;
  readonly messages: StoredSmtpMessage[];
  /** Count of MAIL FROM commands received: one per transaction (send attempt). */
  transactions(): number;
  /** Answer the next `times` commands of `stage` with `code text`. */
  inject(stage: SmtpStage, code: number, text: string, times?: number): void;
  /** Refuse RCPT for `address` with `code text`, always. */
  refuseRecipient(address: string, code: number, text: string): void;
  /** Drop the connection without a reply the next time `stage` is reached. */
  dropAt(stage: SmtpStage): void;
  reset(): void;
  close(): Promise<void>;
}

/** Options of {@link startSmtpServer}. */
export interface SmtpTestServerOptions {
  /** AUTH user and password the server requires (AUTH PLAIN/LOGIN); none by default. */
  readonly credentials?: { readonly user: string; readonly pass: string };
  /** Offer STARTTLS (the built-in test certificate). Default false. */
  readonly starttls?: boolean;
}

function unfoldHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0] ?? '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon)] = line.slice(colon + 1).trim();
  }
  return headers;
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

/** Start a {@link SmtpTestServer} on 127.0.0.1. */
export async function startSmtpServer(options: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
  const messages: StoredSmtpMessage[] = [];
  let injected: Injected[] = [];
  let drops = new Set<SmtpStage>();
  const refused = new Map<string, { code: number; text: string }>();
  let mailCommands = 0;
  const take = (stage: SmtpStage): Error | undefined => {
    const found = injected.find((item) => item.stage === stage && item.times > 0);
    if (found === undefined) return undefined;
    found.times -= 1;
    return smtpError(found.code, found.text);
  };
  const drop = (stage: SmtpStage, session: SMTPServerSession): boolean => {
    if (!drops.has(stage)) return false;
    drops.delete(stage);
    for (const connection of server.connections) {
      if ((connection as unknown as { id: string }).id === session.id) {
        (connection as unknown as { _socket: { destroy(): void } })._socket.destroy();
      }
    }
    return true;
  };
  const server = new SMTPServer({
    disabledCommands: [
      ...(options.starttls ? [] : ['STARTTLS']),
      ...(options.credentials === undefined ? ['AUTH'] : []),
    ],
    authOptional: options.credentials === undefined,
    logger: false,
    closeTimeout: 200,
    hideSTARTTLS: !options.starttls,
    onConnect(_session, callback) {
      callback(take('connect'));
    },
    onAuth(auth, _session, callback) {
      const failure = take('auth');
      if (failure) return callback(failure);
      if (auth.username === options.credentials?.user && auth.password === options.credentials?.pass) {
        return callback(null, { user: auth.username });
      }
      return callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
    },
    onMailFrom(_address, session, callback) {
      mailCommands += 1;
      if (drop('mail', session)) return;
      callback(take('mail'));
    },
    onRcptTo(address, session, callback) {
      if (drop('rcpt', session)) return;
      const refusal = refused.get(address.address.toLowerCase());
      if (refusal) return callback(smtpError(refusal.code, refusal.text));
      callback(take('rcpt'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (drop('data', session)) return;
        const failure = take('data');
        if (failure) return callback(failure);
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            const headers = unfoldHeaders(raw);
            // Encoded words (RFC 2047) decoded, as a mail client shows them.
            for (const name of Object.keys(headers)) {
              const decoded = parsed.headers.get(name.toLowerCase());
              if (typeof decoded === 'string' && /=\?/.test(headers[name]!)) headers[name] = decoded;
            }
            messages.push({
              envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              envelopeTo: session.envelope.rcptTo.map((item) => item.address),
              raw,
              headers,
              subject: parsed.subject ?? '',
              from: parsed.from?.value[0]?.address ?? '',
              to: (Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)?.value[0]?.address ?? '',
              ...(typeof parsed.html === 'string' && { html: parsed.html }),
              ...(parsed.text !== undefined && { text: parsed.text }),
              ...(typeof session.user === 'string' && { user: session.user }),
              secure: session.secure === true,
            });
            callback(null, `2.0.0 Ok: queued as Q${messages.length}`);
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    transactions: () => mailCommands,
    inject(stage, code, text, times = 1) {
      injected.push({ stage, code, text, times });
    },
    refuseRecipient(address, code, text) {
      refused.set(address.toLowerCase(), { code, text });
    },
    dropAt(stage) {
      drops.add(stage);
    },
    reset() {
      injected = [];
      drops = new Set();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The contract suite's view of a stored message, by its ledger key header. */
export function storedForContract(
  server: SmtpTestServer,
  ledgerKey: string,
  messageIdOf: (raw: StoredSmtpMessage) => string,
): EmailStoredMessage | undefined {
  const found = server.messages.find((item) => item.headers['X-Leadpipe-Ledger-Key'] === ledgerKey);
  if (found === undefined) return undefined;
  const tags = found.headers['X-Leadpipe-Tags'];
  const metadata = found.headers['X-Leadpipe-Metadata'];
  return {
    ledgerKey,
    messageId: messageIdOf(found),
    from: found.from,
    to: found.to,
    subject: found.subject,
    ...(found.html !== undefined && { html: found.html }),
    ...(found.text !== undefined && { text: found.text.replace(/\n$/, '') }),
    headers: found.headers,
    tags: tags === undefined ? [] : tags.split(',').map((tag) => tag.trim()),
    metadata: Object.fromEntries(new URLSearchParams(metadata ?? '')),
  };
}

/**
 * The contract's canned HTTP statuses, answered as the SMTP reply that means
 * the same (used by its `secrets` check): 400 a refused recipient, 401 a
 * refused login, 403 a refused sender, 500 a temporary local error.
 */
export function smtpBackend(current: () => SmtpTestServer): ContractBackend {
  return {
    respondWith(status, _response, times = 1) {
      const server = current();
      if (status === 400) server.inject('rcpt', 553, '5.1.3 Bad recipient address syntax', times);
      else if (status === 401) server.inject('mail', 530, '5.7.0 Authentication required', times);
      else if (status === 403)
        server.inject('mail', 550, '5.7.1 Sender address rejected: not owned by user', times);
      else server.inject('mail', 451, '4.3.0 Local error in processing', times);
    },
    requestCount: () => current().transactions(),
    reset: () => current().reset(),
  };
}

/** A message that passes every local check. */
export function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return {
    ledgerKey: 'enr-42-s1',
    from: { email: 'ada@mail.leadpipe.test', name: 'Ada "The Countess" Lovelace' },
    to: { email: 'Bob@Example.com', name: 'Bob' },
    subject: 'Quick question',
    text: 'Hi Bob',
    html: '<p>Hi Bob</p>',
    headers: {
      'List-Unsubscribe': '<https://unsub.example.com/u/tok123>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: ['campaign-7', 'step-1'],
    metadata: { campaign: 'c-7' },
    ...overrides,
  };
}
