import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig } from '../config/config';
import { UnknownTenantBudget } from './unknown-tenant-budget';

interface Call {
  outcome: string;
  /** 'answered' once write ran, 'refused N' once refuse ran with Retry-After N. */
  sent?: string;
  res: ServerResponse & { socket: { destroyed: boolean }; headers: Record<string, string> };
}

function budgetOf(env: Record<string, string>): { send: (from: string, forwardedFor?: string) => Call; budget: UnknownTenantBudget } {
  const budget = new UnknownTenantBudget(loadConfig({ NODE_ENV: 'test', ...env }));
  const send = (from: string, forwardedFor?: string): Call => {
    const req = { socket: { remoteAddress: from }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} } as unknown as IncomingMessage;
    const headers: Record<string, string> = {};
    const res = { destroyed: false, socket: { destroyed: false }, headers, setHeader: (name: string, value: string) => (headers[name] = value) } as unknown as Call['res'];
    const call: Call = { outcome: '', res };
    call.outcome = budget.answer(
      req,
      res,
      () => (call.sent = 'answered'),
      (seconds) => (call.sent = `refused ${seconds}`),
    );
    return call;
  };
  return { send, budget };
}

describe('UnknownTenantBudget', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('answers an address its burst at once, then holds its answers and sends them as its bucket refills, in order', () => {
    const { send, budget } = budgetOf({ UNKNOWN_TENANT_RATE: '10', UNKNOWN_TENANT_BURST: '2' });
    const calls = Array.from({ length: 5 }, () => send('192.0.2.1'));
    expect(calls.map((c) => c.outcome)).toEqual(['answered', 'answered', 'held', 'held', 'held']);
    expect(calls.map((c) => c.sent)).toEqual(['answered', 'answered', undefined, undefined, undefined]);
    expect(budget.held).toBe(3);
    jest.advanceTimersByTime(100);
    expect(calls.map((c) => c.sent)).toEqual(['answered', 'answered', 'answered', undefined, undefined]);
    jest.advanceTimersByTime(200);
    expect(calls.map((c) => c.sent)).toEqual(['answered', 'answered', 'answered', 'answered', 'answered']);
    expect(budget.held).toBe(0);
    expect(budget.stats).toEqual({ delayed: 3, refused: 0 });
  });

  it('refuses past the held answers an address may have, telling it when it has budget again', () => {
    const { send, budget } = budgetOf({ UNKNOWN_TENANT_RATE: '2', UNKNOWN_TENANT_BURST: '1', UNKNOWN_TENANT_MAX_HELD: '3' });
    const calls = Array.from({ length: 6 }, () => send('192.0.2.1'));
    expect(calls.map((c) => c.outcome)).toEqual(['answered', 'held', 'held', 'held', 'refused', 'refused']);
    // Three held at 2/s: two seconds.
    expect(calls[4].sent).toBe('refused 2');
    expect(budget.stats).toEqual({ delayed: 3, refused: 2 });
  });

  it('refuses past the held answers of all addresses together', () => {
    const { send } = budgetOf({ UNKNOWN_TENANT_RATE: '1', UNKNOWN_TENANT_BURST: '1', UNKNOWN_TENANT_MAX_HELD: '5', UNKNOWN_TENANT_MAX_HELD_TOTAL: '2' });
    const outcomes = ['192.0.2.1', '192.0.2.1', '192.0.2.2', '192.0.2.2', '192.0.2.3', '192.0.2.3'].map((from) => send(from).outcome);
    expect(outcomes).toEqual(['answered', 'held', 'answered', 'held', 'answered', 'refused']);
  });

  it('keeps one budget per address: another address is answered at once while the first is held', () => {
    const { send } = budgetOf({ UNKNOWN_TENANT_RATE: '1', UNKNOWN_TENANT_BURST: '1' });
    expect([send('192.0.2.1').outcome, send('192.0.2.1').outcome]).toEqual(['answered', 'held']);
    expect(send('192.0.2.2').outcome).toBe('answered');
    // One host's IPv6 /64 is one address; IPv4-mapped is the IPv4 address.
    expect([send('2001:db8::1').outcome, send('2001:db8::2').outcome, send('::ffff:192.0.2.2').outcome]).toEqual(['answered', 'held', 'held']);
  });

  it('keys on the forwarded client behind TRUST_PROXY, and on the peer without it', () => {
    const proxied = budgetOf({ UNKNOWN_TENANT_RATE: '1', UNKNOWN_TENANT_BURST: '1', TRUST_PROXY: '1' });
    expect(proxied.send('10.0.0.1', '198.51.100.1').outcome).toBe('answered');
    expect(proxied.send('10.0.0.1', '198.51.100.2').outcome).toBe('answered');
    // A forged entry on the left does not make a new client.
    expect(proxied.send('10.0.0.1', '203.0.113.7, 198.51.100.1').outcome).toBe('held');
    const direct = budgetOf({ UNKNOWN_TENANT_RATE: '1', UNKNOWN_TENANT_BURST: '1' });
    expect(direct.send('10.0.0.1', '198.51.100.1').outcome).toBe('answered');
    expect(direct.send('10.0.0.1', '198.51.100.2').outcome).toBe('held');
  });

  it('spends no token on a client that hung up while held', () => {
    const { send } = budgetOf({ UNKNOWN_TENANT_RATE: '10', UNKNOWN_TENANT_BURST: '1' });
    send('192.0.2.1');
    const gone = send('192.0.2.1');
    const waiting = send('192.0.2.1');
    gone.res.socket.destroyed = true;
    jest.advanceTimersByTime(100);
    expect([gone.sent, waiting.sent]).toEqual([undefined, 'answered']);
  });

  it('sends every held answer with Connection: close on close, and holds nothing after', () => {
    const { send, budget } = budgetOf({ UNKNOWN_TENANT_RATE: '0.01', UNKNOWN_TENANT_BURST: '1' });
    send('192.0.2.1');
    const held = [send('192.0.2.1'), send('192.0.2.2'), send('192.0.2.2')];
    expect(held.map((c) => c.outcome)).toEqual(['held', 'answered', 'held']);
    budget.close();
    expect(held.map((c) => [c.sent, c.res.headers.connection])).toEqual([
      ['answered', 'close'],
      ['answered', undefined],
      ['answered', 'close'],
    ]);
    expect(budget.held).toBe(0);
    expect(send('192.0.2.1').outcome).toBe('answered');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('answers everything at once when UNKNOWN_TENANT_RATE is 0', () => {
    const { send } = budgetOf({ UNKNOWN_TENANT_RATE: '0', UNKNOWN_TENANT_BURST: '1' });
    expect(Array.from({ length: 50 }, () => send('192.0.2.1').outcome)).toEqual(Array(50).fill('answered'));
  });

  it('forgets an address once its bucket has refilled', () => {
    const { send } = budgetOf({ UNKNOWN_TENANT_RATE: '1', UNKNOWN_TENANT_BURST: '1' });
    send('192.0.2.1');
    jest.advanceTimersByTime(10_000);
    // The sweep ran and found the bucket full; with nothing remembered it stops.
    expect(jest.getTimerCount()).toBe(0);
    expect(send('192.0.2.1').outcome).toBe('answered');
  });
});
