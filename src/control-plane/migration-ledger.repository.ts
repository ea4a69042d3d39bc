import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { CONTROL_PLANE_POOL } from '../database/database-tokens';
import { inTransaction } from './in-transaction.util';
import { CONTROL_SCHEMA } from './control-plane-migrator';

/** What one fleet migration run did, as recorded for every API instance to report. */
export interface FleetRunRecord {
  startedAt: Date;
  latestMigration: string | null;
  tenants: number;
  migrated: number;
  failed: number;
  blocked: number;
  skipped: number;
  /** Migration transactions committed. */
  applied: number;
  halted?: string;
  /** Tenants the run left failed or blocked, with the migration and error; every other visited tenant is cleared. */
  failures: { tenantId: string; migration: string | null; error: string }[];
  cleared: string[];
}

/** Where the fleet stands, counted from the control plane alone (no tenant schema is visited). */
export interface FleetMigrationStatus {
  tenants: { current: number; pending: number; failed: number };
  lastRun: (Omit<FleetRunRecord, 'failures' | 'cleared' | 'halted'> & { finishedAt: Date; halted: boolean }) | null;
}

/** The fleet migration runs and the per-tenant failures they leave, in the control plane. */
@Injectable()
export class MigrationLedgerRepository {
  constructor(@Inject(CONTROL_PLANE_POOL) private readonly controlPlane: Pool) {}

  /** One transaction: the run's row, its failures on the tenants' summaries, and the failures it cleared. */
  async recordRun(run: FleetRunRecord): Promise<void> {
    await inTransaction(this.controlPlane, async (client) => {
      await client.query(
        `INSERT INTO ${CONTROL_SCHEMA}.fleet_migration_runs
           (started_at, latest_migration, tenants, migrated, failed, blocked, skipped, applied, halted)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [run.startedAt, run.latestMigration, run.tenants, run.migrated, run.failed, run.blocked, run.skipped, run.applied, run.halted ?? null],
      );
      if (run.cleared.length > 0) {
        await client.query(
          `UPDATE ${CONTROL_SCHEMA}.tenant_migration_summary SET failed_migration = NULL, failure = NULL, failed_at = NULL
            WHERE tenant_id = ANY($1::text[]) AND failed_at IS NOT NULL`,
          [run.cleared],
        );
      }
      if (run.failures.length > 0) {
        // A tenant without a summary gets one that counts nothing applied: the next run visits its schema.
        await client.query(
          `INSERT INTO ${CONTROL_SCHEMA}.tenant_migration_summary (tenant_id, failed_migration, failure, failed_at)
           SELECT f.tenant_id, f.migration, f.error, now()
             FROM unnest($1::text[], $2::text[], $3::text[]) AS f (tenant_id, migration, error)
             JOIN ${CONTROL_SCHEMA}.tenants t ON t.id = f.tenant_id
           ON CONFLICT (tenant_id) DO UPDATE
             SET failed_migration = EXCLUDED.failed_migration, failure = EXCLUDED.failure, failed_at = EXCLUDED.failed_at`,
          [run.failures.map((f) => f.tenantId), run.failures.map((f) => f.migration), run.failures.map((f) => f.error.slice(0, 2000))],
        );
      }
    });
  }

  /**
   * One statement. A migratable tenant is failed when its last run left it failed or blocked, current when its summary
   * has reached `latest` (names sort by time, so a newer one deployed by a newer runner counts too), else pending.
   */
  async status(latest: string | null, count: number): Promise<FleetMigrationStatus> {
    const { rows } = await this.controlPlane.query<{ failed: string; current: string; total: string; last_run: RunRow | null }>(
      `SELECT count(*) FILTER (WHERE s.failed_at IS NOT NULL) AS failed,
              count(*) FILTER (WHERE s.failed_at IS NULL AND s.applied_count >= $2
                                 AND ($1::text IS NULL OR s.last_migration >= $1::text)) AS current,
              count(*) AS total,
              (SELECT row_to_json(r) FROM (SELECT * FROM ${CONTROL_SCHEMA}.fleet_migration_runs ORDER BY id DESC LIMIT 1) r) AS last_run
         FROM ${CONTROL_SCHEMA}.tenants t
         LEFT JOIN ${CONTROL_SCHEMA}.tenant_migration_summary s ON s.tenant_id = t.id
        WHERE t.status IN ('ACTIVE', 'SUSPENDED')`,
      [latest, count],
    );
    const [row] = rows;
    const failed = Number(row.failed);
    const current = Number(row.current);
    const run = row.last_run;
    return {
      tenants: { current, failed, pending: Number(row.total) - current - failed },
      lastRun: run && {
        startedAt: new Date(run.started_at),
        finishedAt: new Date(run.finished_at),
        latestMigration: run.latest_migration,
        tenants: run.tenants,
        migrated: run.migrated,
        failed: run.failed,
        blocked: run.blocked,
        skipped: run.skipped,
        applied: run.applied,
        halted: run.halted !== null,
      },
    };
  }
}

// row_to_json: timestamps arrive as strings.
interface RunRow {
  started_at: string;
  finished_at: string;
  latest_migration: string | null;
  tenants: number;
  migrated: number;
  failed: number;
  blocked: number;
  skipped: number;
  applied: number;
  halted: string | null;
}
