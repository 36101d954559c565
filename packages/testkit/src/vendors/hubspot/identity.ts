import { seededRandom } from '../../emulator/create-context.js';
import type { HubspotCredentials, HubspotEmulatorOptions } from './types.js';
import { randomHex, randomUuid } from './util.js';

/** A HubSpot emulator's account ids, credentials and first record id. */
export interface HubspotIdentity {
  /** Account id. */
  readonly portalId: number;
  /** App id. */
  readonly appId: number;
  /** What the emulator accepts. */
  readonly credentials: HubspotCredentials;
  /** The first record id it issues. */
  readonly firstId: number;
}

/**
 * The account ids, credentials and first record id of a HubSpot emulator
 * seeded with `seed`: those of `options`, the rest drawn from one stream
 * derived from the seed (so a given option changes what is drawn after it).
 */
export function hubspotIdentity(seed: number, options: HubspotEmulatorOptions = {}): HubspotIdentity {
  const fixed = seededRandom((seed ^ 0x48554253) >>> 0);
  const portalId = options.portalId ?? 10_000_000 + Math.floor(fixed() * 89_999_999);
  const appId = options.appId ?? 1_000_000 + Math.floor(fixed() * 8_999_999);
  const credentials: HubspotCredentials = {
    privateAppToken: options.privateAppToken ?? `pat-na1-${randomUuid(fixed)}`,
    clientId: options.oauth?.clientId ?? randomUuid(fixed),
    clientSecret: options.oauth?.clientSecret ?? randomUuid(fixed),
    refreshToken: `na1-${randomHex(fixed, 4)}-${randomUuid(fixed)}`,
    redirectUri: options.oauth?.redirectUri ?? 'http://localhost/oauth-callback',
  };
  const firstId = 100 + Math.floor(fixed() * 900);
  return { portalId, appId, credentials, firstId };
}
