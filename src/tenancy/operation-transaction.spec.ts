import type { PoolClient, QueryResult } from 'pg';
import { OperationTransaction, type ScopedTransactionOpener } from './operation-transaction';

/**
 * An opener whose connections record the SQL they are sent; a statement containing FAIL is refused. Openers of the
 * same `target` open the same transaction (a tenant's client rebuilt after eviction).
 */
function recordingOpener(target: string = Math.random().toString()) {
  const log: string[] = [];
  const released: (Error | boolean | undefined)[] = [];
  const opener: ScopedTransactionOpener = {
    begin: async (readOnly, alsoRun) => {
      log.push((readOnly ? 'BEGIN READ ONLY' : 'BEGIN') + (alsoRun ? `; ${alsoRun}` : ''));
      if (alsoRun?.includes('FAIL')) throw new Error('refused');
      const client = {
        query: async (sql: string) => {
          log.push(sql);
          if (sql.includes('FAIL')) throw new Error('refused');
          return { rows: [sql] };
        },
      } as unknown as PoolClient;
      return { client, done: (error) => void released.push(error), ...(alsoRun && { ran: { rows: [alsoRun] } as unknown as QueryResult }) };
    },
    opensSameAs: (other) => (other as ScopedTransactionOpener & { target?: string }).target === target,
  };
  Object.assign(opener, { target });
  return { opener, log, released };
}

describe('OperationTransaction', () => {
  it('runs concurrent statements one after another in one read-only transaction, committed by end()', async () => {
    const { opener, log, released } = recordingOpener();
    const transaction = new OperationTransaction();
    const results = await Promise.all(['SELECT 1', 'SELECT 2', 'SELECT 3'].map((sql) => transaction.run(opener, (c) => c.query(sql))));
    expect(results.map((r) => r.rows[0])).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    expect(released).toEqual([]);
    await transaction.end();
    expect(log).toEqual(['BEGIN READ ONLY', 'SELECT 1', 'SELECT 2', 'SELECT 3', 'COMMIT']);
    expect(released).toEqual([undefined]);
    expect(transaction.joins(opener)).toBe(false);
  });

  it('rolls back after a failed statement and opens a new transaction for the next one', async () => {
    const { opener, log, released } = recordingOpener();
    const transaction = new OperationTransaction();
    const failed = transaction.run(opener, (c) => c.query('SELECT FAIL'));
    const next = transaction.run(opener, (c) => c.query('SELECT 2'));
    await expect(failed).rejects.toThrow('refused');
    await expect(next).resolves.toEqual({ rows: ['SELECT 2'] });
    await transaction.end();
    expect(log).toEqual(['BEGIN READ ONLY', 'SELECT FAIL', 'ROLLBACK', 'BEGIN READ ONLY', 'SELECT 2', 'COMMIT']);
    expect(released).toEqual([undefined, undefined]);
  });

  it("takes only the first tenant pool's statements and opens nothing when none ran", async () => {
    const first = recordingOpener();
    const second = recordingOpener();
    const transaction = new OperationTransaction();
    expect(transaction.joins(second.opener)).toBe(true);
    await transaction.run(first.opener, (c) => c.query('SELECT 1'));
    expect(transaction.joins(first.opener)).toBe(true);
    expect(transaction.joins(second.opener)).toBe(false);
    await transaction.end();

    const unused = new OperationTransaction();
    await unused.end();
    expect(first.log).toEqual(['BEGIN READ ONLY', 'SELECT 1', 'COMMIT']);
  });

  it("keeps the statements of a rebuilt client of the same tenant in the transaction it holds", async () => {
    const evicted = recordingOpener('tenant_a');
    const rebuilt = recordingOpener('tenant_a');
    const transaction = new OperationTransaction();
    await transaction.run(evicted.opener, (c) => c.query('SELECT 1'));
    expect(transaction.joins(rebuilt.opener)).toBe(true);
    await transaction.run(rebuilt.opener, (c) => c.query('SELECT 2'));
    await transaction.end();
    expect(evicted.log).toEqual(['BEGIN READ ONLY', 'SELECT 1', 'SELECT 2', 'COMMIT']);
    expect(rebuilt.log).toEqual([]);
  });

  it('sends a text statement in the round trip that opens the transaction, and later ones on their own', async () => {
    const { opener, log } = recordingOpener();
    const transaction = new OperationTransaction();
    const first = transaction.query(opener, 'SELECT role');
    const second = transaction.run(opener, (c) => c.query('SELECT 2'));
    const third = transaction.query(opener, 'SELECT 3');
    expect((await first).rows).toEqual(['SELECT role']);
    expect((await second).rows).toEqual(['SELECT 2']);
    expect((await third).rows).toEqual(['SELECT 3']);
    await transaction.end();
    expect(log).toEqual(['BEGIN READ ONLY; SELECT role', 'SELECT 2', 'SELECT 3', 'COMMIT']);
  });

  it('opens a new transaction for the next statement when the opening with a text statement fails', async () => {
    const { opener, log, released } = recordingOpener();
    const transaction = new OperationTransaction();
    const failed = transaction.query(opener, 'SELECT FAIL');
    const next = transaction.run(opener, (c) => c.query('SELECT 2'));
    await expect(failed).rejects.toThrow('refused');
    await expect(next).resolves.toEqual({ rows: ['SELECT 2'] });
    await transaction.end();
    expect(log).toEqual(['BEGIN READ ONLY; SELECT FAIL', 'BEGIN READ ONLY', 'SELECT 2', 'COMMIT']);
    expect(released).toEqual([undefined]);
  });
});
