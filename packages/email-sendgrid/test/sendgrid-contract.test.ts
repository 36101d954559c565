import { emailProviderContract } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendgrid, SENDGRID_LEDGER_KEY_ARG } from '../src/index.js';
import {
  asContractMessage,
  cannedFetch,
  SENDGRID_ERROR_RESPONSES,
  type SendgridFixture,
  startSendgrid,
} from './support.js';

let sg: SendgridFixture;
const canned = cannedFetch();
const secrets: string[] = [];

beforeAll(async () => {
  sg = await startSendgrid({ seed: 21, limits: { sendgrid: { limit: 100_000 } } });
  secrets.push(sg.apiKey);
});
afterAll(() => sg.close());

describe('SendGrid provider against the SendGrid emulator over HTTP', () => {
  emailProviderContract(it, expect, {
    createProvider: () =>
      createSendgrid({
        apiKey: sg.apiKey,
        baseUrl: sg.baseUrl,
        fetch: canned.fetch,
        webhookPublicKey: sg.publicKey,
      }),
    from: { email: 'news@contract.example', name: 'Contract News' },
    recipient: (label) => `${label}@inbox.example`,
    invalidMessage: (ledgerKey) => ({
      ledgerKey,
      from: { email: 'news@contract.example' },
      to: { email: 'not-an-address' },
      subject: 'refused',
      text: 'refused',
    }),
    db: {
      message: (ledgerKey) =>
        asContractMessage(sg.emulator.findByCustomArg(SENDGRID_LEDGER_KEY_ARG, ledgerKey)),
      count: () => sg.emulator.messages().length,
    },
    backend: canned.backend,
    secrets,
    errorResponses: SENDGRID_ERROR_RESPONSES,
    rateLimitResponse: SENDGRID_ERROR_RESPONSES[429],
    reportsRateLimitsOnSuccess: true,
    webhooks: {
      signedRequest: (events, signing) =>
        sg.emulator.events.signedRequest(
          events.map((event) =>
            sg.emulator.events.build(
              (
                {
                  processed: 'processed',
                  delivered: 'delivered',
                  deferred: 'deferred',
                  bounced: 'bounce',
                  dropped: 'dropped',
                  opened: 'open',
                  clicked: 'click',
                  complained: 'spamreport',
                  unsubscribed: 'unsubscribe',
                  replied: 'processed',
                } as const
              )[event.type],
              { customArgs: { [SENDGRID_LEDGER_KEY_ARG]: event.ledgerKey }, email: event.email },
              event.bounce === 'soft' ? { bounceType: 'blocked' } : {},
            ),
          ),
          signing,
        ),
    },
    createProviderWithoutCredentials: () => createSendgrid({ baseUrl: sg.baseUrl, fetch: canned.fetch }),
  });
});
