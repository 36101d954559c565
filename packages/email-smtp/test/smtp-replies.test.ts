import { type AddressInfo, createServer, type Socket } from 'node:net';
import { ApiCallError, ConfigurationError, type EmailSendResult } from '@leadpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtp, type SmtpProvider } from '../src/index.js';
import { message, type SmtpStage, type SmtpTestServer, startSmtpServer } from './support.js';

const USER = 'replies-user';
const PASS = 'replies-pass-2b8d4e61';
let server: SmtpTestServer;
let smtp: SmtpProvider;

beforeAll(async () => {
  server = await startSmtpServer({ credentials: { user: USER, pass: PASS } });
  smtp = createSmtp({ host: '127.0.0.1', port: server.port, requireTLS: false, user: USER, pass: PASS });
});
afterAll(async () => {
  await smtp.close();
  await server.close();
});

async function outcome(promise: PromiseLike<EmailSendResult>): Promise<EmailSendResult | ApiCallError> {
  try {
    return await promise;
  } catch (error) {
    if (ApiCallError.isInstance(error)) return error;
    throw error;
  }
}

describe('SMTP replies map to the contract outcomes (real smtp-server, injected replies)', () => {
  const temporary: [SmtpStage, number, string, string][] = [
    ['mail', 421, '4.7.0 Too many messages, slow down', 'rate_limited'],
    ['rcpt', 450, '4.2.1 Mailbox busy, try again later', 'server_error'],
    ['rcpt', 451, '4.7.1 Greylisted, try again in 5 minutes', 'server_error'],
    ['data', 452, '4.3.1 Insufficient system storage', 'server_error'],
  ];
  for (const [stage, code, text, expected] of temporary) {
    it(`${code} to ${stage} rejects ${expected}, retryable, one transaction, nothing lands`, async () => {
      server.inject(stage, code, text);
      const before = server.transactions();
      const landed = server.messages.length;
      const result = await outcome(smtp.doSend(message({ ledgerKey: `temp-${code}` }), {}));
      expect(ApiCallError.isInstance(result)).toBe(true);
      const error = result as ApiCallError;
      expect(error.code).toBe(expected);
      expect(error.isRetryable).toBe(true);
      expect(error.vendorCode).toContain(String(code));
      expect(error.providerId).toBe('smtp');
      expect(server.transactions() - before).toBe(1);
      expect(server.messages.length).toBe(landed);
      // The pool recovers: the next send goes through.
      const next = await smtp.doSend(message({ ledgerKey: `after-${code}` }), {});
      expect(next.status).toBe('accepted');
    });
  }

  const permanent: [SmtpStage, number, string, string, string | undefined][] = [
    [
      'rcpt',
      550,
      '5.1.1 <bob@example.com>: Recipient address rejected: mailbox unavailable',
      'invalid_message',
      'to.email',
    ],
    ['rcpt', 553, '5.1.3 Bad recipient address syntax', 'invalid_message', 'to.email'],
    ['mail', 550, '5.7.1 Sender address rejected: not owned by user', 'forbidden', 'from.email'],
    ['data', 552, '5.3.4 Message size exceeds fixed limit', 'invalid_message', 'html'],
    ['data', 554, '5.7.1 Message rejected as spam', 'forbidden', undefined],
    ['mail', 530, '5.7.0 Authentication required', 'unauthorized', undefined],
  ];
  for (const [stage, code, text, expected, field] of permanent) {
    it(`${code} to ${stage} is a failed ${expected} result of that message, not of the call`, async () => {
      server.inject(stage, code, text);
      const landed = server.messages.length;
      const result = await smtp.doSend(message({ ledgerKey: `perm-${code}-${stage}` }), {});
      expect(result).toMatchObject({
        ledgerKey: `perm-${code}-${stage}`,
        status: 'failed',
        code: expected,
        retryable: false,
      });
      if (result.status === 'failed') {
        expect(result.field).toBe(field);
        expect(result.message).not.toMatch(/bob@example\.com/);
        expect(result.message).not.toContain(PASS);
      }
      expect(server.messages.length).toBe(landed);
      const next = await smtp.doSend(message({ ledgerKey: `after-perm-${code}-${stage}` }), {});
      expect(next.status).toBe('accepted');
    });
  }

  it('535 (a wrong password) is a failed unauthorized result that never shows the password', async () => {
    const wrong = 'wrong-pass-9c1f0a7d';
    const bad = createSmtp({
      host: '127.0.0.1',
      port: server.port,
      requireTLS: false,
      user: USER,
      pass: wrong,
    });
    const result = await bad.doSend(message({ ledgerKey: 'auth-bad' }), {});
    await bad.close();
    expect(result).toMatchObject({ status: 'failed', code: 'unauthorized', retryable: false });
    expect(JSON.stringify(result)).not.toContain(wrong);
    expect(server.messages.some((item) => item.headers['X-Leadpipe-Ledger-Key'] === 'auth-bad')).toBe(false);
  });

  it('a connection dropped during DATA rejects network_error and the pool does not resend it', async () => {
    server.dropAt('data');
    const before = server.transactions();
    const result = await outcome(smtp.doSend(message({ ledgerKey: 'dropped' }), {}));
    expect(ApiCallError.isInstance(result) && result.code).toBe('network_error');
    expect((result as ApiCallError).isRetryable).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // maxRequeues 0: retries have one owner (the engine), so one transaction only.
    expect(server.transactions() - before).toBe(1);
    expect(server.messages.some((item) => item.headers['X-Leadpipe-Ledger-Key'] === 'dropped')).toBe(false);
  });

  it('a server that never greets rejects timeout, retryable', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const slow = createSmtp({ host: '127.0.0.1', port, requireTLS: false, greetingTimeoutMs: 300 });
    const result = await outcome(slow.doSend(message({ ledgerKey: 'silent' }), {}));
    await slow.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(ApiCallError.isInstance(result) && result.code).toBe('timeout');
    expect((result as ApiCallError).isRetryable).toBe(true);
  });

  it('a refused connection rejects network_error, retryable', async () => {
    const closed = await startSmtpServer();
    const port = closed.port;
    await closed.close();
    const nowhere = createSmtp({ host: '127.0.0.1', port, requireTLS: false, connectionTimeoutMs: 5_000 });
    const result = await outcome(nowhere.doSend(message({ ledgerKey: 'refused-conn' }), {}));
    await nowhere.close();
    expect(ApiCallError.isInstance(result) && result.code).toBe('network_error');
    expect((result as ApiCallError).isRetryable).toBe(true);
    expect((result as ApiCallError).url).toBe(`smtp://127.0.0.1:${port}`);
  });

  it('a message that cannot be sent is refused before any transaction, naming the field', async () => {
    const before = server.transactions();
    const injected = await smtp.doSend(
      message({ headers: { 'X-Evil': 'a\r\nBcc: victim@example.com' } }),
      {},
    );
    expect(injected).toMatchObject({ status: 'failed', code: 'invalid_message', field: 'headers.X-Evil' });
    const reserved = await smtp.doSend(message({ headers: { 'Message-ID': '<x@y>' } }), {});
    expect(reserved).toMatchObject({ status: 'failed', field: 'headers.Message-ID' });
    const bodiless = await smtp.doSend(message({ html: undefined, text: '' }), {});
    expect(bodiless).toMatchObject({ status: 'failed', field: 'html' });
    const big = await smtp.doSend(message({ metadata: { blob: 'x'.repeat(1_000) } }), {});
    expect(big).toMatchObject({ status: 'failed', field: 'metadata' });
    expect(server.transactions()).toBe(before);
  });

  it('List-Unsubscribe headers, the ledger key, html and text land as sent', async () => {
    const sent = message({ ledgerKey: 'landed-1' });
    const result = await smtp.doSend(sent, {});
    expect(result.status).toBe('accepted');
    const stored = server.messages.find((item) => item.headers['X-Leadpipe-Ledger-Key'] === 'landed-1');
    expect(stored?.headers['List-Unsubscribe']).toBe('<https://unsub.example.com/u/tok123>');
    expect(stored?.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(stored?.headers['Content-Type']).toMatch(/^multipart\/alternative/);
    expect(stored?.html).toBe('<p>Hi Bob</p>');
    expect(stored?.text?.trim()).toBe('Hi Bob');
    expect(stored?.envelopeTo.map((to) => to.toLowerCase())).toEqual(['bob@example.com']);
    expect(result.status === 'accepted' && stored?.headers['Message-ID']).toBe(
      result.status === 'accepted' ? `<${result.messageId}>` : '',
    );
  });
});

