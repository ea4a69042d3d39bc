import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * The client's address as Express's `req.ip` gives it with `trust proxy` set to `trustProxyHops` (a hop count): the
 * socket's peer, then X-Forwarded-For from the right, believing one entry per trusted proxy. Computed from the raw
 * request, since node:http answers some requests before Express sees them.
 */
export function clientAddress(req: IncomingMessage, trustProxyHops: number): string {
  const peer = req.socket.remoteAddress ?? '';
  if (trustProxyHops === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return peer;
  // Empty entries are skipped, as Express does.
  const forwarded = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  // [peer, last forwarded, …, first forwarded]: the entry `hops` steps from the peer, or the furthest there is.
  const index = Math.min(trustProxyHops, forwarded.length);
  return index === 0 ? peer : forwarded[forwarded.length - index];
}

/**
 * What a per-address budget keys on: an IPv4 address (also when written IPv4-mapped, `::ffff:a.b.c.d`), or the /64
 * of an IPv6 address — one host is usually given a whole /64, so keying on the full address would hand it 2^64 budgets.
 */
export function addressKey(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1];
  if (!isIPv6(lower)) return lower.slice(0, 64);
  const [head, tail = ''] = lower.split('%')[0].split('::');
  const left = head === '' ? [] : head.split(':');
  const right = lower.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = lower.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
