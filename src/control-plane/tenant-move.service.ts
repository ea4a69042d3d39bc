import { Inject, Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DatabasePools } from '../database/database-pools';
import { AppError, badUserInput, ErrorCode } from '../graphql/app-error';
import { applyMigrationsInTransaction, loadMigrations, readLedger } from '../tenancy/migration-runner';
import { TenantConnectionService } from '../tenancy/tenant-connection.service';
import { quoteIdentifier, tenantIdProblem } from '../tenancy/tenant-id.util';
import { TenantRoles } from '../tenancy/tenant-roles.service';
import { listDataTables, listSequences, qualified, type DataTable } from '../tenancy/tenant-tables';
import type { TenantRecord, TenantStatus } from './tenant-record';
import { TenantAuditRepository } from './tenant-audit.repository';
import { TenantRegistryRepository } from './tenant-registry.repository';

export type MoveStep = 'fenced' | 'copied' | 'verified' | 'flipped' | 'dropped';

export interface MoveReport {
  id: string;
  from: string;
  to: string;
  /** Rows per table, equal on both sides. */
  tables: { name: string; rows: number; checksum: string }[];
  elapsedMs: number;
}

// Rows copied per INSERT … SELECT FROM json_populate_recordset.
const COPY_BATCH = 500;

/**
 * `tenants move <id> --to <database>`: fence, copy, verify, flip, resume, drop. The fence (status MOVING, the tenant
 * role losing its privileges on the source, then one cache TTL) guarantees no write lands on the source after it;
 * the copy reads the source under SHARE locks, so every write acknowledged before the fence is in it.
 */