describe('TLS', () => {
  it('STARTTLS is required by default and used when the server offers it', async () => {
    const tlsServer = await startSmtpServer({ starttls: true });
    const smtpTls = createSmtp({ host: '127.0.0.1', port: tlsServer.port, tlsRejectUnauthorized: false });
    const result = await smtpTls.doSend(message({ ledgerKey: 'tls-1' }), {});
    await smtpTls.close();
    await tlsServer.close();
    expect(result.status).toBe('accepted');
    expect(tlsServer.messages).toHaveLength(1);
    expect(tlsServer.messages[0]?.secure).toBe(true);
  });

  it('a server without STARTTLS gets nothing by default: a failed forbidden result', async () => {
    const plain = await startSmtpServer();
    const smtpPlain = createSmtp({ host: '127.0.0.1', port: plain.port });
    const result = await smtpPlain.doSend(message({ ledgerKey: 'tls-2' }), {});
    await smtpPlain.close();
    await plain.close();
    expect(result).toMatchObject({ status: 'failed', code: 'forbidden', retryable: false });
    expect(plain.messages).toHaveLength(0);
  });
});

describe('settings', () => {
  it('bad settings are a ConfigurationError naming each option', () => {
    let thrown: unknown;
    try {
      createSmtp({ port: 70_000, maxConnections: 0, secure: true, requireTLS: true });
    } catch (error) {
      thrown = error;
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true);
    const fields = (thrown as ConfigurationError).issues.map((issue) => issue.field);
    expect(fields).toEqual(expect.arrayContaining(['port', 'maxConnections', 'requireTLS']));
  });

  it('limiterKey is per server and user, and holds no secret', () => {
    const a = createSmtp({ host: 'smtp.a.example', user: 'u', pass: 'pass-abcdef-1' });
    const b = createSmtp({ host: 'smtp.b.example', user: 'u', pass: 'pass-abcdef-1' });
    expect(a.limiterKey?.()).not.toBe(b.limiterKey?.());
    expect(a.limiterKey?.()).toMatch(/^smtp:[0-9a-f]{16}$/);
  });
});
