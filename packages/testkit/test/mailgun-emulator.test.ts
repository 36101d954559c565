import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Mailgun from 'mailgun.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../src/emulator/cli-options.js';
import { createEmulator } from '../src/emulator/registry.js';
import { type RunningEmulators, startEmulators } from '../src/emulator/server.js';
import { MAILGUN_OPTIONS_LIMIT_BYTES, mailgunCredentials } from '../src/vendors/mailgun/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['mailgun'], seed: 5, limits: { mailgun: { perMinute: 50 } } });
});
afterAll(() => running.close());
afterEach(() => {
  running.emulators.mailgun!.reset();
});

function emulator() {
  return running.emulators.mailgun!;
}

function client(key = running.credentials.mailgun!.apiKey!) {
  return new Mailgun(FormData).client({ username: 'api', key, url: running.urls.mailgun!.baseUrl });
}

/** What mailgun.js throws: a MailgunAPIError with the status, message and details. */
async function failure(
  run: () => Promise<unknown>,
): Promise<{ status: number; details: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { status: number; details: string; message: string };
  }
  throw new Error('expected the call to fail');
}

const domain = () => running.credentials.mailgun!.domain!;

describe('Mailgun emulator driven by mailgun.js 14', () => {
  it('accepts a message and stores exactly what the client sent', async () => {
    const result = await client().messages.create(domain(), {
      from: 'Ada Sender <ada@mg.leadpipe.test>',
      to: ['Bob <bob@example.com>'],
      subject: 'Hello',
      text: 'Plain body',
      html: '<p>HTML body</p>',
      'h:List-Unsubscribe': '<https://unsub.example.com/u/abc>',
      'h:List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'h:X-Mailgun-Variables': JSON.stringify({ campaign: 'c-1', ledger: 'overridden' }),
      'v:ledger': 'enr-1-s0',
      'o:tag': ['welcome', 'step-0'],
      'o:testmode': 'yes',
    });
    expect(result.status).toBe(200);
    expect(result.message).toBe('Queued. Thank you.');
    expect(result.id).toMatch(/^<\d{14}\.1\.[0-9A-F]{16}@mg\.leadpipe\.test>$/);
    const stored = emulator().emulator.messages();
    expect(stored).toHaveLength(1);
    const message = stored[0]!;
    expect(`<${message.id}>`).toBe(result.id);
    expect(emulator().emulator.message(result.id!)).toBe(message);
    expect(message).toMatchObject({
      domain: 'mg.leadpipe.test',
      from: 'Ada Sender <ada@mg.leadpipe.test>',
      to: ['Bob <bob@example.com>'],
      subject: 'Hello',
      text: 'Plain body',
      html: '<p>HTML body</p>',
      headers: {
        'List-Unsubscribe': '<https://unsub.example.com/u/abc>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
      // v: fields win over the X-Mailgun-Variables header.
      variables: { campaign: 'c-1', ledger: 'enr-1-s0' },
      tags: ['welcome', 'step-0'],
      options: { testmode: 'yes' },
    });
    const recorded = emulator().requests.find('POST', '/v3/mg.leadpipe.test/messages');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.headers.authorization).not.toContain(running.credentials.mailgun!.apiKey!);
    expect(recorded[0]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
  });

  it('refuses a wrong key with a plain-text 401 Forbidden, and a wrong user too', async () => {
    const error = await failure(() =>
      client('not-the-key').messages.create(domain(), {
        from: 'a@mg.leadpipe.test',
        to: 'b@example.com',
        text: 'x',
      }),
    );
    expect(error.status).toBe(401);
    expect(error.details).toBe('Forbidden');
    const response = await fetch(`${running.urls.mailgun!.baseUrl}/v3/${domain()}/messages`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`user:${running.credentials.mailgun!.apiKey}`).toString('base64')}`,
      },
      body: new URLSearchParams({ from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x' }),
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toBe('Forbidden');
    expect(emulator().emulator.messages()).toHaveLength(0);
  });

  it('answers an unknown domain 404, a disabled one 403 and a failed payment 402, as {"message"}', async () => {
    const unknown = await failure(() =>
      client().messages.create('nope.example.com', {
        from: 'a@nope.example.com',
        to: 'b@example.com',
        text: 'x',
      }),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.details).toBe('Domain not found: nope.example.com');
    emulator().emulator.setDomainDisabled(domain(), true);
    const disabled = await failure(() =>
      client().messages.create(domain(), { from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x' }),
    );
    expect(disabled.status).toBe(403);
    expect(disabled.details).toContain('is not allowed to send');
    emulator().emulator.setDomainDisabled(domain(), false);
    emulator().emulator.setPaymentRequired(true);
    const payment = await failure(() =>
      client().messages.create(domain(), { from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x' }),
    );
    expect(payment.status).toBe(402);
    expect(emulator().emulator.messages()).toHaveLength(0);
  });

  it('answers 400 with Mailgun’s messages for missing or invalid parameters', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ to: 'b@example.com', text: 'x' }, "'from' parameter is missing"],
      [{ from: 'a@mg.leadpipe.test', text: 'x' }, "'to' parameter is missing"],
      [
        { from: 'a@mg.leadpipe.test', to: 'not an address', text: 'x' },
        "'to' parameter is not a valid address. please check documentation",
      ],
      [
        { from: 'a@mg.leadpipe.test', to: 'b@example.com', subject: 's' },
        "Need at least one of 'text', 'html' or 'template' parameters specified",
      ],
      [
        { from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x', 'h:X-Mailgun-Variables': '[1,2' },
        "'h:X-Mailgun-Variables' must be a valid JSON dictionary",
      ],
    ];
    for (const [data, message] of cases) {
      const error = await failure(() => client().messages.create(domain(), data as never));
      expect(error.status).toBe(400);
      expect(error.details).toBe(message);
    }
    expect(emulator().emulator.messages()).toHaveLength(0);
  });

  it('refuses options over 16 KB in all with a 400, and accepts them at the limit', async () => {
    const base = { from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x' };
    const name = 'v:big';
    const atLimit = 'x'.repeat(MAILGUN_OPTIONS_LIMIT_BYTES - name.length);
    await expect(client().messages.create(domain(), { ...base, [name]: atLimit })).resolves.toMatchObject({
      status: 200,
    });
    const error = await failure(() => client().messages.create(domain(), { ...base, [name]: `${atLimit}x` }));
    expect(error.status).toBe(400);
    expect(error.details).toContain('16KB');
    expect(emulator().emulator.messages()).toHaveLength(1);
  });

  it('counts sends per domain per minute: 429 with X-RateLimit headers and Retry-After past the limit', async () => {
    const form = () => new URLSearchParams({ from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x' });
    const auth = `Basic ${Buffer.from(`api:${running.credentials.mailgun!.apiKey}`).toString('base64')}`;
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let index = 0; index < 51; index++) {
      last = await fetch(`${running.urls.mailgun!.baseUrl}/v3/${domain()}/messages`, {
        method: 'POST',
        headers: { authorization: auth },
        body: form(),
      });
      statuses.push(last.status);
      if (index === 0) {
        expect(last.headers.get('x-ratelimit-limit')).toBe('50');
        expect(last.headers.get('x-ratelimit-remaining')).toBe('49');
      }
    }
    // A window boundary may fall inside the loop: then the 429 comes later or not at all.
    const firstLimited = statuses.indexOf(429);
    if (firstLimited !== -1) {
      expect(firstLimited).toBeGreaterThanOrEqual(50);
      expect(last!.status).toBe(429);
      expect(await last!.json()).toEqual({ message: 'Too many requests' });
      expect(last!.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(last!.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() - 1000);
      expect(emulator().emulator.messages()).toHaveLength(50);
    }
  });

  it('injects faults in Mailgun’s shapes: 5xx, 429 and a revoked key', async () => {
    const base = { from: 'a@mg.leadpipe.test', to: 'b@example.com', text: 'x' };
    emulator().faults.queue('serverError');
    expect((await failure(() => client().messages.create(domain(), base))).status).toBeGreaterThanOrEqual(
      500,
    );
    emulator().faults.configure({ rateLimitBurst: { rate: 1, length: 1, retryAfterSeconds: 3 } });
    const limited = await failure(() => client().messages.create(domain(), base));
    expect(limited.status).toBe(429);
    expect(limited.details).toBe('Too many requests');
    emulator().faults.clear();
    emulator().faults.queue('expiredToken');
    const revoked = await failure(() => client().messages.create(domain(), base));
    expect(revoked.status).toBe(401);
    expect(revoked.details).toBe('Forbidden');
    expect(emulator().emulator.messages()).toHaveLength(0);
    await expect(client().messages.create(domain(), base)).resolves.toMatchObject({ status: 200 });
  });

  it('accepts the credentials its definition names for the seed', () => {
    const built = createEmulator('mailgun', { seed: 5 });
    expect(built.credentials).toEqual(mailgunCredentials(5));
    expect(running.credentials.mailgun).toEqual(mailgunCredentials(5));
    void built.close();
  });
});

/** A receiver for webhooks: records each body and content type. */
async function receiver(): Promise<{
  url: string;
  bodies: { type: string; body: string }[];
  server: Server;
}> {
  const bodies: { type: string; body: string }[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push({
        type: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, bodies, server };
}

describe('Mailgun emulator webhooks', () => {
  it('posts signed delivered events for accepted messages, bounces for bouncing recipients', async () => {
    const hook = await receiver();
    const server = await startEmulators({
      vendors: ['mailgun'],
      seed: 6,
      vendorOptions: {
        mailgun: { webhookUrl: hook.url, eventDelayMs: 0, bouncingRecipients: ['gone@example.com'] },
      },
    });
    try {
      const mg = new Mailgun(FormData).client({
        username: 'api',
        key: server.credentials.mailgun!.apiKey!,
        url: server.urls.mailgun!.baseUrl,
      });
      const ok = await mg.messages.create('mg.leadpipe.test', {
        from: 'a@mg.leadpipe.test',
        to: 'b@example.com',
        text: 'x',
        'v:ledger': 'enr-7-s1',
      });
      await mg.messages.create('mg.leadpipe.test', {
        from: 'a@mg.leadpipe.test',
        to: 'gone@example.com',
        text: 'x',
      });
      await server.emulators.mailgun!.emulator.webhooks.idle();
      expect(hook.bodies).toHaveLength(2);
      const key = server.credentials.mailgun!.webhookSigningKey!;
      const events = hook.bodies.map((item) => {
        expect(item.type).toBe('application/json');
        const payload = JSON.parse(item.body) as {
          signature: { timestamp: string; token: string; signature: string };
          'event-data': Record<string, unknown>;
        };
        const expected = createHmac('sha256', key)
          .update(payload.signature.timestamp + payload.signature.token)
          .digest('hex');
        expect(payload.signature.signature).toBe(expected);
        expect(payload.signature.token).toMatch(/^[0-9a-f]{50}$/);
        return payload['event-data'];
      });
      const delivered = events.find((event) => event.event === 'delivered')!;
      expect(delivered).toMatchObject({
        recipient: 'b@example.com',
        'user-variables': { ledger: 'enr-7-s1' },
        message: { headers: { 'message-id': ok.id!.slice(1, -1) } },
        'delivery-status': { code: 250 },
      });
      expect(events.find((event) => event.event === 'failed')).toMatchObject({
        recipient: 'gone@example.com',
        severity: 'permanent',
        reason: 'bounce',
      });
      // Injected events and replies are signed the same way.
      const injected = server.emulators.mailgun!.emulator.emit(ok.id!, 'complained');
      expect(JSON.parse(injected.body)['event-data']).toMatchObject({
        event: 'complained',
        recipient: 'b@example.com',
      });
      const reply = server.emulators.mailgun!.emulator.reply(ok.id!, { text: 'Yes please' });
      const fields = new URLSearchParams(reply.body);
      expect(fields.get('In-Reply-To')).toBe(ok.id);
      expect(fields.get('stripped-text')).toBe('Yes please');
      expect(fields.get('signature')).toBe(
        createHmac('sha256', key)
          .update(`${fields.get('timestamp')}${fields.get('token')}`)
          .digest('hex'),
      );
    } finally {
      await server.close();
      hook.server.close();
    }
  });
});

describe('leadpipe-emulator --vendors mailgun', () => {
  // The command's own path in process (parseCli, then startEmulators; the command prints `urls` and
  // `credentials` as its JSON line): spawning it is covered once for every vendor by emulator-cli.test.ts.
  it('parses --vendors mailgun and serves sends with the base URL, API key, sending domain and signing key', async () => {
    const options = parseCli(['--vendors', 'mailgun', '--port', '0', '--seed', '3']);
    expect(options?.vendors).toEqual(['mailgun']);
    const cli = await startEmulators({ ...options, truth: { people: 20, companies: 5 } });
    try {
      const mailgun = { ...cli.urls.mailgun!, credentials: cli.credentials.mailgun! };
      expect(JSON.parse(JSON.stringify({ vendors: { mailgun } })).vendors.mailgun).toEqual({
        baseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        credentials: mailgunCredentials(3),
      });
      expect(mailgun.credentials.domain).toBe('mg.leadpipe.test');
      const mg = new Mailgun(FormData).client({
        username: 'api',
        key: mailgun.credentials.apiKey!,
        url: mailgun.baseUrl,
      });
      const sent = await mg.messages.create(mailgun.credentials.domain!, {
        from: 'a@mg.leadpipe.test',
        to: 'b@example.com',
        text: 'hi',
      });
      expect(sent.status).toBe(200);
      expect(cli.emulators.mailgun!.emulator.message(sent.id!)?.text).toBe('hi');
    } finally {
      await cli.close();
    }
  });
});
