import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DatabasePools } from '../database/database-pools';
import type { TenantRecord } from '../control-plane/tenant-record';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { AppError, ErrorCode } from '../graphql/app-error';
import { applyMigrationsInTransaction, LEDGER_TABLE, loadMigrations, readLedgers, type MigrationFile } from './migration-runner';
import { existingSchemas, readSchemaCatalogs, type DbObject } from './schema-catalog';
import {
  diffCatalogs,
  stateOf,
  statusTotalsOf,
  type SchemaDifference,
  type SchemaStatusReport,
  type TenantSchemaStatus,
} from './schema-status-report';
import { quoteIdentifier } from './tenant-id.util';

export interface SchemaStatusOptions {
  /** Only these tenant ids; DELETED and PROVISIONING ones are reported as skipped. */
  tenants?: string[];
  /** Defaults to config.paths.tenantMigrations. */
  migrationsDir?: string;
}

const CHECKED = new Set(['ACTIVE', 'SUSPENDED']);
// Ledgers per statement (a UNION ALL over schemas), and schemas per catalog statement.
const LEDGER_CHUNK = 100;
const CATALOG_CHUNK = 250;

interface Inspected {
  tenant: TenantRecord;
  exists: boolean;
  ledger: Map<string, string>;
  /** The applied migrations that have a file: the reference this tenant is compared with. */
  version: MigrationFile[];
}

/**
 * `tenants status`: each tenant's ledger against the migration files (pending, changed checksums) and its live
 * catalog against a reference schema built from the migrations of its own ledger. Changes nothing: the reference
 * schemas are created inside one transaction that is rolled back.
 */
@Injectable()
export class SchemaDriftService {
  constructor(
    private readonly pools: DatabasePools,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistryRepository,
  ) {}

  async status(options: SchemaStatusOptions = {}): Promise<SchemaStatusReport> {
    const started = Date.now();
    const migrations = loadMigrations(options.migrationsDir ?? this.config.paths.tenantMigrations);
    const targets = await this.targets(options.tenants);
    const results = new Map<string, TenantSchemaStatus>();
    for (const t of targets.filter((t) => !CHECKED.has(t.status))) {
      results.set(t.id, { ...blank(t), status: 'skipped', reason: `tenant is ${t.status}` });
    }

    const checked = targets.filter((t) => CHECKED.has(t.status));
    let referenceVersions = 0;
    // One snapshot per database: each builds its own reference schemas and reads its own tenants' catalogs.
    for (const database of new Set(checked.map((t) => t.database))) {
      const placed = checked.filter((t) => t.database === database);
      if (!this.pools.has(database)) {
        for (const t of placed) results.set(t.id, { ...blank(t), status: 'skipped', reason: `database "${database}" is not configured` });
        continue;
      }
      const client = await this.pools.owner(database).connect();
      try {
        // One snapshot for ledgers and catalogs; the rollback takes the reference schemas away.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        try {
          const inspected = await this.inspect(client, placed, migrations);
          const references = await this.buildReferences(client, inspected);
          referenceVersions = Math.max(referenceVersions, references.size);
          for (const result of await this.compare(client, inspected, migrations, references)) results.set(result.id, result);
        } finally {
          await client.query('ROLLBACK');
        }
      } finally {
        client.release();
      }
    }

