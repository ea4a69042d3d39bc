import type { PoolClient, QueryResult } from 'pg';

/** A pooled connection inside a transaction opened as one tenant's role; `done` gives it back (an error destroys it). */
export interface ScopedConnection {
  client: PoolClient;
  done(error?: Error | boolean): void;
}

/** What opens the role-scoped transaction: the tenant's TenantScopedPool. */
export interface ScopedTransactionOpener {
  /** With `alsoRun` (plain text, no parameters), that statement goes in the opening's round trip; `ran` is its result. */
  begin(readOnly: boolean, alsoRun?: string): Promise<ScopedConnection & { ran?: QueryResult }>;
  /** Whether `other` opens the same transaction (same pool, role and schema): a rebuilt client of the same tenant. */
  opensSameAs(other: ScopedTransactionOpener): boolean;
}

/**
 * One read-only, role-scoped transaction shared by the standalone statements of one GraphQL query operation:
 * BEGIN … COMMIT once per operation instead of around every statement (N + 2 round trips instead of 3N).
 * The operation's first statement opens it, on the first tenant pool that asks; statements of that pool then run
 * one at a time on its connection until `end()` commits it and gives the connection back, holding nothing over.
 * A failed statement rolls the transaction back, so it cannot poison the operation's other fields: the next
 * statement opens a new one.
 */
export class OperationTransaction {
  private opener?: ScopedTransactionOpener;
  private connection?: Promise<ScopedConnection>;
  private tail: Promise<unknown> = Promise.resolve();
  private ended = false;

  /** Whether a statement of `opener` runs here; after `end()` statements run on their own again. */
  joins(opener: ScopedTransactionOpener): boolean {
    // By target, not identity: the tenant's client can be evicted and rebuilt mid-operation, and a statement sent
    // beside the held connection would wait for a second one — under pool pressure, every query waits so.
    return !this.ended && (this.opener === undefined || this.opener === opener || this.opener.opensSameAs(opener));
  }

  run<T>(opener: ScopedTransactionOpener, statement: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.enqueue(opener, () => this.runNow(opener, statement));
  }

  /**
   * `sql` (plain text, no parameters) in this transaction. Should it be the first statement, it travels with the
   * transaction's opening in one round trip (the JWT guard's user lookup, the first statement of every query).
   */
  query(opener: ScopedTransactionOpener, sql: string): Promise<QueryResult> {
    return this.enqueue(opener, async () => {
      if (this.connection) return this.runNow(opener, (client) => client.query(sql));
      let ran: QueryResult | undefined;
      this.connection = opener.begin(true, sql).then((opened) => ((ran = opened.ran), opened));
      await this.runNow(opener, async () => undefined);
      return ran!;
    });
  }

  /** Waits for the statements already queued, then commits. Never throws: the response is ready by now. */
  async end(): Promise<void> {
    this.ended = true;
    await this.tail;
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await finish(await connection, 'COMMIT');
  }

  private enqueue<T>(opener: ScopedTransactionOpener, next: () => Promise<T>): Promise<T> {
    this.opener ??= opener;
    const result = this.tail.then(next);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private async runNow<T>(opener: ScopedTransactionOpener, statement: (client: PoolClient) => Promise<T>): Promise<T> {
    const opening = (this.connection ??= opener.begin(true));
    let connection: ScopedConnection;
    try {
      connection = await opening;
    } catch (error) {
      this.connection = undefined;
      throw error;
    }
    try {
      return await statement(connection.client);
    } catch (error) {
      this.connection = undefined;
      await finish(connection, 'ROLLBACK');
      throw error;
    }
  }
}

async function finish(connection: ScopedConnection, sql: 'COMMIT' | 'ROLLBACK'): Promise<void> {
  try {
    await connection.client.query(sql);
    connection.done();
  } catch (error) {
    // The transaction did not end cleanly: the connection does not go back to the pool.
    connection.done(error as Error);
  }
}
