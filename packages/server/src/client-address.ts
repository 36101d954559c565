import { BlockList, isIP } from 'node:net';
import type { Context } from 'hono';

/**
 * Which proxies in front of the server are trusted to say who the client is
 * in `X-Forwarded-For`:
 *
 * - `false` (the default): none. The client is the socket's peer and the
 *   header is ignored, whatever it says.
 * - a number `n` (`true` is 1): exactly `n` proxies stand in front and every
 *   request comes through them; each appends the address it saw, so the client
 *   is the `n`-th address from the right of the header. Only safe when the
 *   server cannot be reached but through those proxies.
 * - a list of addresses and CIDR networks (`10.0.0.0/8`, `::1`, or the names
 *   `loopback` and `private`): the proxies themselves. Starting from the
 *   socket's peer, each trusted hop hands over to the address it appended;
 *   the first untrusted address is the client.
 *
 * The leftmost address of the header is never taken on its own: any client can
 * write one there, and the proxies append theirs after it.
 */
export type TrustProxy = boolean | number | readonly string[];

const NAMED_NETWORKS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Why `entry` is not an address, a CIDR network or a network name; undefined when it is one. */
export function networkIssue(entry: string): string | undefined {
  if (NAMED_NETWORKS[entry] !== undefined) return undefined;
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0)
    return `"${entry}" is not an IP address, a CIDR network or one of loopback, private`;
  if (bits === undefined) return undefined;
  const most = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > most)
    return `"${entry}" has a prefix length outside 0-${most}`;
  return undefined;
}

/** A `BlockList` of addresses, CIDR networks and network names (checked with {@link networkIssue} first). */
export function networkList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries.flatMap((item) => NAMED_NETWORKS[item] ?? [item])) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** `address` without an IPv4-mapped IPv6 prefix (`::ffff:192.0.2.1` is `192.0.2.1`). */
function unmapped(address: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
}

/** Whether `address` is in `list`; false for anything that is not an IP address. */
export function inNetworks(list: BlockList, address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  if (family === 0) return false;
  return list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

/** One `X-Forwarded-For` entry as an address (brackets and an IPv4 port taken off), or undefined. */
function forwardedAddress(entry: string): string | undefined {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed !== null) text = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  return isIP(text) === 0 ? undefined : unmapped(text);
}

/** The socket peer's address, on `@hono/node-server`; `unknown` elsewhere (such as `app.request` in tests). */
function socketAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  const address = incoming?.socket?.remoteAddress;
  return address === undefined ? 'unknown' : unmapped(address);
}

/** The addresses of `X-Forwarded-For`, nearest hop first; stops at the first entry that is not an address. */
function forwardedHops(c: Context): string[] {
  const header = c.req.header('x-forwarded-for');
  if (header === undefined) return [];
  const hops: string[] = [];
  for (const entry of header.split(',').reverse()) {
    const address = forwardedAddress(entry);
    if (address === undefined) break;
    hops.push(address);
  }
  return hops;
}

/** How the server finds a request's client address, by {@link TrustProxy}. */
export function clientAddressResolver(trust: TrustProxy): (c: Context) => string {
  if (trust === false || trust === 0) return socketAddress;
  if (typeof trust === 'boolean' || typeof trust === 'number') {
    const hops = trust === true ? 1 : trust;
    return (c) => {
      const forwarded = forwardedHops(c);
      if (forwarded.length === 0) return socketAddress(c);
      // Fewer hops than proxies: the furthest one known.
      return forwarded[Math.min(hops, forwarded.length) - 1]!;
    };
  }
  const proxies = networkList(trust);
  return (c) => {
    let client = socketAddress(c);
    if (!inNetworks(proxies, client)) return client;
    for (const hop of forwardedHops(c)) {
      client = hop;
      if (!inNetworks(proxies, hop)) return hop;
    }
    return client;
  };
}

/** The 8 hextets of an IPv6 address, or undefined. */
function hextets(address: string): number[] | undefined {
  let text = address.split('%')[0]!;
  const embedded = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (embedded !== null) {
    const [a, b, c, d] = embedded.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, embedded.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const middle = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  const all = [...left, ...middle, ...right].map((part) => Number.parseInt(part, 16));
  return all.length === 8 && all.every((part) => part >= 0 && part <= 0xffff) ? all : undefined;
}

/**
 * What a per-address limit counts: an IPv4 address as it is, an IPv6 address
 * by its /64 network (one subscriber usually holds a whole /64, so counting
 * single addresses would give one client billions of budgets).
 */
export function rateLimitSubject(address: string): string {
  const plain = unmapped(address);
  if (isIP(plain) !== 6) return plain;
  const parts = hextets(plain);
  if (parts === undefined) return plain;
  return `${parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}
