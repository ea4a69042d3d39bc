// P2: does tenant count cost anything? The same load spread over every tenant (Zipf) with the tenant-client LRU
// at TENANT_CLIENT_CACHE_SIZE, against the same load on one tenant; each in a fresh Tenantry process. Samples
// pg_stat_activity during the run (the connection bound) and reads the LRU's counters from /metrics.
import { Client } from 'pg';
import { loadServer, touchTenants } from './api.scenario';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { zipfSampler, type LoadResult } from './load';
import { fixed, log, round, table } from './report';
import { SCRIPTS, scrapeMetrics, startServer } from './servers';

export interface TenantsRun extends LoadResult {
  tenants: number;
  /** Most backends of this database seen at once (the API's pool plus nothing else), sampled every 100 ms. */
  peakConnections: number;
  cacheHitRatio: number;
  evictionsPerSecond: number;
  clientsCached: number;
}

export interface TenantsResult {
  scenario: 'P2 tenant count';
  cacheSize: number;
  oneTenant: TenantsRun;
  allTenants: TenantsRun;
  ratios: { throughput: number; p99: number };
}

const CACHE_METRICS = ['tenantry_tenant_client_cache_hits_total', 'tenantry_tenant_client_cache_misses_total', 'tenantry_tenant_client_cache_evictions_total'] as const;

export async function tenantsScenario(fixture: Fixture, options: BenchOptions): Promise<TenantsResult> {
  const oneTenant = await measure(fixture, options, 1, () => 0);
  const allTenants = await measure(fixture, options, fixture.tenants.length, zipfSampler(fixture.tenants.length, options.zipf));
  return {
    scenario: 'P2 tenant count',
    cacheSize: options.cacheSize,
    oneTenant,
    allTenants,
    ratios: { throughput: round(allTenants.rps / oneTenant.rps, 3), p99: round(allTenants.p99 / oneTenant.p99, 3) },
  };
}

async function measure(fixture: Fixture, options: BenchOptions, tenants: number, pick: () => number): Promise<TenantsRun> {
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(options.cacheSize) });
  const server = await startServer(`Tenantry (${tenants} tenant${tenants === 1 ? '' : 's'})`, SCRIPTS.tenantry, env);
  const sampler = new Client({ connectionString: fixture.url });
  await sampler.connect();
  try {
    log(`P2: ${tenants} tenant(s): warming up, then ${options.durationMs / 1000} s, cache ${options.cacheSize}`);
    await touchTenants(server, fixture, tenants === 1 ? 1 : options.cacheSize);
    await loadServer(server, fixture, pick, options, Math.min(options.durationMs, 3000));
    const before = await scrapeMetrics(server.port, fixture.adminToken);
    let peakConnections = 0;
    let sampling = true;
    const samples = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        peakConnections = Math.max(peakConnections, rows[0].n);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const result = await loadServer(server, fixture, pick, options);
    sampling = false;
    await samples;
    const after = await scrapeMetrics(server.port, fixture.adminToken);
    const [hits, misses, evictions] = CACHE_METRICS.map((name) => (after.get(name) ?? 0) - (before.get(name) ?? 0));
    log(`  ${result.rps.toFixed(0)} req/s, ${peakConnections} connections at most, ${hits} hits, ${misses} misses, ${evictions} evictions`);
    return {
      ...result,
      tenants,
      peakConnections,
      cacheHitRatio: round(hits / Math.max(1, hits + misses), 4),
      evictionsPerSecond: round(evictions / (options.durationMs / 1000), 1),
      clientsCached: after.get('tenantry_tenant_clients_cached') ?? 0,
    };
  } finally {
    await sampler.end();
    await server.stop();
  }
}

export function tenantsTable(result: TenantsResult): string {
  const row = (name: string, r: TenantsRun) => [
    name,
    fixed(r.rps, 0),
    fixed(r.p50),
    fixed(r.p99),
    r.errors,
    r.peakConnections,
    fixed(r.cacheHitRatio * 100, 1),
    fixed(r.evictionsPerSecond, 1),
    r.clientsCached,
  ];
  return [
    table(
      ['load', 'req/s:', 'p50 ms:', 'p99 ms:', 'errors:', 'peak PG connections:', 'client cache hit %:', 'evictions/s:', 'clients cached:'],
      [row('1 tenant', result.oneTenant), row(`${result.allTenants.tenants} tenants, Zipf, cache ${result.cacheSize}`, result.allTenants)],
    ),
    `${result.allTenants.tenants} tenants ÷ 1 tenant: throughput ${fixed(result.ratios.throughput)}, p99 ${fixed(result.ratios.p99)}`,
  ].join('\n\n');
}
