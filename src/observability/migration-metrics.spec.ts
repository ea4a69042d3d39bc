import { Registry } from 'prom-client';
import type { FleetMigrationStatus } from '../control-plane/migration-ledger.repository';
import { registerMigrationMetrics } from './migration-metrics';

const status = (failed: number): FleetMigrationStatus => ({
  tenants: { current: 3, pending: 1, failed },
  lastRun: {
    startedAt: new Date(1_000_000),
    finishedAt: new Date(2_000_000),
    latestMigration: 'm2',
    tenants: 4,
    migrated: 2,
    failed,
    blocked: 0,
    skipped: 0,
    applied: 2,
    halted: false,
  },
});

describe('registerMigrationMetrics', () => {
  afterEach(() => jest.useRealTimers());

  it('reads the control plane once per TTL for all gauges and scrapes, and keeps the last values when a read fails', async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const registry = new Registry();
    const read = jest.fn<Promise<FleetMigrationStatus>, []>().mockResolvedValueOnce(status(1));
    registerMigrationMetrics(registry, read, 10_000);

    const [first] = await Promise.all([registry.metrics(), registry.metrics()]);
    expect(read).toHaveBeenCalledTimes(1);
    expect(first).toContain('tenantry_tenants_by_migration_state{state="failed"} 1');
    expect(first).toContain('tenantry_fleet_migration_last_run_timestamp_seconds 2000');
    expect(first).toContain('tenantry_fleet_migration_status_up 1');

    jest.advanceTimersByTime(10_001);
    read.mockRejectedValueOnce(new Error('control plane away'));
    const failed = await registry.metrics();
    expect(read).toHaveBeenCalledTimes(2);
    expect(failed).toContain('tenantry_fleet_migration_status_up 0');
    expect(failed).toContain('tenantry_tenants_by_migration_state{state="failed"} 1');

    jest.advanceTimersByTime(10_001);
    read.mockResolvedValueOnce(status(0));
    const recovered = await registry.metrics();
    expect(recovered).toContain('tenantry_tenants_by_migration_state{state="failed"} 0');
    expect(recovered).toContain('tenantry_fleet_migration_status_up 1');
  });
});
