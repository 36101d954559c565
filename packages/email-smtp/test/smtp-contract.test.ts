import { emailProviderContract } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSmtp, smtpMessageId } from '../src/index.js';
import { type SmtpTestServer, smtpBackend, startSmtpServer, storedForContract } from './support.js';

const USER = 'contract-user';
const PASS = 'contract-pass-7f3e91c2';
let server: SmtpTestServer;

beforeAll(async () => {
  vi.stubEnv('SMTP_PASS', '');
  server = await startSmtpServer({ credentials: { user: USER, pass: PASS } });
  server.refuseRecipient(
    'refused@inbox.example',
    550,
    '5.1.1 <refused@inbox.example>: Recipient address rejected',
  );
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await server.close();
});

describe('SMTP provider against a real SMTP server (smtp-server)', () => {
  emailProviderContract(it, expect, {
    createProvider: () =>
      createSmtp({ host: '127.0.0.1', port: server.port, requireTLS: false, user: USER, pass: PASS }),
    from: { email: 'news@mail.leadpipe.test', name: 'Contract News' },
    recipient: (label) => `${label}@inbox.example`,
    // Refused by the server itself: 550 to RCPT TO, a permanent refusal of this message.
    invalidMessage: (ledgerKey) => ({
      ledgerKey,
      from: { email: 'news@mail.leadpipe.test' },
      to: { email: 'refused@inbox.example' },
      subject: 'refused',
      text: 'refused',
    }),
    db: {
      message: (ledgerKey) =>
        storedForContract(server, ledgerKey, (stored) => stored.headers['Message-ID']!.slice(1, -1)),
      count: () => server.messages.length,
    },
    backend: smtpBackend(() => server),
    secrets: [PASS],
    createProviderWithoutCredentials: () =>
      createSmtp({ host: '127.0.0.1', port: server.port, requireTLS: false, user: USER }),
    skip: [
      // HTTP statuses and their bodies: SMTP answers reply codes instead; smtp-replies.test.ts maps every class
      // (4xx, 421, 5xx per command, 535, connection errors) against this same server.
      'errors',
      // SMTP has no rate-limit headers (and no 429): a 421 rejects rate_limited, tested in smtp-replies.test.ts.
      'rateLimitHeaders',
    ],
  });

  it('the stored Message-ID is the one derived from the ledger key, known before the send', () => {
    const stored = server.messages.find(
      (item) => item.headers['X-Leadpipe-Ledger-Key'] === 'contract-send-0',
    );
    expect(stored?.headers['Message-ID']).toBe(
      `<${smtpMessageId('contract-send-0', 'news@mail.leadpipe.test')}>`,
    );
    expect(stored?.user).toBe(USER);
  });
});
