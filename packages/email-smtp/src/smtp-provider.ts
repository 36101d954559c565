import { createHash } from 'node:crypto';
import {
  ApiCallError,
  type EmailCallOptions,
  type EmailCapabilities,
  type EmailMessage,
  type EmailProviderV1,
  type EmailSendResult,
  loadApiKey,
  loadOptionalSetting,
  loadSetting,
  type RateLimitPolicy,
} from '@leadpipe/core/adapter-kit';
import { createTransport } from 'nodemailer';
import { mapSmtpFailure, smtpReplyText } from './smtp-errors.js';
import { buildSmtpMail, SMTP_LEDGER_KEY_HEADER } from './smtp-message.js';
import { checkSmtpSettings, type SmtpProviderSettings } from './smtp-settings.js';

/** The environment variable the server's host name is read from. */
export const SMTP_HOST_ENV = 'SMTP_HOST';
/** The environment variable the server's port is read from. */
export const SMTP_PORT_ENV = 'SMTP_PORT';
/** The environment variable the AUTH user name is read from. */
export const SMTP_USER_ENV = 'SMTP_USER';
/** The environment variable the AUTH password is read from. */
export const SMTP_PASS_ENV = 'SMTP_PASS';

const DEFAULT_RATE_LIMITS: RateLimitPolicy = { perMinute: 600, maxConcurrent: 5 };

/** An SMTP email provider: an {@link EmailProviderV1} with no event webhook and a pool to close. */
export interface SmtpProvider extends EmailProviderV1 {
  /** Close the pooled connections (QUIT). Sends after it open a new pool. */
  close(): Promise<void>;
}

type Transport = ReturnType<typeof createTransport>;

