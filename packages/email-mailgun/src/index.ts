/**
 * @packageDocumentation
 * `@leadpipe/email-mailgun`: Mailgun as a leadpipe email provider. Sends one
 * message per call through the messages API (multipart, basic auth, US or EU
 * host) with the send ledger key as a `v:` variable, and verifies and parses
 * Mailgun's event webhooks and forwarded replies (HMAC-SHA256 over timestamp
 * + token, timestamp tolerance, token replay check) into typed email events.
 */

export { mailgunDescriptor } from './descriptor.js';
export { MAILGUN_LEDGER_KEY_VARIABLE, MAILGUN_OPTIONS_LIMIT_BYTES } from './mailgun-message.js';
export {
  createMailgun,
  MAILGUN_API_KEY_ENV,
  MAILGUN_DOMAIN_ENV,
  MAILGUN_HOSTS,
  MAILGUN_WEBHOOK_SIGNING_KEY_ENV,
  type MailgunProvider,
} from './mailgun-provider.js';
export type { MailgunProviderSettings, MailgunRegion } from './mailgun-settings.js';
export { computeMailgunSignature, mapMailgunEvent } from './mailgun-webhooks.js';
