import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { SHARED_POOL } from '../database/database.module';
import { CONTROL_SCHEMA } from './control-plane-migrator';
import type { TenantPlan, TenantRecord, TenantStatus } from './tenant-record';

const COLUMNS = `id, name, status, plan, schema_name, deleted_at, created_at, updated_at`;
const TENANTS = `${CONTROL_SCHEMA}.tenants`;

interface TenantRow {
  id: string;
  name: string;
  status: TenantStatus;
  plan: TenantPlan;
  schema_name: string;
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
    deletedAt: row.deleted_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

type Queryable = Pool | PoolClient;

/** The control-plane registry: the only SQL that sees every tenant. */
@Injectable()
export class TenantRegistryRepository {
  constructor(@Inject(SHARED_POOL) private readonly crossTenantPool: Pool) {}

  /** Readiness probe: the control plane answers, so the database does. */
  async ping(): Promise<void> {
    await this.crossTenantPool.query('SELECT 1');
  }

  async getById(id: string, db: Queryable = this.crossTenantPool): Promise<TenantRecord | null> {
    const { rows } = await db.query<TenantRow>(`SELECT ${COLUMNS} FROM ${TENANTS} WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async getByDomain(domain: string): Promise<TenantRecord | null> {
    const { rows } = await this.crossTenantPool.query<TenantRow>(
      `SELECT ${COLUMNS.split(', ').map((c) => `t.${c}`).join(', ')}
         FROM ${CONTROL_SCHEMA}.tenant_domains d JOIN ${TENANTS} t ON t.id = d.tenant_id
        WHERE d.domain = $1`,
      [domain],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(): Promise<TenantRecord[]> {
    const { rows } = await this.crossTenantPool.query<TenantRow>(`SELECT ${COLUMNS} FROM ${TENANTS} ORDER BY id`);
    return rows.map(toRecord);
  }

  async count(): Promise<number> {
    const { rows } = await this.crossTenantPool.query<{ n: string }>(`SELECT count(*) AS n FROM ${TENANTS}`);
    return Number(rows[0].n);
  }

  async listByStatus(status: TenantStatus): Promise<TenantRecord[]> {
    const { rows } = await this.crossTenantPool.query<TenantRow>(
      `SELECT ${COLUMNS} FROM ${TENANTS} WHERE status = $1 ORDER BY id`,
      [status],
    );
    return rows.map(toRecord);
  }

  async create(
    tenant: { id: string; name: string; plan: TenantPlan; schemaName: string },
    db: Queryable = this.crossTenantPool,
  ): Promise<TenantRecord> {
    const { rows } = await db.query<TenantRow>(
      `INSERT INTO ${TENANTS} (id, name, plan, schema_name, status) VALUES ($1, $2, $3, $4, 'PROVISIONING')
       RETURNING ${COLUMNS}`,
      [tenant.id, tenant.name, tenant.plan, tenant.schemaName],
    );
    return toRecord(rows[0]);
  }

  async updateStatus(id: string, status: TenantStatus, db: Queryable = this.crossTenantPool): Promise<void> {
    await db.query(
      `UPDATE ${TENANTS}
          SET status = $2, updated_at = now(), deleted_at = CASE WHEN $2 = 'DELETED' THEN now() ELSE NULL END
        WHERE id = $1`,
      [id, status],
    );
  }

  async recordMigrations(tenantId: string, lastMigration: string | null, appliedCount: number, db: Queryable): Promise<void> {
    await db.query(
      `INSERT INTO ${CONTROL_SCHEMA}.tenant_migration_summary (tenant_id, last_migration, applied_count, updated_at)
       VALUES ($1, $2, $3, now())
       ON CONFLICT (tenant_id) DO UPDATE
         SET last_migration = EXCLUDED.last_migration, applied_count = EXCLUDED.applied_count, updated_at = now()`,
      [tenantId, lastMigration, appliedCount],
    );
  }

  async delete(id: string, db: Queryable = this.crossTenantPool): Promise<void> {
    await db.query(`DELETE FROM ${TENANTS} WHERE id = $1`, [id]);
  }
}