/**
 * Create an SMTP email provider: one message per call over a pooled
 * nodemailer SMTP transport (STARTTLS required unless `secure` or
 * `requireTLS: false`, AUTH when a user is set), with the message's headers
 * (`List-Unsubscribe`, `List-Unsubscribe-Post`) passed through, the send
 * ledger key in `X-Leadpipe-Ledger-Key`, tags and metadata in
 * `X-Leadpipe-Tags` and `X-Leadpipe-Metadata`, and html and text as
 * `multipart/alternative`. The provider's message id is the Message-ID
 * header, derived from the ledger key (see `smtpMessageId`). SMTP replies
 * map to the contract's outcomes (see `mapSmtpFailure`). There is no event
 * webhook: bounces come back as DSN mail to the envelope sender.
 *
 * @example
 * ```ts
 * import { createSmtp } from '@leadpipe/email-smtp';
 *
 * const smtp = createSmtp({ host: 'smtp.example.com', user: 'apikey' }); // pass from SMTP_PASS
 * const result = await smtp.doSend(
 *   { ledgerKey: 'enr-1-s0', from: { email: 'ada@example.com' }, to: { email: 'bob@example.org' },
 *     subject: 'Hello', text: 'Hi Bob' },
 *   {},
 * );
 * await smtp.close();
 * ```
 *
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function createSmtp(settings: SmtpProviderSettings = {}): SmtpProvider {
  checkSmtpSettings(settings);
  const providerId = settings.providerId ?? 'smtp';
  const ledgerKeyHeader = settings.ledgerKeyHeader ?? SMTP_LEDGER_KEY_HEADER;
  const secure = settings.secure ?? false;

  const host = () =>
    loadSetting({
      settingValue: settings.host,
      environmentVariableName: SMTP_HOST_ENV,
      settingName: 'host',
      description: 'SMTP server host',
      providerId,
    }).trim();
  const port = (): number => {
    if (settings.port !== undefined) return settings.port;
    const fromEnv = loadOptionalSetting({
      settingValue: undefined,
      environmentVariableName: SMTP_PORT_ENV,
      settingName: 'port',
      description: 'SMTP server port',
      providerId,
    });
    if (fromEnv === undefined) return secure ? 465 : 587;
    const value = Number(fromEnv.trim());
    if (!Number.isInteger(value) || value < 1 || value > 65_535) {
      checkSmtpSettings({ ...settings, port: value });
    }
    return value;
  };
  const user = () =>
    loadOptionalSetting({
      settingValue: settings.user,
      environmentVariableName: SMTP_USER_ENV,
      settingName: 'user',
      description: 'SMTP user',
      providerId,
    })?.trim();
  const pass = () =>
    loadApiKey({
      apiKey: settings.pass,
      environmentVariableName: SMTP_PASS_ENV,
      optionName: 'pass',
      description: 'SMTP password',
      providerId,
    });

  let transport: Transport | undefined;
  let url = 'smtp://unconfigured';
  /** The pooled transport, built at the first send so settings from the environment are read late. */
  const connect = (): Transport => {
    if (transport !== undefined) return transport;
    const server = host();
    const serverPort = port();
    const name = user();
    const auth = name === undefined ? undefined : { user: name, pass: pass() };
    url = `smtp${secure ? 's' : ''}://${server}:${serverPort}`;
    transport = createTransport({
      pool: true,
      host: server,
      port: serverPort,
      secure,
      requireTLS: !secure && (settings.requireTLS ?? true),
      ...(settings.tlsRejectUnauthorized === false && { tls: { rejectUnauthorized: false } }),
      ...(auth !== undefined && { auth }),
      ...(settings.clientName !== undefined && { name: settings.clientName }),
      maxConnections: settings.maxConnections ?? 5,
      maxMessages: settings.maxMessagesPerConnection ?? 100,
      // A message whose connection drops is not sent again by the pool: retries have one owner, the engine.
      maxRequeues: 0,
      connectionTimeout: settings.connectionTimeoutMs ?? 30_000,
      greetingTimeout: settings.greetingTimeoutMs ?? 30_000,
      socketTimeout: settings.socketTimeoutMs ?? 60_000,
      logger: false,
      debug: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
    return transport;
  };

  async function doSend(message: EmailMessage, options: EmailCallOptions = {}): Promise<EmailSendResult> {
    const ledgerKey = typeof message?.ledgerKey === 'string' ? message.ledgerKey : '';
    const built = buildSmtpMail(message, ledgerKeyHeader);
    if ('problem' in built) {
      return {
        ledgerKey,
        status: 'failed',
        code: 'invalid_message',
        message: `${providerId}: ${built.problem.field}: ${built.problem.reason}`,
        retryable: false,
        field: built.problem.field,
      };
    }
    const mailer = connect();
    if (options.signal?.aborted) {
      // Checked before the transaction only: once MAIL FROM is out, the send runs to its outcome
      // (bounded by the socket timeouts), because abandoning it would leave its fate unknown.
      throw new ApiCallError('aborted', {
        message: `${providerId}: the send was aborted before it started`,
        providerId,
        url,
        cause: options.signal.reason,
      });
    }
    let info: { messageId?: string; response?: string; rejected?: unknown[] };
    try {
      info = await mailer.sendMail(built.mail);
    } catch (error) {
      const outcome = mapSmtpFailure(error, { providerId, url, ledgerKey });
      if (ApiCallError.isInstance(outcome)) throw outcome;
      return outcome;
    }
    if (Array.isArray(info.rejected) && info.rejected.length > 0) {
      return {
        ledgerKey,
        status: 'failed',
        code: 'invalid_message',
        message: `${providerId}: the SMTP server refused the recipient${smtpReplyText(info.response) ? `: ${smtpReplyText(info.response)}` : ''}`,
        retryable: false,
        field: 'to.email',
      };
    }
    return { ledgerKey, status: 'accepted', messageId: built.mail.messageId.slice(1, -1) };
  }

  const capabilities: EmailCapabilities = {
    maxBatchSize: 1,
    rateLimits: settings.rateLimits ?? DEFAULT_RATE_LIMITS,
    eventWebhook: false,
  };

  return {
    specificationVersion: 'v1',
    providerId,
    capabilities,
    limiterKey: () => {
      try {
        const account = `${host()}:${port()}:${user() ?? ''}`;
        return `${providerId}:${createHash('sha256').update(account).digest('hex').slice(0, 16)}`;
      } catch {
        return providerId;
      }
    },
    doSend,
    async close() {
      const open = transport;
      transport = undefined;
      open?.close();
    },
  };
}
