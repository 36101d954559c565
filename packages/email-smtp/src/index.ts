/**
 * @packageDocumentation
 * `@leadpipe/email-smtp`: any SMTP server as a leadpipe email provider. Sends
 * one message per call over a pooled nodemailer transport (STARTTLS or
 * implicit TLS, AUTH), with `List-Unsubscribe` headers passed through, the
 * send ledger key in a header and a Message-ID derived from it, and maps SMTP
 * reply codes to the contract's typed outcomes. SMTP has no event webhook:
 * bounces arrive as DSN mail and are out of scope.
 */

export { smtpDescriptor } from './descriptor.js';
export {
  SMTP_LEDGER_KEY_HEADER,
  SMTP_METADATA_HEADER,
  SMTP_TAGS_HEADER,
  smtpMessageId,
} from './smtp-message.js';
export {
  createSmtp,
  SMTP_HOST_ENV,
  SMTP_PASS_ENV,
  SMTP_PORT_ENV,
  SMTP_USER_ENV,
  type SmtpProvider,
} from './smtp-provider.js';
export type { SmtpProviderSettings } from './smtp-settings.js';
