import type { ContractBackend, ContractResponse } from './enrichment-provider.js';

/** One request a {@link CannedFetch} saw, canned or passed through. */
export interface CannedCall {
  /** HTTP method. */
  readonly method: string;
  /** URL path, without the query. */
  readonly path: string;
  /** The body as text; `undefined` for GET. */
  readonly body: string | undefined;
  /** The request's headers. */
  readonly headers: Headers;
}

/** Options of {@link cannedFetch}. */
export interface CannedFetchOptions {
  /**
   * How many requests one `respondWith(status, response, times)` answers. Default: `times`. ZoomInfo's adapter
   * signs in again once after a 401, so its suite answers `max(times, 2)` for a 401.
   */
  readonly cannedTimes?: (status: number, times: number) => number;
  /** Which requests `backend.requestCount()` counts. Default: every one (e.g. leave out sign-in calls). */
  readonly counts?: (call: CannedCall) => boolean;
  /** The content type given to a canned JSON body without one. Default `application/json`. */
  readonly jsonContentType?: string;
}

/**
 * A `fetch` an adapter under test is given: it answers the next requests with canned responses (the contract
 * suite's `respondWith`), passes every other request to the global `fetch` (an emulator over real HTTP), and
 * records every request.
 */
export interface CannedFetch {
  /** Pass as the adapter's or provider's `fetch`. */
  readonly fetch: typeof globalThis.fetch;
  /** The contract suite's view of it. */
  readonly backend: ContractBackend;
  /** Every request made, canned answers included. */
  readonly calls: CannedCall[];
}

/**
 * The `Response` for one canned answer: a string body as is, any other body as JSON (with a JSON content type
 * unless the answer names one), no body for 204 and 304.
 */
export function cannedResponse(
  status: number,
  response: ContractResponse | undefined,
  jsonContentType = 'application/json',
): Response {
  const headers = new Headers(response?.headers);
  const body = response?.body;
  let text: string | null = null;
  if (typeof body === 'string') text = body;
  else if (body !== undefined) {
    text = JSON.stringify(body);
    if (!headers.has('content-type')) headers.set('content-type', jsonContentType);
  }
  return new Response(status === 204 || status === 304 ? null : text, { status, headers });
}

/**
 * Build a {@link CannedFetch} in front of the global `fetch`.
 *
 * @example
 * ```ts
 * import { cannedFetch } from '@leadpipe/testkit';
 *
 * const canned = cannedFetch();
 * canned.backend.respondWith(429, { headers: { 'retry-after': '1' } });
 * const first = await canned.fetch('http://127.0.0.1:9/never-reached');
 * console.log(first.status, canned.calls.length); // 429 1
 * ```
 */
export function cannedFetch(options: CannedFetchOptions = {}): CannedFetch {
  const queue: { status: number; response: ContractResponse | undefined }[] = [];
  const calls: CannedCall[] = [];
  const counts = options.counts ?? (() => true);
  const fetchImpl: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = request.method === 'GET' ? undefined : await request.clone().text();
    calls.push({
      method: request.method,
      path: new URL(request.url).pathname,
      body,
      headers: request.headers,
    });
    const canned = queue.shift();
    if (canned !== undefined) return cannedResponse(canned.status, canned.response, options.jsonContentType);
    return globalThis.fetch(request);
  };
  return {
    fetch: fetchImpl,
    calls,
    backend: {
      respondWith: (status, response, times = 1) => {
        const count = options.cannedTimes?.(status, times) ?? times;
        for (let index = 0; index < count; index++) queue.push({ status, response });
      },
      requestCount: () => calls.filter(counts).length,
      reset: () => {
        queue.length = 0;
      },
    },
  };
}
