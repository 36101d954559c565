import { createSign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningEmulators, startEmulators } from '../src/emulator/server.js';

let running: RunningEmulators;
let base: string;
let credentials: Readonly<Record<string, string>>;
beforeAll(async () => {
  running = await startEmulators({
    vendors: ['zoominfo'],
    truth: { people: 300, companies: 50 },
    // One emulated second is one real ms: the one-per-second sign-in limit never slows the tests.
    timeScale: 1000,
    vendorOptions: { zoominfo: { quotas: { requestLimit: 40 } } },
  });
  base = running.urls.zoominfo!.baseUrl;
  credentials = running.credentials.zoominfo!;
});
afterAll(() => running.close());

const basic = () =>
  `Basic ${Buffer.from(`${credentials.clientId}:${credentials.clientSecret}`).toString('base64')}`;

async function token(form: Record<string, string>, authorization = basic()) {
  return fetch(`${base}/gtm/oauth/v1/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

async function gtmToken(scope?: string): Promise<string> {
  const response = await token({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function jwt(): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, 2));
  const response = await fetch(`${base}/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: credentials.username, password: credentials.password }),
  });
  return ((await response.json()) as { jwt: string }).jwt;
}

describe('ZoomInfo emulator: sign-in', () => {
  it('OAuth errors: a wrong secret, an unknown grant, a scope the app lacks, a body that is not a form', async () => {
    expect(await (await token({ grant_type: 'client_credentials' }, 'Basic bm9wZTpub3Bl')).json()).toEqual({
      error: 'invalid_client',
      error_description: expect.any(String),
    });
    expect((await (await token({ grant_type: 'password' })).json()) as object).toMatchObject({
      error: 'unsupported_grant_type',
    });
    expect(
      (await (
        await token({ grant_type: 'client_credentials', scope: 'api:data:everything' })
      ).json()) as object,
    ).toMatchObject({
      error: 'invalid_scope',
    });
    const json = await fetch(`${base}/gtm/oauth/v1/token`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/json' },
      body: '{"grant_type":"client_credentials"}',
    });
    expect(json.status).toBe(400);
  });

  it('the legacy password login answers {success, jwt}; a PKI assertion signed with the key does too', async () => {
    const session = await jwt();
    expect(session).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    // The JWT's iat is the emulator's now (its clock runs 1000 times faster than ours).
    const iat = (
      JSON.parse(Buffer.from(session.split('.')[1]!, 'base64url').toString('utf8')) as { iat: number }
    ).iat;
    await new Promise((resolve) => setTimeout(resolve, 2));
    const segment = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${segment({ typ: 'JWT', alg: 'RS256' })}.${segment({
      aud: 'enterprise_api',
      iss: 'api-client@zoominfo.com',
      username: credentials.username,
      client_id: credentials.pkiClientId,
      iat,
      exp: iat + 300,
    })}`;
    const signature = createSign('sha256').update(unsigned).sign(credentials.privateKey!, 'base64url');
    const pki = await fetch(`${base}/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${unsigned}.${signature}`, accept: 'application/json' },
      body: '{}',
    });
    expect(pki.status).toBe(200);
    expect(await pki.json()).toMatchObject({ success: true, jwt: expect.any(String) });
    await new Promise((resolve) => setTimeout(resolve, 2));
    const forged = await fetch(`${base}/authenticate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${unsigned}.${signature.slice(0, -4)}AAAA` },
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toEqual({ success: false, statusCode: 401, error: 'Authentication failed' });
  });
});

describe('ZoomInfo emulator: data calls', () => {
  it('GTM: a token without the contact scope is refused 403; wrong verbs and paths are 404 ZI9998', async () => {
    const lookupOnly = await gtmToken('api:data:lookup');
    const refused = await fetch(`${base}/gtm/data/v1/contacts/enrich`, {
      method: 'POST',
      headers: { authorization: `Bearer ${lookupOnly}`, 'content-type': 'application/vnd.api+json' },
      body: '{}',
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
      'Insufficient scope for this endpoint',
    );
    const wrongVerb = await fetch(`${base}/gtm/data/v1/contacts/enrich`, {
      headers: { authorization: `Bearer ${lookupOnly}` },
    });
    expect(wrongVerb.status).toBe(404);
    expect(((await wrongVerb.json()) as { error: { code: string } }).error.code).toBe('ZI9998');
  });

  it('GTM: enrich validates the JSON:API body, the 25-input cap and the output fields, each as a PFAPI error', async () => {
    const access = await gtmToken();
    const send = (body: unknown) =>
      fetch(`${base}/gtm/data/v1/contacts/enrich`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access}`, 'content-type': 'application/vnd.api+json' },
        body: JSON.stringify(body),
      });
    const code = async (response: Response) =>
      [response.status, ((await response.json()) as { errors: { code: string }[] }).errors[0]!.code] as const;
    expect(await code(await send({ type: 'ContactEnrich' }))).toEqual([400, 'PFAPI0003']);
    const attributes = (extra: object) => ({ data: { type: 'ContactEnrich', attributes: extra } });
    expect(await code(await send(attributes({ matchPersonInput: [{ emailAddress: 'a@b.com' }] })))).toEqual([
      400,
      'PFAPI0002',
    ]);
    const many = Array.from({ length: 26 }, (_, index) => ({ emailAddress: `p${index}@b.com` }));
    expect(await code(await send(attributes({ matchPersonInput: many, outputFields: ['id'] })))).toEqual([
      400,
      'PFAPI0002',
    ]);
    const denied = await send(
      attributes({ matchPersonInput: [{ emailAddress: 'a@b.com' }], outputFields: ['id', 'mobilePhone'] }),
    );
    expect(denied.status).toBe(400);
    expect(await denied.json()).toMatchObject({
      errors: [{ code: 'PFAPI0001' }],
      invalidOutputFields: ['mobilephone'],
    });
    const ok = await send(
      attributes({ matchPersonInput: [{ emailAddress: 'a@b.com' }], outputFields: ['id'] }),
    );
    expect(ok.headers.get('x-ratelimit-limit-second')).toBe('25');
    expect(ok.headers.get('x-ratelimit-remaining-day')).toMatch(/^\d+$/);
    expect(await ok.json()).toEqual({
      data: [
        { type: 'NoMatch', id: '0', meta: { input: { emailAddress: 'a@b.com' }, matchStatus: 'NO_MATCH' } },
      ],
    });
  });

  it('legacy: enrich answers the documented envelope, echoing inputs lower-cased, with the X-Usage headers', async () => {
    const token = await jwt();
    const person = running.truth.people.find(
      (candidate) => running.emulators.zoominfo!.emulator.view.person(candidate) !== null,
    )!;
    const response = await fetch(`${base}/enrich/contact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        matchPersonInput: [{ emailAddress: person.email.toUpperCase() }],
        outputFields: ['id', 'firstName', 'companyName'],
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit')).toBe('1500');
    expect(response.headers.get('x-usage-record-limit-remaining')).toMatch(/^\d+$/);
    const body = (await response.json()) as {
      success: boolean;
      data: { outputFields: string[][]; result: { input: object; matchStatus: string; data: object[] }[] };
    };
    expect(body.success).toBe(true);
    expect(body.data.outputFields).toEqual([['id', 'firstname', 'companyname']]);
    expect(body.data.result[0]!.input).toEqual({ emailaddress: person.email.toLowerCase() });
    expect(body.data.result[0]!.matchStatus).toBe('FULL_MATCH');
    expect(Object.keys(body.data.result[0]!.data[0]!).sort()).toEqual(['company', 'firstName', 'id']);
    const missing = await fetch(`${base}/enrich/contact`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ matchPersonInput: [{ emailAddress: person.email }] }),
    });
    expect(await missing.json()).toEqual({
      success: false,
      statusCode: 400,
      error: 'Missing outputFields parameter',
    });
  });

  it('usage endpoints of both APIs; once the request limit is used up, enrich is refused 403', async () => {
    const token = await jwt();
    const legacy = (await (
      await fetch(`${base}/lookup/usage`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      usage: { limitType: string; limit: number; usageRemaining: number }[];
    };
    expect(legacy.usage.map((row) => row.limitType)).toEqual([
      'requestLimit',
      'recordLimit',
      'uniqueIdLimit',
    ]);
    expect(legacy.usage[0]!.limit).toBe(40);
    const access = await gtmToken();
    const gtm = (await (
      await fetch(`${base}/gtm/data/v1/users/usage`, { headers: { authorization: `Bearer ${access}` } })
    ).json()) as { data: { attributes: { usage: { totalLimit: number }[] } }[] };
    expect(gtm.data[0]!.attributes.usage[0]!.totalLimit).toBe(40);
    const spend = () =>
      fetch(`${base}/enrich/company`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          matchCompanyInput: [{ companyWebsite: 'nowhere.example' }],
          outputFields: ['id'],
        }),
      });
    let last = await spend();
    for (let index = 0; index < 40 && last.status === 200; index++) last = await spend();
    expect(last.status).toBe(403);
    expect(await last.json()).toEqual({
      success: false,
      statusCode: 403,
      error: 'You have used up all of your allowed request limit',
    });
  });
});
