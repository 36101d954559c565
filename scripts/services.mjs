// Probes the local services the integration suite needs. Used by scripts/test.mjs and .ci/run.
import net from 'node:net';

/** Resolves true when a TCP connection to the URL's host and port opens within the timeout. */
export function probe(url, timeoutMs = 1500) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const defaults = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
};
