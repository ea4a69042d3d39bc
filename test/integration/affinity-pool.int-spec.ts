import type { PoolClient } from 'pg';
import { AffinityPool } from '../../src/database/affinity-pool';
import { newRequestPool } from '../../src/database/database-pools';
import { newDatabase, type TestDatabase } from '../factories/database';

// The request pool's affinity over real connections: pg-pool's internals as they behave with pg.Client.
describe('AffinityPool against PostgreSQL', () => {
  const MAX = 3;
  let db: TestDatabase;
  let pool: AffinityPool;

  const backendOf = async (client: PoolClient) => (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const keys = Array.from({ length: 12 }, (_, i) => `tenant_${i}`);

  beforeAll(async () => {
    db = await newDatabase();
    pool = new AffinityPool({ connectionString: db.url, max: MAX, idleTimeoutMillis: 60_000 });
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it("runs each tenant's statements on its home backend while that connection is free", async () => {
    // Open every connection: each opens for the first key homed at a slot not yet open.
    const opening = [...new Set(keys.map((key) => pool.homeOf(key)))].slice(0, MAX);
    expect(opening).toHaveLength(MAX);
    const held = await Promise.all(opening.map((slot) => pool.connectFor(keys.find((key) => pool.homeOf(key) === slot)!)));
    const backendOfSlot = new Map<number, number>();
    for (const client of held) backendOfSlot.set(pool.slotOf(client)!, await backendOf(client));
    held.forEach((client) => client.release());

    for (let round = 0; round < 3; round++) {
      for (const key of keys) {
        const client = await pool.connectFor(key);
        try {
          expect(await backendOf(client)).toBe(backendOfSlot.get(pool.homeOf(key)));
        } finally {
          client.release();
        }
      }
    }
    expect(pool.stats.warm + pool.stats.cold).toBe(0);
  });

  it('serves a burst of every tenant at once, each statement answered, and counts every connection taken', async () => {
    const before = { ...pool.stats };
    const burst = Array.from({ length: 60 }, async (_, i) => {
      const client = await pool.connectFor(keys[i % keys.length]);
      try {
        return (await client.query<{ n: number }>('SELECT $1::int AS n, pg_sleep(0.005)', [i])).rows[0].n;
      } finally {
        client.release();
      }
    });
    expect((await Promise.all(burst)).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const taken = (['home', 'warm', 'cold'] as const).reduce((sum, kind) => sum + pool.stats[kind] - before[kind], 0);
    expect(taken).toBe(60);
    expect(pool.totalCount).toBeLessThanOrEqual(MAX);
    expect(pool.waitingCount).toBe(0);
  });
});

describe('newRequestPool', () => {
  it('replaces a connection once it has lived PG_POOL_MAX_LIFETIME_SECONDS, so its backend (and catalog cache) goes', async () => {
    const db = await newDatabase();
    const pool = newRequestPool(db.url, { pgPoolMax: 2, pgPoolMaxLifetimeSeconds: 1 }, '-c max_parallel_workers_per_gather=0');
    const backend = async () => {
      const client = await pool.connectFor('acme');
      try {
        return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      } finally {
        client.release();
      }
    };
    try {
      const first = await backend();
      expect(await backend()).toBe(first);
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      expect(await backend()).not.toBe(first);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});
