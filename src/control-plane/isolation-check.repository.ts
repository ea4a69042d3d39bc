import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { CONTROL_PLANE_POOL } from '../database/database-tokens';
import { CONTROL_SCHEMA } from './control-plane-migrator';

/** A cross-tenant read that PostgreSQL did not refuse with a permission error. */
export interface IsolationProbeFailure {
  from: string;
  to: string;
  outcome: 'readable' | 'error';
  detail?: string;
}

export interface IsolationCheckRecord {
  id: string;
  startedAt: Date;
  finishedAt: Date;
  tenants: number;
  probes: number;
  ok: boolean;
  failures: IsolationProbeFailure[];
}

/** The history of `tenants isolation-check` runs in the control plane. */
@Injectable()
export class IsolationCheckRepository {
  constructor(@Inject(CONTROL_PLANE_POOL) private readonly controlPlane: Pool) {}

  async record(check: Omit<IsolationCheckRecord, 'id' | 'finishedAt'>): Promise<IsolationCheckRecord> {
    const { rows } = await this.controlPlane.query<CheckRow>(
      `INSERT INTO ${CONTROL_SCHEMA}.isolation_checks (started_at, tenants, probes, ok, failures)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [check.startedAt, check.tenants, check.probes, check.ok, JSON.stringify(check.failures)],
    );
    return toRecord(rows[0]);
  }

  async latest(): Promise<IsolationCheckRecord | null> {
    const { rows } = await this.controlPlane.query<CheckRow>(`SELECT * FROM ${CONTROL_SCHEMA}.isolation_checks ORDER BY id DESC LIMIT 1`);
    return rows[0] ? toRecord(rows[0]) : null;
  }
}

interface CheckRow {
  id: string;
  started_at: Date;
  finished_at: Date;
  tenants: number;
  probes: number;
  ok: boolean;
  failures: IsolationProbeFailure[];
}

function toRecord(row: CheckRow): IsolationCheckRecord {
  return {
    id: row.id,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    tenants: row.tenants,
    probes: row.probes,
    ok: row.ok,
    failures: row.failures,
  };
}
