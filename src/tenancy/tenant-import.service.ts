import { Inject, Injectable } from '@nestjs/common';
import { stat } from 'node:fs/promises';
import type { PoolClient } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { TENANT_PLANS, type TenantPlan } from '../control-plane/tenant-record';
import { TenantAuditRepository } from '../control-plane/tenant-audit.repository';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { AppError, badUserInput, ErrorCode } from '../graphql/app-error';
import { applyMigrationsInTransaction, loadMigrations, type MigrationFile } from './migration-runner';
import {
  parseHeader,
  parseLine,
  readArchiveLines,
  VALUE_SETTINGS_PARAMS,
  VALUE_SETTINGS_SQL,
  type EndLine,
  type ExportHeader,
  type RowLine,
} from './tenant-archive';
import { TenantArchiveError, TenantArchiveErrorCode } from './tenant-archive.errors';
import type { ArchiveOptions } from './tenant-export.service';
import { quoteIdentifier, tenantIdProblem } from './tenant-id.util';
import { listDataTables, listSequences, qualified, type DataTable } from './tenant-tables';
import { TenantProvisioner } from './tenant-provisioner.service';

/**
 * Rows per INSERT … SELECT FROM unnest(…): one round trip, one parameter per column. Kept small enough that a
 * column's array literal stays out of V8's large-object space (which only a full GC frees).
 */
const INSERT_ROWS = 250;

export interface ImportOptions extends ArchiveOptions {
  /** The new tenant's name; defaults to the exported tenant's. */
  name?: string;
  /** Defaults to config.paths.tenantMigrations. */
  migrationsDir?: string;
  /** The new tenant's placement database; the primary when absent. */
  database?: string;
}

export interface ImportReport {
  tenantId: string;
  file: string;
  /** The tenant the export was taken from. */
  from: string;
  /** Where the new tenant is placed. */
  database: string;
  schemaVersion: string | null;
  /** Migrations applied after the rows were loaded, to bring the schema to this code's newest. */
  migratedForward: string[];
  tables: { name: string; rows: number }[];
  sequences: number;
  elapsedMs: number;
}

interface Loaded {
  rows: Record<string, number>;
  sequences: number;
}

/**
 * `tenants import`: provisions a new tenant from an export, through TenantProvisioner.provision (one transaction):
 * the schema is built by the migrations of the export's own ledger, the rows and sequence values are loaded, the
 * newer migrations are applied on top, and the tenant becomes ACTIVE — or, on any failure or kill, nothing remains.
 * The header is checked before anything is written.
 */
@Injectable()
export class TenantImporter {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistryRepository,
    private readonly audit: TenantAuditRepository,
    private readonly provisioner: TenantProvisioner,
  ) {}

  async import(file: string, tenantId: string, options: ImportOptions = {}): Promise<ImportReport> {
    const started = Date.now();
    const { actor = 'system', onProgress } = options;
    const idProblem = tenantIdProblem(tenantId);
    if (idProblem) throw badUserInput('Invalid tenant id', { id: idProblem });
    if (!(await stat(file).catch(() => null))?.isFile()) throw new AppError(ErrorCode.NOT_FOUND, `No file ${file}`);

    const lines = readArchiveLines(file);
    try {
      const first = await lines.next();
      const header = parseHeader(first.done ? undefined : first.value);
      const migrations = loadMigrations(options.migrationsDir ?? this.config.paths.tenantMigrations);
      const version = migrationsAt(header, migrations);
      const plan = (TENANT_PLANS as readonly string[]).includes(header.tenant.plan) ? (header.tenant.plan as TenantPlan) : 'free';
      const details = { file, from: header.tenantId, schemaVersion: header.schemaVersion, database: options.database ?? PRIMARY_DATABASE };
      try {
        const identity = { id: tenantId, name: options.name ?? header.tenant.name, plan, database: options.database };
        const { tenant, result } = await this.provisioner.provision(identity, async (client, schema) => {
          await applyMigrationsInTransaction(client, schema, version);
          await client.query(VALUE_SETTINGS_SQL, VALUE_SETTINGS_PARAMS);
          const loaded = await load(client, schema, header, lines, onProgress);
          const forward = await applyMigrationsInTransaction(client, schema, migrations);
          const applied = version.length + forward.length;
          return { result: { loaded, forward }, lastMigration: migrations.at(-1)?.name ?? null, applied };
        });
        const { loaded, forward } = result;
        await this.audit.create({ tenantId, action: 'import', actor, result: 'ok', details: { ...details, rows: loaded.rows } });
        return {
          tenantId,
          file,
          from: header.tenantId,
          database: tenant.database,
          schemaVersion: header.schemaVersion,
          migratedForward: forward,
          tables: Object.entries(loaded.rows).map(([name, rows]) => ({ name, rows })),
          sequences: loaded.sequences,
          elapsedMs: Date.now() - started,
        };
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'INTERNAL';
        await this.audit
          .create({ tenantId, action: 'import', actor, result: 'error', details: { ...details, code, message: (error as Error).message } })
          .catch(() => undefined);
        throw error;
      }
    } finally {
      await lines.return(undefined);
    }
  }
}

