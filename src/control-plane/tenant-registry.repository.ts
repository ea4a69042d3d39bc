import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PRIMARY_DATABASE } from '../config/config';
import { CONTROL_PLANE_POOL, SHARED_POOL } from '../database/database-tokens';
import { inTransaction } from './in-transaction.util';
import { AppError, ErrorCode } from '../graphql/app-error';
import { quoteIdentifier } from '../tenancy/tenant-id.util';
import { CONTROL_SCHEMA } from './control-plane-migrator';
import type { TenantPlan, TenantRecord, TenantStatus } from './tenant-record';

const COLUMNS = `id, name, status, plan, schema_name, database, deleted_at, created_at, updated_at`;
const TENANTS = `${CONTROL_SCHEMA}.tenants`;

interface TenantRow {
  id: string;
  name: string;
  status: TenantStatus;
  plan: TenantPlan;
  schema_name: string;
  database: string;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: TenantRow): TenantRecord {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    plan: row.plan,
    schemaName: row.schema_name,
    database: row.database,
    deletedAt: row.deleted_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

type Queryable = Pool | PoolClient;

export interface TenantDomain {
  domain: string;
  createdAt: Date;
}

export interface MigrationSummary {
  lastMigration: string | null;
  appliedCount: number;
  updatedAt: Date;
}

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * The control-plane registry: the only SQL that sees every tenant. It runs as the control-plane role, which reaches
 * no tenant schema; statements that drop a schema or a role run on a connection of the owner pool the caller holds
 * (provisioning) or in `inOwnerTransaction`.
 */
@Injectable()
export class TenantRegistryRepository {
  constructor(
    @Inject(CONTROL_PLANE_POOL) private readonly controlPlane: Pool,
    @Inject(SHARED_POOL) private readonly owner: Pool,
  ) {}

  /** Readiness probe: the control plane answers, so the database does. */
  async ping(): Promise<void> {
    await this.controlPlane.query('SELECT 1');
  }

  async getById(id: string, db: Queryable = this.controlPlane): Promise<TenantRecord | null> {
    const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM ${TENANTS} WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The tenants among `ids` that exist, in one statement. */
  async listByIds(ids: readonly string[]): Promise<TenantRecord[]> {
    const { rows } = await this.controlPlane.query<TenantRow>(`SELECT ${COLUMNS} FROM ${TENANTS} WHERE id = ANY($1::text[])`, [ids]);
    return rows.map(toRecord);
  }

  async getByDomain(domain: string): Promise<TenantRecord | null> {
    const { rows } = await this.controlPlane.query<TenantRow>(
      `SELECT ${COLUMNS.split(', ').map((c) => `t.${c}`).join(', ')}
         FROM ${CONTROL_SCHEMA}.tenant_domains d JOIN ${TENANTS} t ON t.id = d.tenant_id
        WHERE d.domain = $1`,
      [domain],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(): Promise<TenantRecord[]> {
    const { rows } = await this.controlPlane.query<TenantRow>(`SELECT ${COLUMNS} FROM ${TENANTS} ORDER BY id`);
    return rows.map(toRecord);
  }

  /** Every tenant id and custom domain (whatever the status): the names the request path may look up. */
  async listNames(): Promise<{ ids: string[]; domains: string[] }> {
    const [ids, domains] = await Promise.all([
      this.controlPlane.query<{ id: string }>(`SELECT id FROM ${TENANTS}`),
      this.controlPlane.query<{ domain: string }>(`SELECT domain FROM ${CONTROL_SCHEMA}.tenant_domains`),
    ]);
    return { ids: ids.rows.map((row) => row.id), domains: domains.rows.map((row) => row.domain) };
  }

  async count(): Promise<number> {
    const { rows } = await this.controlPlane.query<{ n: string }>(`SELECT count(*) AS n FROM ${TENANTS}`);
    return Number(rows[0].n);
  }

  async listByStatus(status: TenantStatus): Promise<TenantRecord[]> {
    const { rows } = await this.controlPlane.query<TenantRow>(
      `SELECT ${COLUMNS} FROM ${TENANTS} WHERE status = $1 ORDER BY id`,
      [status],
    );
    return rows.map(toRecord);
  }

  /** One page in id order: up to `limit` tenants after `afterId`, optionally of one status, and how many match. */
  async listPage(options: { status?: TenantStatus; afterId?: string; limit: number }): Promise<{ tenants: TenantRecord[]; total: number }> {
    const status = options.status ?? null;
    const [page, total] = await Promise.all([
      this.controlPlane.query<TenantRow>(
        `SELECT ${COLUMNS} FROM ${TENANTS}
          WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR id > $2)
          ORDER BY id LIMIT $3`,
        [status, options.afterId ?? null, options.limit],
      ),
      this.controlPlane.query<{ n: string }>(`SELECT count(*) AS n FROM ${TENANTS} WHERE ($1::text IS NULL OR status = $1)`, [status]),
    ]);
    return { tenants: page.rows.map(toRecord), total: Number(total.rows[0].n) };
  }

  /** The database's clock: soft-delete times come from it, so ages are measured against it too. */
  async databaseNow(): Promise<Date> {
    const { rows } = await this.controlPlane.query<{ now: Date }>('SELECT now() AS now');
    return rows[0].now;
  }

  /** DELETED tenants whose soft delete happened before `cutoff`, oldest deletion first. */
  async listDeletedBefore(cutoff: Date): Promise<TenantRecord[]> {
    const { rows } = await this.controlPlane.query<TenantRow>(
      `SELECT ${COLUMNS} FROM ${TENANTS} WHERE status = 'DELETED' AND deleted_at < $1 ORDER BY deleted_at, id`,
      [cutoff],
    );
    return rows.map(toRecord);
  }

  /** The registry row locked for the caller's transaction, or null. */
  async lockById(id: string, db: PoolClient): Promise<TenantRecord | null> {
    const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM ${TENANTS} WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The domains of several tenants in one query (tenant id → domains, sorted). */
  async listDomainsOf(tenantIds: string[]): Promise<Map<string, string[]>> {
    const domains = new Map<string, string[]>(tenantIds.map((id) => [id, []]));
    if (tenantIds.length === 0) return domains;
    const { rows } = await this.controlPlane.query<{ tenant_id: string; domain: string }>(
      `SELECT tenant_id, domain FROM ${CONTROL_SCHEMA}.tenant_domains WHERE tenant_id = ANY($1::text[]) ORDER BY domain`,
      [tenantIds],
    );
    for (const row of rows) domains.get(row.tenant_id)?.push(row.domain);
    return domains;
  }

  async create(
    tenant: { id: string; name: string; plan: TenantPlan; schemaName: string; database?: string },
    db: Queryable = this.controlPlane,
  ): Promise<TenantRecord> {
    const { rows } = await db.query<TenantRow>(
      `INSERT INTO ${TENANTS} (id, name, plan, schema_name, database, status) VALUES ($1, $2, $3, $4, $5, 'PROVISIONING')
       RETURNING ${COLUMNS}`,
      [tenant.id, tenant.name, tenant.plan, tenant.schemaName, tenant.database ?? PRIMARY_DATABASE],
    );
    return toRecord(rows[0]);
  }

  async updateStatus(id: string, status: TenantStatus, db: Queryable = this.controlPlane): Promise<void> {
    await db.query(
      `UPDATE ${TENANTS}
          SET status = $2, updated_at = now(), deleted_at = CASE WHEN $2 = 'DELETED' THEN now() ELSE NULL END
        WHERE id = $1`,
      [id, status],
    );
  }

  /** Every tenant's migration summary (tenant id → last migration and count), for fleet planning in one query. */
  async listMigrationSummaries(): Promise<Map<string, { lastMigration: string | null; appliedCount: number }>> {
    const { rows } = await this.controlPlane.query<{ tenant_id: string; last_migration: string | null; applied_count: number }>(
      `SELECT tenant_id, last_migration, applied_count FROM ${CONTROL_SCHEMA}.tenant_migration_summary`,
    );
    return new Map(rows.map((row) => [row.tenant_id, { lastMigration: row.last_migration, appliedCount: row.applied_count }]));
  }

  async recordMigrations(tenantId: string, lastMigration: string | null, appliedCount: number, db: Queryable): Promise<void> {
    await db.query(
      `INSERT INTO ${CONTROL_SCHEMA}.tenant_migration_summary (tenant_id, last_migration, applied_count, updated_at)
       VALUES ($1, $2, $3, now())
       ON CONFLICT (tenant_id) DO UPDATE
         SET last_migration = EXCLUDED.last_migration, applied_count = EXCLUDED.applied_count, updated_at = now(),
             failed_migration = NULL, failure = NULL, failed_at = NULL`,
      [tenantId, lastMigration, appliedCount],
    );
  }

  async delete(id: string, db: Queryable = this.controlPlane): Promise<void> {
    await db.query(`DELETE FROM ${TENANTS} WHERE id = $1`, [id]);
  }

  /** Runs `run` in one transaction on one connection of the control plane's pool. */
  inTransaction<T>(run: (db: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.controlPlane, run);
  }

  /** Runs `run` in one transaction on an owner connection: for changes that drop a tenant's schema or role too. */
  inOwnerTransaction<T>(run: (db: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.owner, run);
  }

  /** Moves a tenant to `to` only if its status is one of `from` (compare-and-set); null when it was not. */
  async transition(id: string, from: TenantStatus[], to: TenantStatus, db: Queryable = this.controlPlane): Promise<TenantRecord | null> {
    const { rows } = await db.query<TenantRow>(
      `UPDATE ${TENANTS}
          SET status = $3, updated_at = now(), deleted_at = CASE WHEN $3 = 'DELETED' THEN now() ELSE NULL END
        WHERE id = $1 AND status = ANY($2::text[])
        RETURNING ${COLUMNS}`,
      [id, from, to],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The end of a move: the new placement and the status from before the fence, only while the tenant is MOVING. */
  async moveTo(id: string, database: string, status: TenantStatus): Promise<TenantRecord | null> {
    const { rows } = await this.controlPlane.query<TenantRow>(
      `UPDATE ${TENANTS} SET database = $2, status = $3, updated_at = now() WHERE id = $1 AND status = 'MOVING' RETURNING ${COLUMNS}`,
      [id, database, status],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async update(id: string, changes: { name?: string; plan?: TenantPlan }, db: Queryable = this.controlPlane): Promise<TenantRecord | null> {
    const { rows } = await db.query<TenantRow>(
      `UPDATE ${TENANTS} SET name = coalesce($2, name), plan = coalesce($3, plan), updated_at = now()
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [id, changes.name ?? null, changes.plan ?? null],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /**
   * Drops the tenant's schema and its registry row (domains and summary cascade) in the caller's transaction.
   * Refuses while a create of the same id holds its provisioning lock. A schema on another database than the
   * primary is dropped through `schemaDb` (its own commit, before the registry's).
   */
  async deleteWithSchema(tenant: TenantRecord, db: PoolClient, schemaDb: Queryable = db): Promise<void> {
    const { rows } = await db.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_xact_lock(hashtext('tenantry:tenant'), hashtext($1)) AS locked`,
      [tenant.id],
    );
    if (!rows[0].locked) throw new AppError(ErrorCode.CONFLICT, `Tenant "${tenant.id}" is being provisioned by another process`);
    await schemaDb.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(tenant.schemaName)} CASCADE`);
    await db.query(`DELETE FROM ${TENANTS} WHERE id = $1`, [tenant.id]);
  }

  async getMigrationSummary(tenantId: string): Promise<MigrationSummary | null> {
    const { rows } = await this.controlPlane.query<{ last_migration: string | null; applied_count: number; updated_at: Date }>(
      `SELECT last_migration, applied_count, updated_at FROM ${CONTROL_SCHEMA}.tenant_migration_summary WHERE tenant_id = $1`,
      [tenantId],
    );
    const row = rows[0];
    return row ? { lastMigration: row.last_migration, appliedCount: row.applied_count, updatedAt: row.updated_at } : null;
  }

  async listDomains(tenantId: string): Promise<TenantDomain[]> {
    const { rows } = await this.controlPlane.query<{ domain: string; created_at: Date }>(
      `SELECT domain, created_at FROM ${CONTROL_SCHEMA}.tenant_domains WHERE tenant_id = $1 ORDER BY domain`,
      [tenantId],
    );
    return rows.map((row) => ({ domain: row.domain, createdAt: row.created_at }));
  }

  /** Throws CONFLICT when any tenant already has `domain`, TENANT_NOT_FOUND when the tenant is gone. */
  async addDomain(tenantId: string, domain: string, db: Queryable = this.controlPlane): Promise<void> {
    try {
      await db.query(`INSERT INTO ${CONTROL_SCHEMA}.tenant_domains (domain, tenant_id) VALUES ($1, $2)`, [domain, tenantId]);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === UNIQUE_VIOLATION) throw new AppError(ErrorCode.CONFLICT, `The domain ${domain} already belongs to a tenant`);
      if (code === FOREIGN_KEY_VIOLATION) throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Unknown tenant "${tenantId}"`);
      throw error;
    }
  }

  /** Whether the tenant had `domain`. */
  async removeDomain(tenantId: string, domain: string, db: Queryable = this.controlPlane): Promise<boolean> {
    const { rowCount } = await db.query(`DELETE FROM ${CONTROL_SCHEMA}.tenant_domains WHERE domain = $1 AND tenant_id = $2`, [domain, tenantId]);
    return (rowCount ?? 0) > 0;
  }
}
