import { HttpResponse, http, type RequestHandler } from 'msw';
import type { VendorName } from './context.js';
import type { MswMount } from './definition.js';
import { EMULATOR_DEFINITIONS } from './vendors.js';
import { isConnectionReset, type WrappedEmulator } from './wrap.js';

export type { MswMount } from './definition.js';

/** The vendors' real hosts, routed to the emulators by default: each emulator definition's `mswMounts`. */
export const DEFAULT_MSW_MOUNTS: Readonly<Record<VendorName, readonly MswMount[]>> = Object.fromEntries(
  EMULATOR_DEFINITIONS.map((definition) => [definition.id, definition.mswMounts]),
) as Record<VendorName, readonly MswMount[]>;

/**
 * msw handlers routing each vendor's base URLs to its wrapped emulator, so
 * msw and the real server answer from the same code. An injected connection
 * reset becomes `HttpResponse.error()` (a network error for the client).
 *
 * @param emulators - wrapped emulators, as a list or keyed by vendor.
 * @param baseUrls - base URLs per vendor (a string or mounts); default {@link DEFAULT_MSW_MOUNTS}.
 */
export function toMswHandlers(
  emulators: readonly WrappedEmulator[] | Partial<Record<VendorName, WrappedEmulator>>,
  baseUrls: Partial<Record<VendorName, string | readonly (string | MswMount)[]>> = {},
): RequestHandler[] {
  const list = Array.isArray(emulators)
    ? (emulators as readonly WrappedEmulator[])
    : Object.values(emulators).filter((item): item is WrappedEmulator => item !== undefined);
  const handlers: RequestHandler[] = [];
  for (const emulator of list) {
    const given = baseUrls[emulator.vendor];
    const mounts: readonly MswMount[] =
      given === undefined
        ? DEFAULT_MSW_MOUNTS[emulator.vendor]
        : (typeof given === 'string' ? [given] : given).map((item) =>
            typeof item === 'string' ? { baseUrl: item } : item,
          );
    for (const mount of mounts) {
      const base = mount.baseUrl.replace(/\/+$/, '');
      const basePath = new URL(base.replace('*', 'wildcard')).pathname.replace(/\/+$/, '');
      handlers.push(
        http.all(`${base}/*`, async ({ request }) => {
          const url = new URL(request.url);
          url.pathname = `${mount.pathPrefix ?? ''}${url.pathname.slice(basePath.length) || '/'}`;
          const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
          const forwarded = new Request(url, {
            method: request.method,
            headers: request.headers,
            body: hasBody ? await request.arrayBuffer() : undefined,
            signal: request.signal,
          });
          const response = await emulator.fetch(forwarded);
          return isConnectionReset(response) ? HttpResponse.error() : response;
        }),
      );
    }
  }
  return handlers;
}
