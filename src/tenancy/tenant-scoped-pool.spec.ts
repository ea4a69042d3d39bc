import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { TenantConnectionLimiter } from './tenant-connection-limiter';
import { TenantScopedPool } from './tenant-scoped-pool';

const refusal = () => Object.assign(new Error('permission denied to set role "acme_role"'), { code: '42501' });

// A pooled connection whose transaction openings are refused `refusals` times, as a backend with a stale view is.
function fakeConnection(name: string, refusals: number) {
  const sent: string[] = [];
  const released: (Error | undefined)[] = [];
  let refused = 0;
  const client = {
    name,
    sent,
    released,
    query: jest.fn(async (config: string | { text: string }) => {
      const text = typeof config === 'string' ? config : config.text;
      sent.push(text);
      if (text.startsWith('BEGIN') && refused < refusals) {
        refused++;
        throw refusal();
      }
      return { command: 'SELECT', rows: [{ pid: 1, usable: false, granted: true }] };
    }),
    on: jest.fn(),
    removeListener: jest.fn(),
    release: jest.fn((error?: Error) => void released.push(error)),
  };
  return client;
}

function scopedPoolOver(connections: ReturnType<typeof fakeConnection>[]) {
  const queue = [...connections];
  const shared = { connect: jest.fn(async () => queue.shift()) } as unknown as Pool;
  const limiter = new TenantConnectionLimiter({ maxPerTenant: 2, maxPerHeavyTenant: 1 });
  const pool = new TenantScopedPool(shared, { tenantId: 'acme', role: 'acme_role', schema: 'tenant_acme', statementTimeoutMs: () => undefined }, limiter);
  return { pool, limiter };
}

describe('TenantScopedPool when SET LOCAL ROLE is refused', () => {
  beforeAll(() => jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('closes the refused connection and opens the transaction once more on another one', async () => {
    const stale = fakeConnection('stale', Infinity);
    const fresh = fakeConnection('fresh', 0);
    const { pool, limiter } = scopedPoolOver([stale, fresh]);

    const connection = await pool.begin(true);
    expect(connection.client).toBe(fresh);
    expect(stale.released).toEqual([expect.objectContaining({ code: '42501' })]);
    expect(stale.sent.slice(1)).toEqual(['ROLLBACK', expect.stringContaining('pg_has_role')]);
    expect(fresh.sent).toEqual([expect.stringMatching(/^BEGIN READ ONLY; SET LOCAL ROLE "acme_role"/)]);
    expect(limiter.held('acme')).toBe(1);
    connection.done();
    expect(limiter.held('acme')).toBe(0);
  });

  it('surfaces a refusal that the second connection repeats, holding nothing', async () => {
    const first = fakeConnection('first', Infinity);
    const second = fakeConnection('second', Infinity);
    const { pool, limiter } = scopedPoolOver([first, second]);

    await expect(pool.begin(false)).rejects.toMatchObject({ code: '42501' });
    expect(first.released).toHaveLength(1);
    expect(second.released).toHaveLength(1);
    expect(limiter.held('acme')).toBe(0);
  });

  it("moves a Prisma transaction's opening, its later statements and its listeners to the other connection", async () => {
    const stale = fakeConnection('stale', Infinity);
    const fresh = fakeConnection('fresh', 0);
    const { pool } = scopedPoolOver([stale, fresh]);
    const listener = () => undefined;

    const tx = await pool.connect();
    tx.on('error', listener);
    await tx.query('BEGIN');
    await tx.query({ text: 'SELECT 1' });
    await tx.query('COMMIT');
    tx.release();

    expect(stale.released).toEqual([expect.objectContaining({ code: '42501' })]);
    expect(stale.removeListener).toHaveBeenCalledWith('error', listener);
    expect(fresh.on).toHaveBeenCalledWith('error', listener);
    expect(fresh.sent).toEqual([expect.stringMatching(/^BEGIN; SET LOCAL ROLE/), 'SELECT 1', 'COMMIT']);
    expect(fresh.released).toEqual([undefined]);
  });
});
