import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { CONTROL_PLANE_POOL } from '../database/database-tokens';
import { CONTROL_SCHEMA } from './control-plane-migrator';

export interface AuditEntry {
  tenantId: string;
  action: string;
  actor: string;
  result: 'ok' | 'error';
  /** What was asked and what changed; never secrets. */
  details: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: Date;
}

/**
 * The control plane's audit of operations on tenants (create, suspend, export, move…), kept beside the registry
 * and outliving the tenant's schema. Runs as the control-plane role; an entry that belongs to a registry change is
 * written in the caller's transaction (`db`).
 */
@Injectable()
export class TenantAuditRepository {
  constructor(@Inject(CONTROL_PLANE_POOL) private readonly controlPlane: Pool) {}

  async create(entry: AuditEntry, db: Pool | PoolClient = this.controlPlane): Promise<void> {
    await db.query(
      `INSERT INTO ${CONTROL_SCHEMA}.tenant_audit (tenant_id, action, actor, result, details) VALUES ($1, $2, $3, $4, $5)`,
      [entry.tenantId, entry.action, entry.actor, entry.result, JSON.stringify(entry.details)],
    );
  }

  /** The newest `limit` audit rows of a tenant, newest first. */
  async list(tenantId: string, limit: number): Promise<AuditRecord[]> {
    const { rows } = await this.controlPlane.query<{
      id: string; tenant_id: string; action: string; actor: string; at: Date; result: 'ok' | 'error'; details: Record<string, unknown>;
    }>(
      `SELECT id, tenant_id, action, actor, at, result, details FROM ${CONTROL_SCHEMA}.tenant_audit
        WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`,
      [tenantId, limit],
    );
    return rows.map((row) => ({ id: row.id, tenantId: row.tenant_id, action: row.action, actor: row.actor, at: row.at, result: row.result, details: row.details }));
  }
}
