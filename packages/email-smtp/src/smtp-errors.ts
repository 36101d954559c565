import { ApiCallError, type EmailSendFailure, redactSecrets } from '@leadpipe/core/adapter-kit';

/** What nodemailer puts on a failed send's error. */
interface NodemailerError {
  readonly code?: string;
  readonly responseCode?: number;
  readonly response?: string;
  readonly command?: string;
  readonly message?: string;
}

/** Where the failure came from, for the error. */
export interface SmtpFailureContext {
  readonly providerId: string;
  /** `smtp://host:port`, no credentials. */
  readonly url: string;
  readonly ledgerKey: string;
}

/** The server's reply with addresses replaced and cut to 200 characters. */
export function smtpReplyText(reply: string | undefined): string | undefined {
  if (reply === undefined || reply.trim() === '') return undefined;
  return redactSecrets(reply.replace(/[^\s'"<>(),;:[\]]+@[^\s'"<>(),;:[\]]+/g, '<address>').trim()).slice(
    0,
    200,
  );
}

function enhancedCode(reply: string | undefined): string | undefined {
  return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply ?? '')?.[1];
}

/**
 * Map a failed nodemailer send to the contract's outcome: a `failed` result
 * (the server refused this message or these credentials: permanent, 5xx) or
 * an {@link ApiCallError} to reject with (temporary 4xx, network, timeout:
 * the engine's limiter and retry own those).
 *
 * | reply or error | outcome |
 * |---|---|
 * | 421 (service busy, rate, closing) | rejects `rate_limited`, retryable |
 * | other 4xx (450, 451, 452, 454…) | rejects `server_error`, retryable |
 * | 530, 534, 535, 538, 5xx to AUTH; `EAUTH`/`ENOAUTH` | `failed` `unauthorized` |
 * | 5xx to RCPT TO (550 mailbox unavailable, 551, 553) | `failed` `invalid_message`, field `to.email` |
 * | 5xx to MAIL FROM | `failed` `forbidden`, field `from.email` |
 * | 552 or enhanced 5.3.4 (too big) | `failed` `invalid_message`, field `html` |
 * | other 5xx to DATA (554 content refused) | `failed` `forbidden` |
 * | 500-504 elsewhere (syntax, sequence) | `failed` `adapter_error` |
 * | `ETLS`, `EREQUIRETLS`, a refused STARTTLS (with `requireTLS`) | `failed` `forbidden` |
 * | `ETIMEDOUT` | rejects `timeout`, retryable |
 * | `ECONNECTION`, `ESOCKET`, `EDNS`, `EPROXY`, other | rejects `network_error`, retryable |
 */
export function mapSmtpFailure(error: unknown, context: SmtpFailureContext): EmailSendFailure | ApiCallError {
  const err = (typeof error === 'object' && error !== null ? error : {}) as NodemailerError;
  const { providerId, url, ledgerKey } = context;
  const reply = smtpReplyText(err.response);
  const command = typeof err.command === 'string' ? err.command.toUpperCase() : '';
  const status = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const enhanced = enhancedCode(err.response);
  const vendorCode = status === undefined ? err.code : [status, enhanced].filter(Boolean).join(' ');
  const said = reply === undefined ? '' : `: ${reply}`;
  const failed = (code: EmailSendFailure['code'], message: string, field?: string): EmailSendFailure => ({
    ledgerKey,
    status: 'failed',
    code,
    message: `${providerId}: ${message}`,
    retryable: false,
    ...(field !== undefined && { field }),
  });
  const reject = (code: 'rate_limited' | 'server_error' | 'timeout' | 'network_error', message: string) =>
    new ApiCallError(code, {
      message: `${providerId}: ${message}`,
      providerId,
      url,
      ...(command !== '' && { method: command }),
      ...(vendorCode !== undefined && { vendorCode }),
    });

  if (err.code === 'ETLS' || err.code === 'EREQUIRETLS' || command.startsWith('STARTTLS')) {
    return failed(
      'forbidden',
      `the TLS connection to the SMTP server could not be made (no STARTTLS with requireTLS on, or a certificate that does not verify)${said}`,
    );
  }
  if (status !== undefined && status >= 400 && status < 500) {
    if (status === 421)
      return reject('rate_limited', `the SMTP server is busy or rate limiting (421)${said}`);
    return reject(
      'server_error',
      `the SMTP server refused for now (${status}${command ? ` to ${command}` : ''})${said}`,
    );
  }
  if (status !== undefined && status >= 500) {
    if ([530, 534, 535, 538].includes(status) || command.startsWith('AUTH')) {
      return failed(
        'unauthorized',
        `the SMTP server refused the credentials (${status}); check the user and pass options or SMTP_USER and SMTP_PASS`,
      );
    }
    if (status === 552 || enhanced === '5.3.4') {
      return failed(
        'invalid_message',
        `the SMTP server refused the message as too large (${status})${said}`,
        'html',
      );
    }
    if (command.startsWith('RCPT')) {
      return failed(
        'invalid_message',
        `the SMTP server refused the recipient (${status})${said}`,
        'to.email',
      );
    }
    if (command.startsWith('MAIL')) {
      return failed('forbidden', `the SMTP server refused the sender (${status})${said}`, 'from.email');
    }
    if (status >= 500 && status <= 504) {
      return failed(
        'adapter_error',
        `the SMTP server did not understand a command (${status}${command ? ` to ${command}` : ''})${said}`,
      );
    }
    return failed(
      'forbidden',
      `the SMTP server refused the message (${status}${command ? ` to ${command}` : ''})${said}`,
    );
  }
  switch (err.code) {
    case 'EAUTH':
    case 'ENOAUTH':
      return failed(
        'unauthorized',
        'SMTP authentication failed; check the user and pass options or SMTP_USER and SMTP_PASS',
      );
    case 'ETIMEDOUT':
      return reject('timeout', `the SMTP server did not answer in time${said}`);
    default:
      return reject(
        'network_error',
        `the connection to the SMTP server failed (${err.code ?? 'unknown'})${said}`,
      );
  }
}
