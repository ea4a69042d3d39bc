import { EventEmitter } from 'node:events';
import type { PoolClient } from 'pg';
import { AffinityPool, MAX_OVERTAKEN } from './affinity-pool';

// A stand-in for pg.Client with what pg-pool touches: connections open at once and never fail.
class FakeClient extends EventEmitter {
  _queryable = true;
  _ending = false;
  connect(callback: (error?: Error) => void): void {
    setImmediate(() => callback());
  }
  end(callback?: () => void): void {
    this._ending = true;
    setImmediate(() => {
      this.emit('end');
      callback?.();
    });
  }
}

const MAX = 4;
const newPool = () => new AffinityPool({ max: MAX, Client: FakeClient as never, idleTimeoutMillis: 0 });

/** The `nth` key (from 0) whose home is `slot`, found by trying names: the 0th opens the slot's connection. */
function keyHomedAt(pool: AffinityPool, slot: number, nth = 0): string {
  for (let i = 0, found = 0; ; i++) if (pool.homeOf(`t${i}`) === slot && found++ === nth) return `t${i}`;
}

/** A pool with all MAX connections open (slots 0 … MAX-1) and idle, each opened for a key homed at its slot. */
async function fullIdlePool(): Promise<{ pool: AffinityPool; bySlot: PoolClient[] }> {
  const pool = newPool();
  const clients = await Promise.all(Array.from({ length: MAX }, (_, slot) => pool.connectFor(keyHomedAt(pool, slot))));
  const bySlot: PoolClient[] = [];
  for (const client of clients) bySlot[pool.slotOf(client)!] = client;
  for (const client of clients) client.release();
  return { pool, bySlot };
}

describe('AffinityPool', () => {
  it('gives each new connection the home slot of the key it opens for, and counts that as home', async () => {
    const { pool, bySlot } = await fullIdlePool();
    expect(bySlot.map((client) => pool.slotOf(client))).toEqual([0, 1, 2, 3]);
    expect(pool.stats).toEqual({ home: MAX, warm: 0, cold: 0 });
    await pool.end();
  });

  it("hands a key its idle home connection rather than the most recently released one", async () => {
    const { pool, bySlot } = await fullIdlePool();
    for (const slot of [2, 0, 3, 1]) {
      const client = await pool.connectFor(keyHomedAt(pool, slot, 1));
      expect(client).toBe(bySlot[slot]);
      client.release();
    }
    await pool.end();
  });

  it('prefers an idle connection that served the key before over one that did not, when its home is busy', async () => {
    const { pool, bySlot } = await fullIdlePool();
    const key = keyHomedAt(pool, 0, 1);
    const home = await pool.connectFor(key);
    expect(home).toBe(bySlot[0]);
    const warm = await pool.connectFor(key); // home held: a connection new to the key
    expect(pool.stats.cold).toBe(1);
    warm.release();
    // Make another connection the most recently released, the one pg-pool itself would hand out next.
    const [first, second] = [await pool.connect(), await pool.connect()];
    expect(first).toBe(warm);
    first.release();
    second.release();
    const again = await pool.connectFor(key);
    expect(again).toBe(warm);
    expect(pool.stats.warm).toBe(1);
    again.release();
    home.release();
    await pool.end();
  });

  /** Holds every connection; returns them by slot. */
  const holdAll = (pool: AffinityPool) => Promise.all([0, 1, 2, 3].map((slot) => pool.connectFor(keyHomedAt(pool, slot))));
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('gives a freed connection to a waiter it is home to ahead of the queue, then serves the head', async () => {
    const { pool, bySlot } = await fullIdlePool();
    const held = await holdAll(pool);
    const served: string[] = [];
    const waitA = pool.connectFor(keyHomedAt(pool, 1, 1)).then((client) => (served.push('a'), client));
    const waitB = pool.connectFor(keyHomedAt(pool, 2, 1)).then((client) => (served.push('b'), client));
    held[2].release();
    await tick();
    expect(served).toEqual(['b']);
    expect(await waitB).toBe(bySlot[2]);
    held[3].release();
    await tick();
    expect(served).toEqual(['b', 'a']);
    for (const client of [await waitA, await waitB, held[0], held[1]]) client.release();
    await pool.end();
  });

  it(`lets no waiter be passed over more than ${MAX_OVERTAKEN} times`, async () => {
    const { pool } = await fullIdlePool();
    const held = await holdAll(pool);
    // At the head, a waiter homed at slot 0 (held throughout); behind it, waiters homed at slot 1, which keeps freeing.
    const served: string[] = [];
    const clients: PoolClient[] = [];
    const wait = (name: string, key: string) => pool.connectFor(key).then((client) => (served.push(name), clients.push(client)));
    const all = [wait('head', keyHomedAt(pool, 0, 1))];
    for (let i = 0; i < MAX_OVERTAKEN + 2; i++) all.push(wait(`w${i}`, keyHomedAt(pool, 1, 1)));
    // The connections checked out now: a connection comes back to the same waiter list many times.
    const holding = new Set<PoolClient>([held[0], held[2], held[3]]);
    const release = (client: PoolClient) => (holding.delete(client), client.release());
    held[1].release();
    for (;;) {
      await tick();
      if (served.includes('head')) break;
      release(clients.at(-1)!);
    }
    expect(served.slice(0, MAX_OVERTAKEN)).toEqual(Array.from({ length: MAX_OVERTAKEN }, (_, i) => `w${i}`));
    expect(served[MAX_OVERTAKEN]).toBe('head');
    holding.add(clients.at(-1)!);
    for (const client of [...holding]) release(client);
    await Promise.all(all);
    for (const client of clients.slice(-2)) client.release();
    await pool.end();
  });

  it('leaves plain connect() to pg-pool: the most recently released connection', async () => {
    const { pool } = await fullIdlePool();
    const [a, b] = [await pool.connect(), await pool.connect()];
    b.release();
    a.release();
    const next = await pool.connect();
    expect(next).toBe(a);
    next.release();
    expect(pool.stats).toEqual({ home: MAX, warm: 0, cold: 0 });
    await pool.end();
  });
});