@Injectable()
export class TenantMover {
  constructor(
    private readonly registry: TenantRegistryRepository,
    private readonly audit: TenantAuditRepository,
    private readonly pools: DatabasePools,
    private readonly roles: TenantRoles,
    private readonly connections: TenantConnectionService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async move(id: string, to: string, actor: string, onStep?: (step: MoveStep) => void): Promise<MoveReport> {
    const problem = tenantIdProblem(id);
    if (problem) throw badUserInput('Invalid tenant id', { id: problem });
    this.pools.check(to, 'to');
    const started = Date.now();
    const tenant = await this.registry.getById(id);
    if (!tenant || tenant.status === 'PROVISIONING' || tenant.status === 'DELETED') throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Unknown tenant "${id}"`);
    if (tenant.database === to) throw new AppError(ErrorCode.CONFLICT, `Tenant "${id}" is already on ${to}`);
    const previous = tenant.status;
    if (previous !== 'ACTIVE' && previous !== 'SUSPENDED') throw new AppError(ErrorCode.CONFLICT, `Tenant "${id}" is ${previous}: only an ACTIVE or SUSPENDED tenant can move`);
    const details = { from: tenant.database, to, previous };
    try {
      const report = await this.run(tenant, previous, to, onStep);
      await this.audit.create({ tenantId: id, action: 'move', actor, result: 'ok', details: { ...details, tables: report.tables } });
      return { ...report, elapsedMs: Date.now() - started };
    } catch (error) {
      await this.audit
        .create({ tenantId: id, action: 'move', actor, result: 'error', details: { ...details, error: { code: (error as AppError).code ?? 'INTERNAL_SERVER_ERROR', message: String((error as Error).message).slice(0, 500) } } })
        .catch(() => undefined);
      throw error;
    }
  }

  private async run(tenant: TenantRecord, previous: TenantStatus, to: string, onStep?: (step: MoveStep) => void): Promise<Omit<MoveReport, 'elapsedMs'>> {
    const fenced = await this.registry.transition(tenant.id, [previous], 'MOVING');
    if (!fenced) throw new AppError(ErrorCode.CONFLICT, `Tenant "${tenant.id}" changed status while the move began`);
    const source = await this.pools.owner(tenant.database).connect();
    let target: PoolClient | undefined;
    let flipped = false;
    try {
      await this.revoke(source, tenant);
      // Instances that missed the notification still serve from their cache until the TTL; the revoke refuses them.
      await sleep(this.config.tenantCacheTtlMs);
      onStep?.('fenced');

      target = await this.pools.owner(to).connect();
      const tables = await this.copy(source, target, tenant);
      onStep?.('copied');
      onStep?.('verified');
      const moved = await this.registry.moveTo(tenant.id, to, previous);
      if (!moved) throw new AppError(ErrorCode.CONFLICT, `Tenant "${tenant.id}" left MOVING during the move`);
      flipped = true;
      this.connections.release(tenant.schemaName);
      onStep?.('flipped');
      // Requests that resolved the old placement before the fence get TENANT_MOVING from the revoked source (and
      // retry) rather than a missing schema; one cache TTL lets them finish before the source copy goes.
      await sleep(this.config.tenantCacheTtlMs);
      await source.query(`DROP SCHEMA ${quoteIdentifier(tenant.schemaName)} CASCADE`);
      onStep?.('dropped');
      return { id: tenant.id, from: tenant.database, to, tables };
    } catch (error) {
      if (!flipped) {
        // Nothing moved: the destination copy goes, the source gets its grants and its status back.
        await target?.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(tenant.schemaName)} CASCADE`).catch(() => undefined);
        await this.regrant(source, tenant).catch(() => undefined);
        await this.registry.transition(tenant.id, ['MOVING'], previous).catch(() => undefined);
      }
      throw error;
    } finally {
      source.release();
      target?.release();
    }
  }

  private async revoke(source: PoolClient, tenant: TenantRecord): Promise<void> {
    const schema = quoteIdentifier(tenant.schemaName);
    const role = quoteIdentifier(this.roles.roleOf(tenant.id));
    // USAGE first: from then on the role's statements fail naming the schema, which requests answer as TENANT_MOVING.
    await source.query(`REVOKE USAGE ON SCHEMA ${schema} FROM ${role}`);
    await source.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}; REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`);
  }

  private async regrant(source: PoolClient, tenant: TenantRecord): Promise<void> {
    await source.query('BEGIN');
    await this.roles.ensureTenantRole(source, tenant.id, tenant.schemaName);
    await source.query('COMMIT');
  }

  /**
   * Builds the schema on the destination from the source's own ledger, copies every table in foreign-key order and
   * the sequences, and compares per-table ordered checksums before committing; the source is read under SHARE locks
   * (writers that got in before the revoke finish first) in one snapshot.
   */
  private async copy(source: PoolClient, target: PoolClient, tenant: TenantRecord): Promise<MoveReport['tables']> {
    const schema = tenant.schemaName;
    const tables = await listDataTables(source, schema);
    await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await target.query('BEGIN');
    try {
      // The lock comes first: the snapshot is taken by the first query after it, so it holds every committed write.
      if (tables.length > 0) await source.query(`LOCK TABLE ${tables.map((t) => qualified(schema, t.name)).join(', ')} IN SHARE MODE`);
      const ledger = (await readLedger(source, schema)) ?? new Map<string, string>();
      const migrations = loadMigrations(this.config.paths.tenantMigrations).filter((m) => ledger.has(m.name));
      if (migrations.length !== ledger.size) throw new AppError(ErrorCode.CONFLICT, `Tenant "${tenant.id}" has migrations this code does not know`);
      await target.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      await applyMigrationsInTransaction(target, schema, migrations);
      for (const table of tables) await copyTable(source, target, schema, table);
      for (const sequence of await listSequences(source, schema)) {
        const { rows } = await source.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${qualified(schema, sequence)}`);
        await target.query(`SELECT setval($1, $2, $3)`, [qualified(schema, sequence), rows[0].last_value, rows[0].is_called]);
      }
      const verified: MoveReport['tables'] = [];
      for (const table of tables) {
        const [from, into] = await Promise.all([checksum(source, schema, table.name), checksum(target, schema, table.name)]);
        if (from.checksum !== into.checksum || from.rows !== into.rows) {
          throw new AppError(ErrorCode.CONFLICT, `Checksums of ${table.name} differ after the copy (${from.rows} vs ${into.rows} rows)`);
        }
        verified.push({ name: table.name, ...from });
      }
      await this.roles.ensureTenantRole(target, tenant.id, schema);
      await target.query('COMMIT');
      await source.query('COMMIT');
      return verified;
    } catch (error) {
      await target.query('ROLLBACK').catch(() => undefined);
      await source.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }
}

async function copyTable(source: PoolClient, target: PoolClient, schema: string, table: DataTable): Promise<void> {
  const columns = table.columns.map((c) => quoteIdentifier(c.name)).join(', ');
  const name = qualified(schema, table.name);
  const overriding = table.identityAlways ? ' OVERRIDING SYSTEM VALUE' : '';
  for (let offset = 0; ; offset += COPY_BATCH) {
    const { rows } = await source.query<{ batch: unknown[] | null }>(
      `SELECT json_agg(t) AS batch FROM (SELECT ${columns} FROM ${name} ORDER BY ctid LIMIT $1 OFFSET $2) t`,
      [COPY_BATCH, offset],
    );
    const batch = rows[0].batch;
    if (!batch || batch.length === 0) return;
    await target.query(`INSERT INTO ${name} (${columns})${overriding} SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1)`, [JSON.stringify(batch)]);
  }
}

/** Row count and an md5 over the rows' text, in a total order: equal tables give equal checksums on any server. */
async function checksum(client: PoolClient, schema: string, table: string): Promise<{ rows: number; checksum: string }> {
  const { rows } = await client.query<{ n: number; sum: string | null }>(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM ${qualified(schema, table)} t`,
  );
  return { rows: rows[0].n, checksum: rows[0].sum ?? '' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
