import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DatabasePools } from '../database/database-pools';
import { directDatabaseUrl } from '../database/database-roles';
import { SHARED_POOL } from '../database/database-tokens';
import type { TenantRecord } from '../control-plane/tenant-record';
import { MigrationLedgerRepository } from '../control-plane/migration-ledger.repository';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { AppError, ErrorCode } from '../graphql/app-error';
import { TenantRoles } from './tenant-roles.service';
import { acquireFleetLock, type FleetLock } from './fleet-migration-lock';
import { totalsOf, type FleetMigrationReport, type FleetProgress, type FleetTenantResult } from './fleet-migration-report';
import {
  acceptMigrationChecksum,
  applyMigrationInOwnTransaction,
  loadMigrations,
  MigrationChecksumError,
  pendingMigrations,
  readLedger,
  readLedgers,
  type MigrationFile,
} from './migration-runner';

export interface FleetMigrateOptions {
  /** Only these tenant ids (any status but DELETED / PROVISIONING, which are reported as skipped). */
  tenants?: string[];
  concurrency?: number;
  /** Migrate the first N tenants (id order) and continue only if all of them succeeded. */
  canary?: number;
  /** Run in waves of this many tenants. */
  batchSize?: number;
  /** Stop scheduling tenants after this many failed or blocked ones. */
  maxFailures?: number;
  dryRun?: boolean;
  /** Defaults to config.paths.tenantMigrations. */
  migrationsDir?: string;
  /** Awaited before the next tenant is visited. */
  onProgress?: (progress: FleetProgress) => void | Promise<void>;
}

const MIGRATABLE = new Set(['ACTIVE', 'SUSPENDED']);
// Ledgers read per statement when checking the tenants the summary calls current.
const SWEEP_CHUNK = 100;

/**
 * Migrates every tenant schema: one transaction per migration per tenant with its ledger row, so a failure or a
 * kill leaves each schema at a ledger version and a rerun completes the fleet. One runner at a time.
 */
@Injectable()
export class FleetMigrator {
  /** Totals over this process's runs, for metrics: migrations committed, and tenants that failed or were blocked. */
  readonly stats = { applied: 0, failed: 0 };

