import { Logger } from '@nestjs/common';
import { DatabaseError, type Pool } from 'pg';
import type { TenantRecord } from '../control-plane/tenant-record';
import { ScopedStatement, type StatementSettings } from './scoped-statement';
import { TenantConnectionLimiter } from './tenant-connection-limiter';
import { OperationTransaction } from './operation-transaction';
import { TenantContext } from './tenant-context';
import { TenantScopedPool } from './tenant-scoped-pool';

const refusal = () => Object.assign(new Error('permission denied to set role "acme_role"'), { code: '42501' });

type Answer = Error | { command: string; rows: unknown[] };

// A pooled connection whose role settings are refused `refusals` times, as a backend with a stale view is. A
// ScopedStatement is recorded as `[role] statement` and answered through its callback, as pg does; `answers` replaces
// the answer of the statements after the refusals.
function fakeConnection(name: string, refusals: number, answers: Answer[] = []) {
  const sent: string[] = [];
  const settings: StatementSettings[] = [];
  const released: (Error | undefined)[] = [];
  let refused = 0;
  const refuses = () => refused < refusals && ++refused > 0;
  const client = {
    name,
    sent,
    settings,
    released,
    query: jest.fn((config: string | { text: string }) => {
      if (config instanceof ScopedStatement) {
        sent.push(`[${config.settings.values[0]}] ${config.statement.text}`);
        settings.push(config.settings);
        const answer = refuses() ? refusal() : (answers.shift() ?? { command: 'SELECT', rows: [] });
        (config as unknown as { callback(error: Error | null, result?: unknown): void }).callback(answer instanceof Error ? answer : null, answer);
        return config;
      }
      const text = typeof config === 'string' ? config : config.text;
      sent.push(text);
      if (text.startsWith('BEGIN') && refuses()) return Promise.reject(refusal());
      return Promise.resolve({ command: 'SELECT', rows: [{ pid: 1, usable: false, granted: true }] });
    }),
    on: jest.fn(),
    removeListener: jest.fn(),
    release: jest.fn((error?: Error) => void released.push(error)),
  };
  return client;
}

function scopedPoolOver(connections: ReturnType<typeof fakeConnection>[], timeoutMs?: number) {
  const queue = [...connections];
  const shared = { connect: jest.fn(async () => queue.shift()) } as unknown as Pool;
  const limiter = new TenantConnectionLimiter({ maxPerTenant: 2, maxPerHeavyTenant: 1 });
  const pool = new TenantScopedPool(shared, { tenantId: 'acme', role: 'acme_role', schema: 'tenant_acme', statementTimeoutMs: () => timeoutMs }, limiter);
  return { pool, limiter };
}

describe('TenantScopedPool', () => {
  it("sends a statement with its role, search_path and plan timeout in one round trip, and a query's in its shared read-only transaction", async () => {
    const connection = fakeConnection('only', 0);
    const { pool } = scopedPoolOver([connection, connection], 2_500);
    await pool.query({ text: 'SELECT 1' });
    expect(connection.sent).toEqual(['[acme_role] SELECT 1']);
    expect(connection.settings[0].values).toEqual(['acme_role', '"tenant_acme"', '2500']);
    expect(connection.settings[0].text).toContain("set_config('statement_timeout', $3, true)");

    const operationTransaction = new OperationTransaction();
    await TenantContext.run({ requestId: 'r', tenant: {} as TenantRecord, operationTransaction }, async () => {
      await pool.query('SELECT 2', []);
      await pool.query('SELECT 3', []);
    });
    await operationTransaction.end();
    expect(connection.sent.slice(1)).toEqual([expect.stringMatching(/^BEGIN READ ONLY; SET LOCAL ROLE "acme_role"; SET LOCAL search_path TO "tenant_acme"; SET LOCAL statement_timeout = 2500$/), 'SELECT 2', 'SELECT 3', 'COMMIT']);
  });

  it("keeps the connection after PostgreSQL refuses a statement, and closes it when the connection broke", async () => {
    const rejected = Object.assign(new DatabaseError('duplicate key value', 0, 'error'), { code: '23505' });
    const broken = new Error('Connection terminated unexpectedly');
    const connection = fakeConnection('only', 0, [rejected, broken]);
    const { pool, limiter } = scopedPoolOver([connection, connection]);
    await expect(pool.query('INSERT 1')).rejects.toBe(rejected);
    await expect(pool.query('INSERT 2')).rejects.toBe(broken);
    expect(connection.released).toEqual([undefined, broken]);
    expect(limiter.held('acme')).toBe(0);
  });
});

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

  it('surfaces a refused opening that the second connection repeats, holding nothing', async () => {
    const first = fakeConnection('first', Infinity);
    const second = fakeConnection('second', Infinity);
    const { pool, limiter } = scopedPoolOver([first, second]);

    await expect(pool.begin(false)).rejects.toMatchObject({ code: '42501' });
    expect(first.released).toHaveLength(1);
    expect(second.released).toHaveLength(1);
    expect(limiter.held('acme')).toBe(0);
  });

  it('closes the refused connection and sends the statement once more on another one', async () => {
    const stale = fakeConnection('stale', Infinity);
    const fresh = fakeConnection('fresh', 0, [{ command: 'SELECT', rows: [{ one: 1 }] }]);
    const { pool, limiter } = scopedPoolOver([stale, fresh]);

    await expect(pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    expect(stale.released).toEqual([expect.objectContaining({ code: '42501' })]);
    expect(stale.sent).toEqual(['[acme_role] SELECT 1 AS one', expect.stringContaining('pg_has_role')]);
    expect(fresh.sent).toEqual(['[acme_role] SELECT 1 AS one']);
    expect(fresh.released).toEqual([undefined]);
    expect(limiter.held('acme')).toBe(0);
  });

  it('surfaces a refusal that the second connection repeats, holding nothing', async () => {
    const first = fakeConnection('first', Infinity);
    const second = fakeConnection('second', Infinity);
    const { pool, limiter } = scopedPoolOver([first, second]);

    await expect(pool.userAuthState('00000000-0000-0000-0000-000000000001')).rejects.toMatchObject({ code: '42501' });
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
