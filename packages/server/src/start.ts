import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

/** A server listening on Node. */
export interface RunningServer {
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** Stop accepting connections and wait for open requests to end. */
  close(): Promise<void>;
}

/**
 * Serve an app (`createServer(...).app`) on Node with @hono/node-server.
 *
 * @param app - the app.
 * @param options - `port` (0 picks a free one) and `hostname` (default `127.0.0.1`; `0.0.0.0` for every interface).
 */
export function startServer(
  app: Hono,
  options: { readonly port: number; readonly hostname?: string },
): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port, hostname: options.hostname ?? '127.0.0.1' },
      (info: AddressInfo) => {
        server.off('error', reject);
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done, fail) => {
              server.close((error) => (error ? fail(error) : done()));
              (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
            }),
        });
      },
    );
    server.once('error', reject);
  });
}
