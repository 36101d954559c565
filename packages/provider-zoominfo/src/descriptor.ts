import {
  type EnrichmentProviderDescriptor,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import type { ZoomInfoApi } from './zoominfo-limits.js';
import { createZoomInfo, type ZoomInfoProvider, type ZoomInfoProviderSettings } from './zoominfo-provider.js';

const has = (env: VendorEnvironment, name: string) => readVendorVariable(env, name) !== undefined;

/** The API the environment chooses: `ZOOMINFO_API`, else legacy when `ZOOMINFO_USERNAME` is set, else GTM. */
function apiOf(env: VendorEnvironment): ZoomInfoApi {
  const chosen = readVendorVariable(env, 'ZOOMINFO_API');
  if (chosen === 'gtm' || chosen === 'legacy') return chosen;
  return has(env, 'ZOOMINFO_USERNAME') ? 'legacy' : 'gtm';
}

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  if (apiOf(env) === 'gtm') {
    return has(env, 'ZOOMINFO_CLIENT_ID') && has(env, 'ZOOMINFO_CLIENT_SECRET')
      ? []
      : [
          {
            option: 'clientId and clientSecret',
            variables:
              'ZOOMINFO_CLIENT_ID and ZOOMINFO_CLIENT_SECRET (GTM API), or ZOOMINFO_USERNAME and ZOOMINFO_PASSWORD (legacy API)',
          },
        ];
  }
  const signedIn =
    has(env, 'ZOOMINFO_USERNAME') &&
    (has(env, 'ZOOMINFO_PASSWORD') ||
      (has(env, 'ZOOMINFO_PKI_CLIENT_ID') && has(env, 'ZOOMINFO_PRIVATE_KEY')));
  return signedIn
    ? []
    : [
        {
          option: 'username and password',
          variables:
            'ZOOMINFO_USERNAME and ZOOMINFO_PASSWORD, or ZOOMINFO_USERNAME, ZOOMINFO_PKI_CLIENT_ID and ZOOMINFO_PRIVATE_KEY',
        },
      ];
}

/**
 * ZoomInfo as a plug-in: `zoominfo`, an enrichment provider built by
 * {@link createZoomInfo}. The GTM API signs in with `ZOOMINFO_CLIENT_ID` and
 * `ZOOMINFO_CLIENT_SECRET` (client credentials, or the refresh-token flow
 * with `ZOOMINFO_REFRESH_TOKEN`); the legacy API with `ZOOMINFO_USERNAME` and
 * `ZOOMINFO_PASSWORD` (or a PKI key: `ZOOMINFO_PKI_CLIENT_ID` and
 * `ZOOMINFO_PRIVATE_KEY`). `ZOOMINFO_API` picks the API.
 *
 * @example
 * ```ts
 * const zoominfo = zoominfoDescriptor.fromEnv(process.env);
 * ```
 */
export const zoominfoDescriptor: EnrichmentProviderDescriptor<ZoomInfoProvider, ZoomInfoProviderSettings> = {
  specificationVersion: 'v1',
  id: 'zoominfo',
  kind: 'enrichment',
  displayName: 'ZoomInfo',
  environment: [
    { name: 'ZOOMINFO_API', option: 'api', secret: false, description: 'ZoomInfo API: gtm or legacy' },
    {
      name: 'ZOOMINFO_CLIENT_ID',
      option: 'clientId',
      secret: false,
      description: 'ZoomInfo GTM app client id',
    },
    {
      name: 'ZOOMINFO_CLIENT_SECRET',
      option: 'clientSecret',
      secret: true,
      description: 'ZoomInfo GTM app client secret',
    },
    {
      name: 'ZOOMINFO_REFRESH_TOKEN',
      option: 'refreshToken',
      secret: true,
      description: 'ZoomInfo GTM refresh token (single-use; else client credentials)',
    },
    {
      name: 'ZOOMINFO_USERNAME',
      option: 'username',
      secret: false,
      description: 'ZoomInfo legacy API username',
    },
    {
      name: 'ZOOMINFO_PASSWORD',
      option: 'password',
      secret: true,
      description: 'ZoomInfo legacy API password',
    },
    {
      name: 'ZOOMINFO_PKI_CLIENT_ID',
      option: 'pkiClientId',
      secret: false,
      description: 'ZoomInfo legacy API PKI client id',
    },
    {
      name: 'ZOOMINFO_PRIVATE_KEY',
      option: 'privateKey',
      secret: true,
      description: 'ZoomInfo legacy API PKI private key (PEM)',
    },
  ],
  create: (settings) => createZoomInfo(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('zoominfo', 'ZoomInfo', lacking);
    const api = apiOf(env);
    const value = (name: string, secret = false) => readVendorVariable(env, name, secret);
    const settings: Record<string, string | undefined> =
      api === 'gtm'
        ? {
            clientId: value('ZOOMINFO_CLIENT_ID'),
            clientSecret: value('ZOOMINFO_CLIENT_SECRET', true),
            refreshToken: value('ZOOMINFO_REFRESH_TOKEN', true),
          }
        : {
            username: value('ZOOMINFO_USERNAME'),
            password: value('ZOOMINFO_PASSWORD', true),
            pkiClientId: value('ZOOMINFO_PKI_CLIENT_ID'),
            privateKey: value('ZOOMINFO_PRIVATE_KEY', true),
          };
    const defined = Object.fromEntries(Object.entries(settings).filter(([, entry]) => entry !== undefined));
    return createZoomInfo({ api, ...defined });
  },
  // The names in `urls` and `credentials` are the ones the ZoomInfo emulator reports; --emulate uses the GTM API.
  emulatorSettings(emulator) {
    const limits = emulator.limits;
    return {
      api: 'gtm',
      baseUrl: emulator.urls.baseUrl,
      clientId: emulator.credentials.clientId,
      clientSecret: emulator.credentials.clientSecret,
      ...(limits && {
        rateLimits: {
          ...(limits.perSecond === undefined ? {} : { perSecond: limits.perSecond }),
          ...(limits.perMinute === undefined ? {} : { perMinute: limits.perMinute }),
          ...(limits.perHour === undefined ? {} : { perHour: limits.perHour }),
          ...(limits.perDay === undefined ? {} : { perDay: limits.perDay }),
          ...(limits.maxConcurrent === undefined ? {} : { maxConcurrent: limits.maxConcurrent }),
        },
      }),
    };
  },
};
