/** Request or response headers in any of the shapes hosts and runtimes hand us. */
export type HeadersInput = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Read one header, matching its name case-insensitively, over a Fetch
 * `Headers` object or a plain record (as Node's `IncomingMessage.headers`,
 * where values may be arrays). Repeated values are joined with `", "`, as
 * `Headers.get` does.
 *
 * @param headers - the headers to read.
 * @param name - the header name, in any case.
 * @returns the value, or `undefined` when the header is absent.
 */
export function getHeader(headers: HeadersInput, name: string): string | undefined {
  if (isHeadersObject(headers)) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  const values: string[] = [];
  let found = false;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    found = true;
    if (typeof value === 'string') values.push(value);
    else values.push(...value);
  }
  return found ? values.join(', ') : undefined;
}

/** A Fetch `Headers`, or another implementation of it (node-fetch, another realm). */
function isHeadersObject(headers: HeadersInput): headers is Headers {
  return headers instanceof Headers || typeof (headers as { get?: unknown }).get === 'function';
}
