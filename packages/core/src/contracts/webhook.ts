/**
 * An inbound HTTP request, framework-agnostic. Hosts build it from whatever
 * server they run (Express, Fastify, Hono, a Lambda event). `rawBody` must be
 * the exact bytes received: signatures are computed over them.
 */
export interface InboundWebhookRequest {
  /** HTTP method, upper case. */
  readonly method: string;
  /** Full request URL, or at least its path and query. */
  readonly url: string;
  /** Request headers; names are matched case-insensitively. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>> | Headers;
  /** The raw request body, exactly as received. */
  readonly rawBody: string | Uint8Array;
}

/** What the host should answer the vendor with. */
export interface WebhookResponse {
  /** HTTP status to answer with. */
  readonly status: number;
  /** Response headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Response body. */
  readonly body?: string;
}