/** The known migrations of the export's ledger; throws when it names one this code does not have. */
function migrationsAt(header: ExportHeader, migrations: MigrationFile[]): MigrationFile[] {
  const known = new Set(migrations.map((m) => m.name));
  const latest = migrations.at(-1)?.name ?? '';
  for (const name of header.migrations) {
    if (known.has(name)) continue;
    if (name > latest) {
      throw new TenantArchiveError(
        TenantArchiveErrorCode.NEWER_SCHEMA_VERSION,
        `The export is at ${header.schemaVersion}, newer than this code's latest migration ${latest || '(none)'}: import it with newer code`,
      );
    }
    throw new TenantArchiveError(TenantArchiveErrorCode.UNKNOWN_MIGRATION, `The export's ledger names ${name}, which this code does not have`);
  }
  return migrations.filter((m) => header.migrations.includes(m.name));
}

interface Target {
  table: DataTable;
  sql: string;
  width: number;
}

/** Streams the rest of the file into `schema` (search_path and value settings already set). */
async function load(
  client: PoolClient,
  schema: string,
  header: ExportHeader,
  lines: AsyncGenerator<string>,
  onProgress: ArchiveOptions['onProgress'],
): Promise<Loaded> {
  const corrupt = (message: string) => new TenantArchiveError(TenantArchiveErrorCode.CORRUPT_ARCHIVE, message);
  const tables = new Map((await listDataTables(client, schema)).map((t) => [t.name, t]));
  const sequences = new Set(await listSequences(client, schema));
  const rows: Record<string, number> = {};
  let sequenceCount = 0;
  let target: Target | undefined;
  let batch: RowLine[] = [];
  let end: EndLine | undefined;
  let lineNumber = 1;

  const flush = async () => {
    if (!target || batch.length === 0) return;
    const columns = Array.from({ length: target.width }, (_, i) => batch.map((row) => row[i]));
    await client.query(target.sql, columns);
    const before = rows[target.table.name];
    rows[target.table.name] += batch.length;
    batch = [];
    if (Math.floor(before / 100_000) !== Math.floor(rows[target.table.name] / 100_000)) {
      onProgress?.({ table: target.table.name, rows: rows[target.table.name], done: false });
    }
  };
  const finishTable = async () => {
    await flush();
    if (target) onProgress?.({ table: target.table.name, rows: rows[target.table.name], done: true });
    target = undefined;
  };

  for await (const raw of lines) {
    lineNumber++;
    if (end) throw corrupt(`line ${lineNumber} follows the end line`);
    const line = parseLine(raw, lineNumber);
    if (Array.isArray(line)) {
      if (!target) throw corrupt(`line ${lineNumber} is a row outside any table`);
      if (line.length !== target.width || !line.every((v) => v === null || typeof v === 'string')) {
        throw corrupt(`line ${lineNumber} is not a row of ${target.width} text values`);
      }
      batch.push(line as RowLine);
      if (batch.length >= INSERT_ROWS) await flush();
    } else if (line && typeof line === 'object' && 'table' in line) {
      await finishTable();
      const { table: name, columns } = line as { table: unknown; columns: unknown };
      const table = typeof name === 'string' ? tables.get(name) : undefined;
      if (!table || table.name in rows) throw corrupt(`line ${lineNumber}: no table ${JSON.stringify(name)} at ${header.schemaVersion}, or it appears twice`);
      if (!Array.isArray(columns) || columns.length === 0) throw corrupt(`line ${lineNumber}: table ${table.name} lists no columns`);
      const picked = columns.map((column) => {
        const found = table.columns.find((c) => c.name === column);
        if (!found) throw corrupt(`line ${lineNumber}: no column ${JSON.stringify(column)} in ${table.name} at ${header.schemaVersion}`);
        return found;
      });
      rows[table.name] = 0;
      target = { table, width: picked.length, sql: insertSql(schema, table, picked) };
    } else if (line && typeof line === 'object' && 'sequence' in line) {
      await finishTable();
      const { sequence, value, isCalled } = line as { sequence: unknown; value: unknown; isCalled: unknown };
      if (typeof sequence !== 'string' || !sequences.has(sequence) || typeof value !== 'string' || !/^-?\d+$/.test(value) || typeof isCalled !== 'boolean') {
        throw corrupt(`line ${lineNumber}: not a sequence of this schema with a value`);
      }
      await client.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [qualified(schema, sequence), value, isCalled]);
      sequenceCount++;
    } else if (line && typeof line === 'object' && 'end' in line) {
      await finishTable();
      end = line as EndLine;
    } else throw corrupt(`line ${lineNumber} is neither a row, a table, a sequence nor the end`);
  }
  if (!end) throw corrupt('The file ends before its end line: it is truncated');
  const expected = end.rows ?? {};
  const mismatched = [...new Set([...Object.keys(expected), ...Object.keys(rows)])].filter((t) => expected[t] !== rows[t]);
  if (mismatched.length > 0) throw corrupt(`Row counts differ from the end line for ${mismatched.join(', ')}`);
  return { rows, sequences: sequenceCount };
}

/** INSERT … SELECT over one text[] parameter per column, each cast by the column type's input function. */
function insertSql(schema: string, table: DataTable, columns: DataTable['columns']): string {
  const names = columns.map((c) => quoteIdentifier(c.name)).join(', ');
  const casts = columns.map((c, i) => `v${i}::${c.type}`).join(', ');
  const arrays = columns.map((_, i) => `$${i + 1}::text[]`).join(', ');
  const aliases = columns.map((_, i) => `v${i}`).join(', ');
  const overriding = table.identityAlways ? ' OVERRIDING SYSTEM VALUE' : '';
  return `INSERT INTO ${qualified(schema, table.name)} (${names})${overriding} SELECT ${casts} FROM unnest(${arrays}) AS u(${aliases})`;
}
