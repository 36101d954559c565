import { afterAll, describe, expect, it } from 'vitest';
import { startEmulatorBackend, UNKNOWN_CONTRACT_EMAIL } from '../src/contracts/index.js';

const apollo = await startEmulatorBackend('apollo');
const clearbit = await startEmulatorBackend('clearbit');
afterAll(async () => {
  await apollo.close();
  await clearbit.close();
});

const apolloMatch = (email: string) =>
  fetch(`${apollo.urls.apiUrl}/people/match?email=${encodeURIComponent(email)}`, {
    method: 'POST',
    headers: { 'x-api-key': apollo.credentials.apiKey! },
  });

describe('startEmulatorBackend', () => {
  it('serves Apollo over HTTP: the known lead matches with the expected fields, the unknown one does not', async () => {
    const known = (await (await apolloMatch(apollo.contract.knownLead.email!)).json()) as {
      person: { first_name: string; title: string };
    };
    expect(known.person.first_name).toBe(apollo.contract.expectedFields?.firstName);
    expect(known.person.title).toBe(apollo.contract.expectedFields?.title);
    const unknown = (await (await apolloMatch(UNKNOWN_CONTRACT_EMAIL)).json()) as { person: unknown };
    expect(unknown.person).toBeNull();
    expect(apollo.contract.secrets).toContain(apollo.credentials.apiKey);
  });

  it('answers canned responses for the next requests, then the emulator again, counting all of them', async () => {
    await apollo.backend.reset?.();
    const before = await apollo.backend.requestCount();
    await apollo.backend.respondWith(503, { headers: { 'retry-after': '3' }, body: { error: 'down' } }, 2);
    const first = await apolloMatch(apollo.contract.knownLead.email!);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('3');
    expect(first.headers.get('content-type')).toContain('application/json');
    expect(await first.json()).toEqual({ error: 'down' });
    expect((await apolloMatch(apollo.contract.knownLead.email!)).status).toBe(503);
    expect((await apolloMatch(apollo.contract.knownLead.email!)).status).toBe(200);
    expect((await apollo.backend.requestCount()) - before).toBe(3);
  });

  it('drops unused canned answers on reset', async () => {
    await apollo.backend.respondWith(500, { body: 'boom' }, 5);
    await apollo.backend.reset?.();
    expect((await apolloMatch(apollo.contract.knownLead.email!)).status).toBe(200);
  });

  it('serves Clearbit with the known lead answered at once (no 202 queueing unless asked)', async () => {
    const response = await fetch(
      `${clearbit.urls.apiUrl}/v2/people/find?email=${encodeURIComponent(clearbit.contract.knownLead.email!)}`,
      { headers: { authorization: `Bearer ${clearbit.credentials.apiKey}` } },
    );
    expect(response.status).toBe(200);
    const unknown = await fetch(
      `${clearbit.urls.apiUrl}/v2/people/find?email=${encodeURIComponent(UNKNOWN_CONTRACT_EMAIL)}`,
      { headers: { authorization: `Bearer ${clearbit.credentials.apiKey}` } },
    );
    expect(unknown.status).toBe(404);
  });
});
