import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { MigrationLedgerRepository } from '../control-plane/migration-ledger.repository';
import { TenantRegistry } from '../control-plane/tenant-registry.service';
import { DatabasePools } from '../database/database-pools';
import { AffinityPool } from '../database/affinity-pool';
import { RateLimiter } from '../graphql/rate-limit.service';
import { FleetMigrator } from '../tenancy/fleet-migrator.service';
import { loadMigrations } from '../tenancy/migration-runner';
import { TenantConnectionService } from '../tenancy/tenant-connection.service';
import { TenantRejections } from '../tenancy/tenant-rejections';
import { UnknownTenantBudget } from '../tenancy/unknown-tenant-budget';
import { DEFAULT_MIGRATION_STATUS_TTL_MS, registerMigrationMetrics } from './migration-metrics';
import { DEFAULT_TOP_TENANTS, OBSERVABILITY_OPTIONS, type ObservabilityOptions } from './observability-options';
import { OTHER_TENANT, TopTenantLabels } from './tenant-labels';

// Operation names come from clients: only this many distinct ones get their own label, later ones are `other`.
const MAX_OPERATIONS = 100;
const OPERATION_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,63}$/;

export type Outcome = 'ok' | 'error';

/** One Prometheus registry per app: request metrics plus gauges and counters read from the plumbing on scrape. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly tenants: TopTenantLabels;
  private readonly operations = new Set<string>();
  // label sets recorded per tenant label, so a tenant that loses its label can have its series removed
  private readonly seriesByTenant = new Map<string, Map<string, { operation: string; outcome: Outcome }>>();
  private readonly requests: Counter<'operation' | 'tenant' | 'outcome'>;
  private readonly duration: Histogram<'operation' | 'tenant'>;
  private readonly rateLimited: Counter<'tenant'>;

  constructor(
    pools: DatabasePools, // the request pools: where tenants queue
    connections: TenantConnectionService,
    tenantRegistry: TenantRegistry,
    @Inject(OBSERVABILITY_OPTIONS) options: ObservabilityOptions,
    rateLimiter: RateLimiter,
    rejections: TenantRejections,
    migrator: FleetMigrator,
    ledger: MigrationLedgerRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    unknownTenants: UnknownTenantBudget,
  ) {
    this.tenants = new TopTenantLabels(options.topTenants ?? DEFAULT_TOP_TENANTS);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const ranker = this.rankTenants.bind(this);

    this.requests = new Counter({
      name: 'tenantry_graphql_requests_total',
      help: 'GraphQL requests by operation name, tenant (top K by traffic, else "other") and outcome',
      labelNames: ['operation', 'tenant', 'outcome'],
      registers,
      // Ranking on scrape keeps the exported tenant values bounded by K + 1.
      collect: ranker,
    });
    this.duration = new Histogram({
      name: 'tenantry_graphql_request_duration_seconds',
      help: 'GraphQL request latency by operation name and tenant (top K by traffic, else "other")',
      labelNames: ['operation', 'tenant'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });

    this.rateLimited = new Counter({
      name: 'tenantry_rate_limited_total',
      help: 'GraphQL requests refused with RATE_LIMITED, by tenant (top K by traffic, else "other")',
      labelNames: ['tenant'],
      registers,
    });
    // The request itself is counted by the request metrics; this only borrows the label it was given there.
    rateLimiter.onRejected((tenantId) => this.rateLimited.inc({ tenant: this.tenants.labels.has(tenantId) ? tenantId : OTHER_TENANT }));

    new Counter({
      name: 'tenantry_rate_limit_checks_total',
      help: 'Rate-limit decisions by where the bucket lives: "redis" (shared) or "local" (no Redis, or Redis failing)',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        this.inc({ store: 'redis' }, rateLimiter.stats.redis);
        this.inc({ store: 'local' }, rateLimiter.stats.local);
      },
    });

    new Counter({
      name: 'tenantry_tenant_rejections_total',
      help: 'Requests the tenant middleware refused before any GraphQL ran, by error code',
      labelNames: ['code'],
      registers,
      collect() {
        this.reset();
        for (const [code, count] of rejections.byCode) this.inc({ code }, count);
      },
    });

    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    // Monotonic totals kept by the services themselves; exported as counters read on scrape.
    const total = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });

    total('tenantry_unknown_tenant_answers_delayed_total', 'Unknown-tenant answers held until their client address had budget again (UNKNOWN_TENANT_RATE)', () => unknownTenants.stats.delayed);
    total('tenantry_unknown_tenant_answers_refused_total', 'Unknown-tenant requests refused with 429 because too many answers were held already (UNKNOWN_TENANT_MAX_HELD, _TOTAL)', () => unknownTenants.stats.refused);
    gauge('tenantry_unknown_tenant_answers_held', 'Unknown-tenant answers being held now', () => unknownTenants.held);

    // One series per placement database whose request pool this process has opened.
    const poolGauge = (name: string, help: string, read: (pool: Pool) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['database'],
        registers,
        collect() {
          this.reset();
          for (const [database, pool] of pools.openedRuntimes()) this.set({ database }, read(pool));
        },
      });
    poolGauge('tenantry_pg_pool_size', 'Connections open in the request pool of each database', (pool) => pool.totalCount);
    poolGauge('tenantry_pg_pool_idle', 'Idle connections in the request pool of each database', (pool) => pool.idleCount);
    poolGauge('tenantry_pg_pool_waiting', 'Queries waiting for a connection of the request pool of each database', (pool) => pool.waitingCount);
    new Counter({
      name: 'tenantry_pg_pool_acquisitions_total',
      help: "Connections taken for a tenant from the request pool of each database: its home connection, another that served it before (warm), or one whose backend had not (cold: it loads the tenant's catalog)",
      labelNames: ['database', 'connection'],
      registers,
      collect() {
        this.reset();
        for (const [database, pool] of pools.openedRuntimes()) {
          if (!(pool instanceof AffinityPool)) continue;
          for (const connection of ['home', 'warm', 'cold'] as const) this.inc({ database, connection }, pool.stats[connection]);
        }
      },
    });
    gauge('tenantry_tenant_connection_waiting', 'Statements waiting for a connection slot of their own tenant (at its cap)', () => connections.limiter.stats().waiting);
    total('tenantry_tenant_busy_total', 'Statements refused with TENANT_BUSY: they waited for a slot of their tenant longer than its plan lets one run', () => connections.limiter.rejected);
    gauge('tenantry_tenants_heavy', 'Tenants held to TENANT_MAX_HEAVY_CONNECTIONS because their statements hold connections long', () => connections.limiter.stats().heavyTenants);
    gauge('tenantry_tenant_clients_cached', 'Tenant PrismaClients held in the LRU', () => connections.size);
    total('tenantry_tenant_client_cache_hits_total', 'Tenant PrismaClient LRU hits', () => connections.stats.hits);
    total('tenantry_tenant_client_cache_misses_total', 'Tenant PrismaClient LRU misses (a client was created)', () => connections.stats.misses);
    total('tenantry_tenant_client_cache_evictions_total', 'Tenant PrismaClients evicted by the LRU bound', () => connections.stats.evictions);
    total('tenantry_tenant_registry_cache_hits_total', 'Tenant registry lookups answered by the in-process cache', () => tenantRegistry.stats.hits);
    total('tenantry_tenant_migrations_applied_total', 'Tenant migrations committed by a fleet run in this process (runs of the CLI: tenantry_fleet_migration_last_run_*)', () => migrator.stats.applied);
    total('tenantry_tenant_migration_failures_total', 'Tenants the fleet runner in this process left failed or blocked', () => migrator.stats.failed);
    total('tenantry_tenant_registry_cache_misses_total', 'Tenant registry lookups that went to Redis or the control plane', () => tenantRegistry.stats.misses);

    // The migrations this deployment ships: a tenant whose summary reached the newest one is current.
    const migrations = loadMigrations(config.paths.tenantMigrations);
    const newest = migrations.at(-1)?.name ?? null;
    registerMigrationMetrics(this.registry, () => ledger.status(newest, migrations.length), options.migrationStatusTtlMs ?? DEFAULT_MIGRATION_STATUS_TTL_MS);
  }

  /** Records one finished GraphQL request. */
  observeRequest(operationName: string | null | undefined, tenantId: string | undefined, outcome: Outcome, seconds: number): void {
    const operation = this.operationLabel(operationName);
    const tenant = tenantId === undefined ? 'none' : this.tenants.labelFor(tenantId);
    this.requests.inc({ operation, tenant, outcome });
    this.duration.observe({ operation, tenant }, seconds);
    let series = this.seriesByTenant.get(tenant);
    if (!series) this.seriesByTenant.set(tenant, (series = new Map()));
    series.set(`${operation}\u0000${outcome}`, { operation, outcome });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private operationLabel(name: string | null | undefined): string {
    if (name === undefined) return 'invalid';
    if (name === null || name === '') return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (this.operations.has(name)) return name;
    if (this.operations.size >= MAX_OPERATIONS) return 'other';
    this.operations.add(name);
    return name;
  }

  private rankTenants(): void {
    for (const tenant of this.tenants.rank()) {
      for (const { operation, outcome } of this.seriesByTenant.get(tenant)?.values() ?? []) {
        this.requests.remove({ operation, tenant, outcome });
        this.duration.remove({ operation, tenant });
      }
      this.seriesByTenant.delete(tenant);
      this.rateLimited.remove({ tenant });
    }
  }
}
