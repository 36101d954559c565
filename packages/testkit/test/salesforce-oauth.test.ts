import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningSalesforce, startSalesforce } from './salesforce-support.js';

const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

function jwt(payload: Record<string, unknown>, key = privateKey, alg = 'RS256'): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg, typ: 'JWT' })}.${encode(payload)}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  return `${unsigned}.${signature}`;
}

describe('Salesforce emulator OAuth token endpoint', () => {
  let sf: RunningSalesforce;
  afterEach(async () => {
    await sf.close();
  });

  const token = async (params: Record<string, string>) => {
    const response = await fetch(`${sf.url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };
  const limits = (accessToken: string) =>
    fetch(`${sf.url}/services/data/v62.0/limits`, { headers: { Authorization: `Bearer ${accessToken}` } });

  it('refreshes with rotation: a new refresh token each time, the old one rejected', async () => {
    sf = await startSalesforce({ rotateRefreshTokens: true, sessionLifetimeMs: 10 * 60 * 1000 });
    const { clientId, clientSecret, refreshToken, organizationId, userId } = sf.emulator.credentials;
    const first = await token({
      grant_type: 'refresh_token',
      client_id: clientId,
      client_secret: clientSecret,
      refresh_token: refreshToken,
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      instance_url: sf.url,
      id: `${sf.url}/id/${organizationId}/${userId}`,
      token_type: 'Bearer',
      issued_at: String(Date.UTC(2026, 10, 25, 9, 0, 0)),
    });
    const expectedSignature = createHmac('sha256', clientSecret)
      .update(String(first.body.id) + String(first.body.issued_at))
      .digest('base64');
    expect(first.body.signature).toBe(expectedSignature);
    expect(first.body.refresh_token).toBeDefined();
    expect(first.body.refresh_token).not.toBe(refreshToken);
    expect((await limits(String(first.body.access_token))).status).toBe(200);
    const reused = await token({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: refreshToken,
    });
    expect(reused).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
    });
    const second = await token({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: String(first.body.refresh_token),
    });
    expect(second.status).toBe(200);
    sf.advance(10 * 60 * 1000);
    expect((await limits(String(second.body.access_token))).status).toBe(401);
  });

  it('keeps the refresh token without rotation and checks the client', async () => {
    sf = await startSalesforce();
    const { clientId, refreshToken } = sf.emulator.credentials;
    const refreshed = await token({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: refreshToken,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toBeUndefined();
    const again = await token({
      grant_type: 'refresh_token',
      client_id: clientId,
      refresh_token: refreshToken,
    });
    expect(again.status).toBe(200);
    expect(
      await token({ grant_type: 'refresh_token', client_id: 'nope', refresh_token: refreshToken }),
    ).toEqual({
      status: 400,
      body: { error: 'invalid_client_id', error_description: 'client identifier invalid' },
    });
    expect(
      await token({
        grant_type: 'refresh_token',
        client_id: clientId,
        client_secret: 'wrong',
        refresh_token: refreshToken,
      }),
    ).toEqual({
      status: 400,
      body: { error: 'invalid_client', error_description: 'invalid client credentials' },
    });
    expect(await token({ grant_type: 'authorization_magic' })).toEqual({
      status: 400,
      body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' },
    });
  });

  it('accepts a JWT bearer assertion signed with the configured key and rejects forged or stale ones', async () => {
    sf = await startSalesforce({
      jwtPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    const { clientId, username } = sf.emulator.credentials;
    const now = Math.floor(Date.UTC(2026, 10, 25, 9, 0, 0) / 1000);
    const claims = { iss: clientId, sub: username, aud: 'https://login.salesforce.com', exp: now + 180 };
    const granted = await token({ grant_type: JWT_GRANT, assertion: jwt(claims) });
    expect(granted.status).toBe(200);
    expect(granted.body.refresh_token).toBeUndefined();
    expect(granted.body.instance_url).toBe(sf.url);
    expect((await limits(String(granted.body.access_token))).status).toBe(200);
    const ownOrigin = await token({ grant_type: JWT_GRANT, assertion: jwt({ ...claims, aud: sf.url }) });
    expect(ownOrigin.status).toBe(200);
    const forged = await token({ grant_type: JWT_GRANT, assertion: jwt(claims, other.privateKey) });
    expect(forged).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'invalid assertion' },
    });
    const stale = await token({ grant_type: JWT_GRANT, assertion: jwt({ ...claims, exp: now - 1 }) });
    expect(stale.status).toBe(400);
    const wrongIssuer = await token({ grant_type: JWT_GRANT, assertion: jwt({ ...claims, iss: 'someone' }) });
    expect(wrongIssuer.body.error).toBe('invalid_client_id');
    const hs256 = await token({ grant_type: JWT_GRANT, assertion: jwt(claims, privateKey, 'HS256') });
    expect(hs256.status).toBe(400);
    const wrongAudience = await token({
      grant_type: JWT_GRANT,
      assertion: jwt({ ...claims, aud: 'https://evil.test' }),
    });
    expect(wrongAudience.status).toBe(400);
  });

  it('checks JWT assertions structurally when no key is configured', async () => {
    sf = await startSalesforce();
    const { clientId, username } = sf.emulator.credentials;
    const exp = Math.floor(Date.UTC(2026, 10, 25, 10, 0, 0) / 1000);
    const granted = await token({
      grant_type: JWT_GRANT,
      assertion: jwt(
        { iss: clientId, sub: username, aud: 'https://test.salesforce.com', exp },
        other.privateKey,
      ),
    });
    expect(granted.status).toBe(200);
    expect((await token({ grant_type: JWT_GRANT, assertion: 'not.a.jwt' })).status).toBe(400);
  });

  it('runs the password flow and never echoes secrets in errors', async () => {
    sf = await startSalesforce();
    const { clientId, clientSecret, username, password } = sf.emulator.credentials;
    const ok = await token({
      grant_type: 'password',
      client_id: clientId,
      client_secret: clientSecret,
      username: username,
      password: password,
    });
    expect(ok.status).toBe(200);
    const bad = await token({
      grant_type: 'password',
      client_id: clientId,
      client_secret: clientSecret,
      username: username,
      password: 'hunter2-secret',
    });
    expect(bad).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'authentication failure' },
    });
    expect(JSON.stringify(bad.body)).not.toContain('hunter2');
    expect(JSON.stringify(bad.body)).not.toContain(clientSecret);
  });
});
