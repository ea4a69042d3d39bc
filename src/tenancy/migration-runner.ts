import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { quoteIdentifier } from './tenant-id.util';

export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 of the file with line endings normalised to LF. */
  checksum: string;
}

/** The ledger lives beside the tables it describes, so a schema and its history move and commit together. */
export const LEDGER_TABLE = '_tenantry_migrations';

type Queryable = Pool | PoolClient;

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

/** Per-statement limits of a fleet migration: a blocked or runaway migration fails its tenant, not the run. */
export interface MigrationTimeouts {
  lockTimeout: string;
  statementTimeout: string;
}

export const FLEET_MIGRATION_TIMEOUTS: MigrationTimeouts = { lockTimeout: '5s', statementTimeout: '60s' };

/**
 * Applies every migration not yet in `schema`'s ledger inside the caller's open transaction (the provisioner's
 * all-or-nothing create). Returns the names applied. Throws MigrationChecksumError when an applied file changed.
 */
export async function applyMigrationsInTransaction(
  client: PoolClient,
  schema: string,
  migrations: MigrationFile[],
): Promise<string[]> {
  // search_path is transaction-local: nothing leaks onto the pooled connection.
  await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${ledgerOf(schema)} (
       name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const pending = pendingMigrations(schema, await readLedger(client, schema), migrations);
  for (const migration of pending) await applyStatements(client, schema, migration);
  return pending.map((migration) => migration.name);
}

/** `schema`'s ledger (name → checksum), or null when the schema has no ledger table. */
export async function readLedger(client: Queryable, schema: string): Promise<Map<string, string> | null> {
  const { rows: exists } = await client.query<{ ledger: string | null }>(`SELECT to_regclass($1) AS ledger`, [ledgerOf(schema)]);
  if (!exists[0].ledger) return null;
  const { rows } = await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${ledgerOf(schema)}`);
  return new Map(rows.map((row) => [row.name, row.checksum]));
}

/** The ledgers of several schemas in one statement, in `schemas` order. Fails if any schema lacks a ledger table. */
export async function readLedgers(client: Queryable, schemas: string[]): Promise<Map<string, string>[]> {
  if (schemas.length === 0) return [];
  const sql = schemas.map((schema, n) => `SELECT ${n} AS n, name, checksum FROM ${ledgerOf(schema)}`).join(' UNION ALL ');
  const { rows } = await client.query<{ n: number; name: string; checksum: string }>(sql);
  const ledgers = schemas.map(() => new Map<string, string>());
  for (const row of rows) ledgers[row.n].set(row.name, row.checksum);
  return ledgers;
}

/** The migrations `ledger` lacks, in order. Throws MigrationChecksumError when an applied file changed. */
export function pendingMigrations(schema: string, ledger: Map<string, string> | null, migrations: MigrationFile[]): MigrationFile[] {
  const pending: MigrationFile[] = [];
  for (const migration of migrations) {
    const checksum = ledger?.get(migration.name);
    if (checksum === undefined) pending.push(migration);
    else if (checksum !== migration.checksum) throw new MigrationChecksumError(schema, migration.name);
  }
  return pending;
}

/**
 * Applies one migration and its ledger row in a transaction of its own (the fleet migrator's unit of work), so a
 * failure or a kill at any moment leaves the schema at a ledger version. The connection must be idle.
 */
export async function applyMigrationInOwnTransaction(
  client: PoolClient,
  schema: string,
  migration: MigrationFile,
  timeouts: MigrationTimeouts = FLEET_MIGRATION_TIMEOUTS,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
    await client.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
      timeouts.lockTimeout,
      timeouts.statementTimeout,
    ]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${ledgerOf(schema)} (
         name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
    );
    await applyStatements(client, schema, migration);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Marks the applied `migration` as matching its file again (`migrate resolve --accept`). False when not applied. */
export async function acceptMigrationChecksum(client: Queryable, schema: string, migration: MigrationFile): Promise<boolean> {
  const { rowCount } = await client.query(`UPDATE ${ledgerOf(schema)} SET checksum = $2 WHERE name = $1`, [
    migration.name,
    migration.checksum,
  ]);
  return (rowCount ?? 0) > 0;
}

async function applyStatements(client: PoolClient, schema: string, migration: MigrationFile): Promise<void> {
  await client.query(migration.sql);
  await client.query(`INSERT INTO ${ledgerOf(schema)} (name, checksum) VALUES ($1, $2)`, [migration.name, migration.checksum]);
}

function ledgerOf(schema: string): string {
  return `${quoteIdentifier(schema)}.${LEDGER_TABLE}`;
}