  constructor(
    @Inject(SHARED_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistryRepository,
    private readonly roles: TenantRoles,
    private readonly ledger: MigrationLedgerRepository,
    private readonly pools: DatabasePools,
  ) {}

  /** Leaves a connection of the shared pool for the registry's own queries. */
  defaultConcurrency(): number {
    return Math.max(1, this.config.pgPoolMax - 1);
  }

  /** Throws FleetLockedError (before changing anything) when another runner holds the lock; --dry-run takes none. */
  async migrate(options: FleetMigrateOptions = {}): Promise<FleetMigrationReport> {
    const lock = options.dryRun ? undefined : await acquireFleetLock(this.databaseUrl());
    try {
      const report = await this.run(options, lock);
      // Tenants that predate their role get one; the migrated ones were re-granted above.
      if (!options.dryRun) await this.roles.ensureAll();
      return report;
    } finally {
      await lock?.release();
    }
  }

  /** Accepts the file's current checksum for an applied migration that changed on disk (`migrate resolve --accept`). */
  async acceptChecksum(tenantId: string, migrationName: string, migrationsDir = this.config.paths.tenantMigrations): Promise<void> {
    const tenant = await this.registry.getById(tenantId);
    if (!tenant) throw new AppError(ErrorCode.NOT_FOUND, `No tenant "${tenantId}"`);
    const migration = loadMigrations(migrationsDir).find((m) => m.name === migrationName);
    if (!migration) throw new AppError(ErrorCode.NOT_FOUND, `No migration "${migrationName}" in ${migrationsDir}`);
    const lock = await acquireFleetLock(this.databaseUrl());
    try {
      if (!(await acceptMigrationChecksum(this.pools.owner(tenant.database), tenant.schemaName, migration))) {
        throw new AppError(ErrorCode.NOT_FOUND, `Migration ${migrationName} has not been applied to tenant ${tenantId}`);
      }
    } finally {
      await lock.release();
    }
  }

  private async run(options: FleetMigrateOptions, lock?: FleetLock): Promise<FleetMigrationReport> {
    const started = Date.now();
    const migrations = loadMigrations(options.migrationsDir ?? this.config.paths.tenantMigrations);
    const concurrency = Math.max(1, options.concurrency ?? this.defaultConcurrency());
    const dryRun = options.dryRun ?? false;
    const results = new Map<string, FleetTenantResult>();
    const targets = await this.targets(options.tenants, results);

    // The summary answers "current" without visiting a schema; those tenants only get a bulk checksum check.
    const latest = migrations.at(-1)?.name ?? null;
    const summaries = await this.registry.listMigrationSummaries();
    const atLatest = targets.filter((t) => {
      const summary = summaries.get(t.id);
      return summary !== undefined && summary.lastMigration === latest && summary.appliedCount === migrations.length;
    });
    const behind = new Set(await this.sweep(atLatest, migrations, results));
    const queue = targets.filter((t) => !atLatest.includes(t) || behind.has(t.id));

    let halted: string | undefined;
    let done = 0;
    let failures = 0;
    const visit = async (tenant: TenantRecord) => {
      // A second runner may start once the lock's connection is gone: stop rather than race it.
      if (!halted && lock && !(await lock.stillHeld())) halted = 'lost the fleet-migration lock (its connection ended)';
      if (halted) {
        results.set(tenant.id, { id: tenant.id, status: 'skipped', applied: [], pending: [], error: halted });
        return;
      }
      const result = await this.migrateTenant(tenant, migrations, dryRun);
      results.set(tenant.id, result);
      this.stats.applied += result.applied.length;
      if (result.status === 'failed' || result.status === 'blocked') {
        failures++;
        this.stats.failed++;
      }
      if (options.maxFailures !== undefined && failures >= options.maxFailures && !halted) {
        halted = `stopped after ${failures} failure(s) (--max-failures ${options.maxFailures})`;
      }
      await options.onProgress?.({ done: ++done, total: queue.length, result });
    };

    for (const [index, wave] of waves(queue, options.canary, options.batchSize).entries()) {
      await forEachBounded(wave, concurrency, visit);
      const canaryFailed = index === 0 && options.canary && wave.some((t) => ['failed', 'blocked'].includes(results.get(t.id)!.status));
      if (canaryFailed && !halted) halted = `canary of ${wave.length} tenant(s) failed`;
    }

    const tenants = [...results.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const report: FleetMigrationReport = {
      startedAt: new Date(started).toISOString(),
      elapsedMs: Date.now() - started,
      dryRun,
      concurrency,
      latestMigration: latest,
      migrationCount: migrations.length,
      ...(halted ? { halted } : {}),
      tenants,
      totals: totalsOf(tenants, queue.length),
    };
    if (!dryRun) await this.recordRun(report);
    return report;
  }

  // The API instances' /metrics read the fleet's state from the control plane: this run happened in another process.
  private async recordRun({ startedAt, latestMigration, halted, tenants, totals }: FleetMigrationReport): Promise<void> {
    const failing = tenants.filter((t) => t.status === 'failed' || t.status === 'blocked');
    await this.ledger.recordRun({
      startedAt: new Date(startedAt),
      latestMigration,
      tenants: totals.tenants,
      migrated: totals.migrated,
      failed: totals.failed,
      blocked: totals.blocked,
      skipped: totals.skipped,
      applied: totals.applied,
      halted,
      // A failed tenant's first pending migration is the one that failed; a blocked one names it in its error.
      failures: failing.map((t) => ({ tenantId: t.id, migration: t.status === 'failed' ? (t.pending[0] ?? null) : null, error: t.error ?? t.status })),
      cleared: tenants.filter((t) => t.status === 'current' || t.status === 'migrated').map((t) => t.id),
    });
  }

  /** The tenants to migrate, in id order; named tenants that cannot be migrated are recorded as skipped. */
  private async targets(ids: string[] | undefined, results: Map<string, FleetTenantResult>): Promise<TenantRecord[]> {
    const all = await this.registry.list();
    if (!ids) return all.filter((t) => MIGRATABLE.has(t.status));
    const byId = new Map(all.map((t) => [t.id, t]));
    const unknown = ids.filter((id) => !byId.has(id));
    if (unknown.length > 0) throw new AppError(ErrorCode.NOT_FOUND, `No such tenant(s): ${unknown.join(', ')}`);
    const named = [...new Set(ids)].sort().map((id) => byId.get(id)!);
    for (const t of named.filter((t) => !MIGRATABLE.has(t.status))) {
      results.set(t.id, { id: t.id, status: 'skipped', applied: [], pending: [], error: `tenant is ${t.status}` });
    }
    return named.filter((t) => MIGRATABLE.has(t.status));
  }

  /**
   * Checks the ledgers of tenants the summary calls current, a chunk per statement: records them as current or
   * blocked, and returns the ids that turn out to be behind after all (or whose ledger could not be read in bulk).
   */
  private async sweep(tenants: TenantRecord[], migrations: MigrationFile[], results: Map<string, FleetTenantResult>): Promise<string[]> {
    const behind: string[] = [];
    // A chunk never spans two databases: its ledgers are read in one statement.
    const chunks: TenantRecord[][] = [];
    // On a database this process has no URL for: visited, and reported failed, one by one.
    behind.push(...tenants.filter((t) => !this.pools.has(t.database)).map((t) => t.id));
    for (const database of this.pools.names()) {
      const placed = tenants.filter((t) => t.database === database);
      for (let i = 0; i < placed.length; i += SWEEP_CHUNK) chunks.push(placed.slice(i, i + SWEEP_CHUNK));
    }
    for (const chunk of chunks) {
      let ledgers: Map<string, string>[];
      try {
        ledgers = await readLedgers(this.pools.owner(chunk[0].database), chunk.map((t) => t.schemaName));
      } catch {
        // A schema without a ledger: let each tenant of the chunk be visited and reported on its own.
        behind.push(...chunk.map((t) => t.id));
        continue;
      }
      chunk.forEach((tenant, n) => {
        try {
          if (pendingMigrations(tenant.schemaName, ledgers[n], migrations).length > 0) behind.push(tenant.id);
          else results.set(tenant.id, { id: tenant.id, status: 'current', applied: [], pending: [] });
        } catch (error) {
          results.set(tenant.id, { id: tenant.id, status: 'blocked', applied: [], pending: [], error: (error as Error).message });
        }
      });
    }
    return behind;
  }

  private async migrateTenant(tenant: TenantRecord, migrations: MigrationFile[], dryRun: boolean): Promise<FleetTenantResult> {
    const started = Date.now();
    const applied: string[] = [];
    let pending: MigrationFile[] = [];
    if (!this.pools.has(tenant.database)) {
      return { id: tenant.id, status: 'failed', applied, pending: [], error: `database "${tenant.database}" is not configured (DATABASES)` };
    }
    const client = await this.pools.owner(tenant.database).connect();
    // The summary lives on the primary: on the tenant's connection only when that is the primary.
    const registryDb = tenant.database === PRIMARY_DATABASE ? client : this.pool;
    try {
      const ledger = (await readLedger(client, tenant.schemaName)) ?? new Map<string, string>();
      pending = pendingMigrations(tenant.schemaName, ledger, migrations);
      if (dryRun) return { id: tenant.id, status: pending.length > 0 ? 'pending' : 'current', applied, pending: pending.map((m) => m.name) };
      if (pending.length === 0) {
        // The summary was stale or missing: refresh it so the next run need not visit this schema.
        await this.registry.recordMigrations(tenant.id, [...ledger.keys()].sort().at(-1) ?? null, ledger.size, registryDb);
      }
      for (const migration of pending) {
        await applyMigrationInOwnTransaction(client, tenant.schemaName, migration);
        applied.push(migration.name);
        await this.registry.recordMigrations(tenant.id, migration.name, ledger.size + applied.length, registryDb);
      }
      // Objects the migrations created are the tenant role's too, whoever ran them (default privileges are per owner).
      if (applied.length > 0) await this.grantTenantRole(client, tenant);
      const status = applied.length > 0 ? 'migrated' : 'current';
      return { id: tenant.id, status, applied, pending: [], elapsedMs: Date.now() - started };
    } catch (error) {
      const status = error instanceof MigrationChecksumError ? 'blocked' : 'failed';
      const failedAt = pending[applied.length]?.name;
      const message = (error as Error).message;
      return {
        id: tenant.id,
        status,
        applied,
        pending: pending.slice(applied.length).map((m) => m.name),
        error: failedAt && status === 'failed' ? `${failedAt}: ${message}` : message,
        elapsedMs: Date.now() - started,
      };
    } finally {
      client.release();
    }
  }

  private async grantTenantRole(client: PoolClient, tenant: TenantRecord): Promise<void> {
    await client.query('BEGIN');
    try {
      await this.roles.ensureTenantRole(client, tenant.id, tenant.schemaName);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  // A session lock: never through a pooler in transaction mode.
  private databaseUrl(): string {
    return directDatabaseUrl(this.config);
  }
}

/** The canary (if any) first, then the rest in waves of `batchSize` (or one wave). */
function waves<T>(queue: T[], canary = 0, batchSize = 0): T[][] {
  const result: T[][] = [];
  const rest = canary > 0 ? queue.slice(canary) : queue;
  if (canary > 0) result.push(queue.slice(0, canary));
  const size = batchSize > 0 ? batchSize : Math.max(rest.length, 1);
  for (let i = 0; i < rest.length; i += size) result.push(rest.slice(i, i + size));
  return result;
}

/** Runs `work` over `items` with at most `limit` in flight: a fixed set of workers draining one queue. */
async function forEachBounded<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
