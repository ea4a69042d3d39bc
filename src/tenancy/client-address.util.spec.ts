import type { IncomingMessage } from 'node:http';
import { addressKey, clientAddress } from './client-address.util';

const request = (peer: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  it('is the socket peer unless proxies are trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddress(request('10.0.0.1', '203.0.113.9'), 0)).toBe('10.0.0.1');
  });

  it('believes one X-Forwarded-For entry per trusted proxy, from the right', () => {
    const req = request('10.0.0.1', '198.51.100.7, 203.0.113.9, 192.0.2.1');
    expect(clientAddress(req, 1)).toBe('192.0.2.1');
    expect(clientAddress(req, 2)).toBe('203.0.113.9');
    expect(clientAddress(req, 3)).toBe('198.51.100.7');
    // More trusted hops than entries: the furthest entry, as Express gives it.
    expect(clientAddress(req, 5)).toBe('198.51.100.7');
  });

  it('is the peer when a trusted proxy sent no X-Forwarded-For, and skips empty entries', () => {
    expect(clientAddress(request('10.0.0.1'), 1)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1', '192.0.2.1,, '), 1)).toBe('192.0.2.1');
    expect(clientAddress(request('10.0.0.1', ' '), 1)).toBe('10.0.0.1');
  });
});

describe('addressKey', () => {
  it('keys IPv4 on the address, also when IPv4-mapped', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::FFFF:192.0.2.1')).toBe('192.0.2.1');
  });

  it('keys IPv6 on its /64, however it is written', () => {
    const key = '2001:db8:0:1::/64';
    expect(addressKey('2001:db8:0:1::1')).toBe(key);
    expect(addressKey('2001:0db8:0000:0001:ffff:ffff:ffff:ffff')).toBe(key);
    expect(addressKey('2001:DB8:0:1:a::b')).toBe(key);
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('2001:db8:0:2::1')).not.toBe(key);
  });

  it('keeps anything else (a forwarded value that is no address) as at most 64 characters', () => {
    expect(addressKey('unknown')).toBe('unknown');
    expect(addressKey('x'.repeat(100))).toHaveLength(64);
  });
});
