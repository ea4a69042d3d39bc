import { Query, type QueryConfig, type QueryResult } from 'pg';

/** What a tenant statement runs under: `set_config(name, value, true)` pairs, ended with the statement. */
export interface StatementSettings {
  text: string;
  values: string[];
}

// pg's Query members used here; @types/pg leaves them out.
interface ProtocolConnection {
  parse(message: { text: string; name: string; types: unknown[] }): void;
  bind(message: { statement: string; portal: string; values: unknown[] }): void;
  execute(message: { portal: string; rows: number }): void;
}
interface QueryInternals {
  prepare(connection: ProtocolConnection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: ProtocolConnection): void;
}
const PgQuery = Query as unknown as new (config: QueryConfig, values: undefined, callback: (error: Error | null, result: QueryResult) => void) => QueryInternals;

/**
 * A tenant statement and the settings it runs under, in one round trip: Parse/Bind/Execute of the settings'
 * `SELECT set_config(…, true)`, then the statement's own messages, then one Sync. PostgreSQL runs the messages up to a
 * Sync as one implicit transaction, so the settings hold for the statement and end with it at the Sync; should they
 * fail (a role the connection may not take), the statement is skipped. Always the extended protocol: pg would send a
 * statement without parameters as a simple query, a transaction of its own without the settings.
 */
export class ScopedStatement extends PgQuery {
  readonly settings: StatementSettings;
  readonly statement: QueryConfig;
  readonly result: Promise<QueryResult>;
  // The settings' SELECT answers one row and one completion, which are not the statement's.
  private settingsPending: boolean;

  constructor(settings: StatementSettings, statement: QueryConfig) {
    let settle!: (error: Error | null, result: QueryResult) => void;
    const result = new Promise<QueryResult>((resolve, reject) => (settle = (error, rows) => (error ? reject(error) : resolve(rows))));
    super({ ...statement, queryMode: 'extended' } as QueryConfig, undefined, (error, rows) => settle(error, rows));
    this.settings = settings;
    this.statement = statement;
    this.result = result;
    this.settingsPending = true;
  }

  override prepare(connection: ProtocolConnection): void {
    connection.parse({ text: this.settings.text, name: '', types: [] });
    connection.bind({ statement: '', portal: '', values: this.settings.values });
    connection.execute({ portal: '', rows: 0 });
    super.prepare(connection);
  }

  override handleDataRow(message: unknown): void {
    if (!this.settingsPending) super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: ProtocolConnection): void {
    if (this.settingsPending) this.settingsPending = false;
    else super.handleCommandComplete(message, connection);
  }
}
