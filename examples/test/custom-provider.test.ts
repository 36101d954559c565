import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEnrichmentEngine, createLead } from '@leadpipe/core';
import { type ContractBackend, type ContractResponse, enrichmentProviderContract } from '@leadpipe/testkit';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createInternalDirectory, type DirectoryPerson, startInternalApi } from '../custom-provider.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const token = `idt_${randomBytes(16).toString('hex')}`;
const ada: DirectoryPerson = {
  title: 'Chief Technology Officer',
  department: 'Engineering',
  phone: '+14155550100',
  company: 'Analytical Engines',
};
const api = await startInternalApi(new Map([['ada@analytical.io', ada]]), token);

// Backend controls for the contract suite: a thin front of the real internal API that counts requests and
// answers the suite's canned responses first.
const canned: { status: number; response?: ContractResponse }[] = [];
let received = 0;
const front = createServer(async (request, response) => {
  received += 1;
  const next = canned.shift();
  if (next !== undefined) {
    const body = next.response?.body;
    const headers: Record<string, string> = { ...next.response?.headers };
    if (body !== undefined && typeof body !== 'string') headers['content-type'] ??= 'application/json';
    response
      .writeHead(next.status, headers)
      .end(typeof body === 'string' ? body : JSON.stringify(body ?? ''));
    return;
  }
  const upstream = await fetch(`${api.url}${request.url}`, {
    headers: { authorization: request.headers.authorization ?? '' },
  });
  response
    .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' })
    .end(await upstream.text());
});
await new Promise<void>((done) => front.listen(0, '127.0.0.1', done));
const baseUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
const backend: ContractBackend = {
  respondWith: (status, response, times = 1) => {
    for (let index = 0; index < times; index++) canned.push({ status, response });
  },
  requestCount: () => received,
  reset: () => {
    canned.length = 0;
  },
};
vi.stubEnv('INTERNAL_DIRECTORY_TOKEN', '');
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise<void>((done) => {
    front.close(() => done());
    front.closeAllConnections();
  });
  await api.close();
});

describe('the internal directory provider (examples/custom-provider.ts)', () => {
  enrichmentProviderContract(it, expect, {
    createProvider: () => createInternalDirectory({ baseUrl, apiKey: token }),
    createProviderWithoutCredentials: () => createInternalDirectory({ baseUrl }),
    knownLead: { email: 'ada@analytical.io' },
    expectedFields: {
      title: ada.title,
      department: ada.department,
      phone: ada.phone,
      'company.name': ada.company,
    },
    unknownLead: { email: 'nobody@analytical.io' },
    backend,
    secrets: [token],
  });

  it('is refused by the real internal API with a wrong token, as unauthorized, naming no token', async () => {
    const provider = createInternalDirectory({ baseUrl: api.url, apiKey: 'idt_wrong_token_0123456789' });
    const engine = createEnrichmentEngine({ providers: [provider], fields: ['title'] });
    const outcome = await engine.enrich(createLead({ email: 'ada@analytical.io' }));
    await engine.close();
    expect(outcome.status).toBe('unchanged');
    expect(outcome.attempts[0]).toMatchObject({ providerId: 'internal-directory', outcome: 'failed' });
    expect(outcome.attempts[0]?.error?.code).toBe('unauthorized');
    expect(JSON.stringify(outcome)).not.toContain('idt_wrong_token');
  });

  it('keeps the provider definition under 40 lines', () => {
    const source = readFileSync(new URL('../custom-provider.ts', import.meta.url), 'utf8').split('\n');
    const start = source.findIndex((line) => line.startsWith('export function createInternalDirectory'));
    const end = source.findIndex((line, index) => index > start && line === '}');
    expect(start).toBeGreaterThan(0);
    expect(end - start + 1).toBeLessThan(40);
  });

  it('runs as a script: a waterfall [apollo, internal-directory] over the Apollo emulator', async () => {
    const { stdout } = await promisify(execFile)(
      'pnpm',
      ['exec', 'tsx', '--conditions=@leadpipe/source', 'examples/custom-provider.ts'],
      { cwd: root, timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    // Apollo knows the first two: their titles and companies come from Apollo, only the phone from the directory.
    for (const line of lines.slice(0, 2)) {
      expect(line).toMatch(
        /-> enriched: title "[^"?]+" from apollo, phone \+\d+ from internal-directory, company "[^"?]+" from apollo; missing: none; 1 credits$/,
      );
    }
    // Apollo has no record of the third: the directory fills what it can, for free.
    expect(lines[2]).toMatch(
      /-> partial: title "[^"?]+" from internal-directory, phone \+\d+ from internal-directory, company "[^"?]+" from internal-directory; missing: seniority, company\.industry; 0 credits$/,
    );
    expect(lines[3]).toMatch(/^nobody@unknown-contract-domain\.com -> unchanged: .*; 0 credits$/);
    expect(JSON.parse(lines[4]!)).toEqual({
      apollo: { calls: 4, matches: 2 },
      'internal-directory': { calls: 4, matches: 3 },
      credits: 2,
    });
  }, 60_000);
});