    const tenants = [...results.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      startedAt: new Date(started).toISOString(),
      elapsedMs: Date.now() - started,
      latestMigration: migrations.at(-1)?.name ?? null,
      migrationCount: migrations.length,
      referenceVersions,
      tenants,
      totals: statusTotalsOf(tenants),
    };
  }

  /** Every tenant, or the named ones, in id order. */
  private async targets(ids: string[] | undefined): Promise<TenantRecord[]> {
    const all = await this.registry.list();
    if (!ids) return all;
    const byId = new Map(all.map((t) => [t.id, t]));
    const unknown = ids.filter((id) => !byId.has(id));
    if (unknown.length > 0) throw new AppError(ErrorCode.NOT_FOUND, `No such tenant(s): ${unknown.join(', ')}`);
    return [...new Set(ids)].sort().map((id) => byId.get(id)!);
  }

  /** Which schemas exist, and their ledgers, read in bulk. */
  private async inspect(client: PoolClient, tenants: TenantRecord[], migrations: MigrationFile[]): Promise<Inspected[]> {
    const schemas = tenants.map((t) => t.schemaName);
    const exists = await existingSchemas(client, schemas);
    const { rows } = await client.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1) AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [schemas, LEDGER_TABLE],
    );
    const withLedger = tenants.filter((t) => rows.some((row) => row.schema === t.schemaName));
    const ledgers = new Map<string, Map<string, string>>();
    for (let i = 0; i < withLedger.length; i += LEDGER_CHUNK) {
      const chunk = withLedger.slice(i, i + LEDGER_CHUNK);
      (await readLedgers(client, chunk.map((t) => t.schemaName))).forEach((ledger, n) => ledgers.set(chunk[n].id, ledger));
    }
    return tenants.map((tenant) => {
      const ledger = ledgers.get(tenant.id) ?? new Map<string, string>();
      return { tenant, exists: exists.has(tenant.schemaName), ledger, version: migrations.filter((m) => ledger.has(m.name)) };
    });
  }

  /** One reference catalog per distinct ledger version, keyed by versionKey(). */
  private async buildReferences(client: PoolClient, inspected: Inspected[]): Promise<Map<string, DbObject[]>> {
    const versions = new Map<string, MigrationFile[]>();
    for (const t of inspected) if (t.exists) versions.set(versionKey(t.version), t.version);
    const prefix = `tenantry_reference_${randomBytes(4).toString('hex')}`;
    const schemas = new Map<string, string>();
    for (const [key, version] of versions) {
      const schema = `${prefix}_${schemas.size}`;
      await client.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      try {
        // Exactly as provisioning and the fleet migrator build a schema (a ledger-less tenant gets an empty one).
        if (version.length > 0) await applyMigrationsInTransaction(client, schema, version);
      } catch (error) {
        throw new Error(`Cannot build the reference schema at ${version.at(-1)?.name}: ${(error as Error).message}`);
      }
      schemas.set(key, schema);
    }
    const catalogs = await readSchemaCatalogs(client, [...schemas.values()]);
    return new Map([...schemas].map(([key, schema]) => [key, catalogs.get(schema)!]));
  }

  /** Reads the tenants' catalogs a chunk of schemas per statement and compares each with its reference. */
  private async compare(
    client: PoolClient,
    inspected: Inspected[],
    migrations: MigrationFile[],
    references: Map<string, DbObject[]>,
  ): Promise<TenantSchemaStatus[]> {
    const results: TenantSchemaStatus[] = [];
    const files = new Map(migrations.map((m) => [m.name, m.checksum]));
    for (let i = 0; i < inspected.length; i += CATALOG_CHUNK) {
      const chunk = inspected.slice(i, i + CATALOG_CHUNK);
      const catalogs = await readSchemaCatalogs(client, chunk.filter((t) => t.exists).map((t) => t.tenant.schemaName));
      for (const t of chunk) {
        const drift: SchemaDifference[] = t.exists
          ? diffCatalogs(references.get(versionKey(t.version))!, catalogs.get(t.tenant.schemaName)!)
          : [{ change: 'missing', key: `schema ${t.tenant.schemaName}` }];
        const result: TenantSchemaStatus = {
          ...blank(t.tenant),
          lastMigration: [...t.ledger.keys()].sort().at(-1) ?? null,
          pending: migrations.filter((m) => !t.ledger.has(m.name)).map((m) => m.name),
          // An applied migration whose file changed, or is gone.
          checksumMismatches: [...t.ledger].filter(([name, checksum]) => files.get(name) !== checksum).map(([name]) => name).sort(),
          drift,
        };
        results.push({ ...result, status: stateOf(result) });
      }
    }
    return results;
  }
}

function blank(tenant: TenantRecord): TenantSchemaStatus {
  return {
    id: tenant.id,
    status: 'current',
    tenantStatus: tenant.status,
    schema: tenant.schemaName,
    database: tenant.database,
    lastMigration: null,
    pending: [],
    checksumMismatches: [],
    drift: [],
  };
}

function versionKey(version: MigrationFile[]): string {
  return version.map((m) => m.name).join('\n');
}
