/**
 * @packageDocumentation
 * `@leadpipe/email-sendgrid`: SendGrid as a leadpipe email provider. v3 mail
 * send with the send ledger key in `custom_args`, batch send through
 * personalizations, SendGrid's limits and error bodies as typed results,
 * and the signed Event Webhook (ECDSA P-256) parsed into typed email events.
 */

export { sendgridDescriptor } from './descriptor.js';
export {
  bounceKind,
  messageIdOf,
  parseSendgridEvents,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  type SendgridEventOptions,
  toEmailEvent,
} from './sendgrid-events.js';
export { SENDGRID_LEDGER_KEY_ARG } from './sendgrid-message.js';
export {
  createSendgrid,
  type SendgridProvider,
  type SendgridRateLimit,
  type SendgridSettings,
} from './sendgrid-provider.js';
export {
  parseWebhookPublicKey,
  SENDGRID_BASE_URL,
  SENDGRID_EU_BASE_URL,
  SENDGRID_MAX_PERSONALIZATIONS,
} from './sendgrid-settings.js';
