import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

/** A running HTTP server for an app, on 127.0.0.1 and a free port. */
export interface Served {
  readonly baseUrl: string;
  close(): Promise<void>;
}

/** Serve `app` on 127.0.0.1:0 and resolve once it listens. */
export function serveApp(app: Hono): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => {
      resolve({
        baseUrl: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
          }),
      });
    });
  });
}

/** A response, read. */
export interface ApiReply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Readonly<Record<string, unknown>>;
}

/** A small fetch wrapper: JSON in, JSON out, with a bearer token. */
export function apiClient(baseUrl: string, token: string | undefined) {
  return async (method: string, path: string, body?: unknown): Promise<ApiReply> => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text.length > 0 ? JSON.parse(text) : undefined,
    };
  };
}

/** A manually advanced real clock for `createEmulatorContext({ realNow })`. */
export function manualClock(start = Date.UTC(2026, 10, 25, 12, 0, 0)) {
  let now = start;
  return {
    realNow: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}
