import { Gauge, type Registry } from 'prom-client';
import type { FleetMigrationStatus } from '../control-plane/migration-ledger.repository';

export const DEFAULT_MIGRATION_STATUS_TTL_MS = 10_000;

/**
 * The fleet's migration state for /metrics, read from the control plane (fleet runs happen in the CLI's process, not
 * this one): at most one query per `ttlMs`, shared by concurrent scrapes. When the read fails the last known values
 * stay, and `tenantry_fleet_migration_status_up` says so.
 */
export function registerMigrationMetrics(registry: Registry, read: () => Promise<FleetMigrationStatus>, ttlMs: number): void {
  let cached: { at: number; status?: FleetMigrationStatus; ok: boolean } | undefined;
  let reading: Promise<void> | undefined;
  const refresh = async () => {
    if (cached && Date.now() - cached.at < ttlMs) return;
    reading ??= read()
      .then((status) => void (cached = { at: Date.now(), status, ok: true }))
      .catch(() => void (cached = { at: Date.now(), status: cached?.status, ok: false }))
      .finally(() => (reading = undefined));
    await reading;
  };
  const registers = [registry];

  new Gauge({
    name: 'tenantry_fleet_migration_status_up',
    help: 'Whether the last read of the fleet migration state from the control plane succeeded (1) or not (0)',
    registers,
    async collect() {
      await refresh();
      this.set(cached?.ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tenantry_tenants_by_migration_state',
    help: 'Active and suspended tenants by migration state: current (at the newest migration), pending, failed (the last fleet run failed or blocked them)',
    labelNames: ['state'],
    registers,
    async collect() {
      await refresh();
      const tenants = cached?.status?.tenants;
      if (!tenants) return;
      for (const state of ['current', 'pending', 'failed'] as const) this.set({ state }, tenants[state]);
    },
  });
  new Gauge({
    name: 'tenantry_fleet_migration_last_run_timestamp_seconds',
    help: 'When the last fleet migration run (tenants migrate, any process) finished, in Unix seconds; 0 before the first run',
    registers,
    async collect() {
      await refresh();
      const run = cached?.status?.lastRun;
      if (run) this.set(run.finishedAt.getTime() / 1000);
    },
  });
  new Gauge({
    name: 'tenantry_fleet_migration_last_run_tenants',
    help: 'Tenants of the last fleet migration run by outcome: migrated, failed, blocked (checksum drift), skipped',
    labelNames: ['outcome'],
    registers,
    async collect() {
      await refresh();
      const run = cached?.status?.lastRun;
      if (!run) return;
      for (const outcome of ['migrated', 'failed', 'blocked', 'skipped'] as const) this.set({ outcome }, run[outcome]);
    },
  });
  new Gauge({
    name: 'tenantry_fleet_migration_last_run_applied',
    help: 'Migration transactions the last fleet migration run committed',
    registers,
    async collect() {
      await refresh();
      const run = cached?.status?.lastRun;
      if (run) this.set(run.applied);
    },
  });
  new Gauge({
    name: 'tenantry_fleet_migration_last_run_halted',
    help: 'Whether the last fleet migration run stopped scheduling early (failed canary or --max-failures): 1 or 0',
    registers,
    async collect() {
      await refresh();
      const run = cached?.status?.lastRun;
      if (run) this.set(run.halted ? 1 : 0);
    },
  });
}
