import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PoolClient } from 'pg';
import { quoteIdentifier } from './tenant-id.util';

export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 of the file with line endings normalised to LF. */
  checksum: string;
}

/** The ledger lives beside the tables it describes, so a schema and its history move and commit together. */
export const LEDGER_TABLE = '_tenantry_migrations';

export class MigrationChecksumError extends Error {
  constructor(readonly schema: string, readonly migration: string) {
    super(`Migration ${migration} applied to ${schema} has changed on disk since it was applied`);
  }
}

/** Reads `<dir>/<timestamp>_<name>/migration.sql` (Prisma's layout) in name order. */
export function loadMigrations(dir: string): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8').replace(/\r\n?/g, '\n');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/**
 * Applies every migration not yet in `schema`'s ledger inside the caller's open transaction.
 * Returns the names applied. Throws MigrationChecksumError when an applied file changed.
 */
export async function applyMigrationsInTransaction(
  client: PoolClient,
  schema: string,
  migrations: MigrationFile[],
): Promise<string[]> {
  const ledger = `${quoteIdentifier(schema)}.${LEDGER_TABLE}`;
  // search_path is transaction-local: nothing leaks onto the pooled connection.
  await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${ledger} (
       name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${ledger}`);
  const applied = new Map(rows.map((row) => [row.name, row.checksum]));
  const done: string[] = [];
  for (const migration of migrations) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined) {
      if (checksum !== migration.checksum) throw new MigrationChecksumError(schema, migration.name);
      continue;
    }
    await client.query(migration.sql);
    await client.query(`INSERT INTO ${ledger} (name, checksum) VALUES ($1, $2)`, [migration.name, migration.checksum]);
    done.push(migration.name);
  }
  return done;
}
