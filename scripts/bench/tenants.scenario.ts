// P2: does tenant count cost anything? The same load spread over every tenant (Zipf) with the tenant-client LRU
// at TENANT_CLIENT_CACHE_SIZE, against the same load on one tenant: two Tenantry processes, measured in
// interleaved rounds. Samples pg_stat_activity during the run (the connection bound) and reads the LRU's counters
// from each process's /metrics.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Client } from 'pg';
import { loadServer, touchTenants } from './api.scenario';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { interleaved, zipfSampler, type LoadResult } from './load';
import { fixed, log, round, table } from './report';
import { SCRIPTS, scrapeMetrics, startServer, type Server } from './servers';

export interface TenantsRun extends LoadResult {
  tenants: number;
  /** Most PostgreSQL backends this API process held at once (pg_stat_activity, sampled every 100 ms). */
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
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(options.cacheSize) });
  const loads = {
    one: { tenants: 1, pick: () => 0 },
    all: { tenants: fixture.tenants.length, pick: zipfSampler(fixture.tenants.length, options.zipf) },
  };
  const servers: Partial<Record<keyof typeof loads, Server>> = {};
  const sampler = new Client({ connectionString: fixture.url });
  await sampler.connect();
  try {
    servers.one = await startServer('Tenantry (1 tenant)', SCRIPTS.tenantry, env);
    const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    servers.all = await startServer(`Tenantry (${loads.all.tenants} tenants)`, SCRIPTS.tenantry, env, profile);
    const { one, all } = servers as Record<keyof typeof loads, Server>;
    log(`P2: warming up: the hot tenants, then ${Math.min(options.durationMs / 2, 3000) / 1000} s of load each`);
    await touchTenants(one, fixture, 1);
    await touchTenants(all, fixture, options.cacheSize);
    for (const [server, load] of [[one, loads.one], [all, loads.all]] as const) {
      await loadServer(server, fixture, load.pick, options, Math.min(options.durationMs / 2, 3000));
    }
    const before = { one: await scrapeMetrics(one.port, fixture.adminToken), all: await scrapeMetrics(all.port, fixture.adminToken) };
    const peaks = { one: 0, all: 0 };
    let sampling = true;
    // Backends of each API process: pg_stat_activity's client ports that are sockets of that process.
    const samples = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ port: number }>(
          'SELECT client_port AS port FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        for (const key of ['one', 'all'] as const) {
          const ports = tcpLocalPorts(servers[key]!.pid);
          peaks[key] = Math.max(peaks[key], rows.filter((r) => ports.has(r.port)).length);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    log(`P2: measuring ${options.durationMs / 1000} s each in ${options.rounds} interleaved rounds, cache ${options.cacheSize}`);
    const results = await interleaved(
      { one: (ms: number) => loadServer(one, fixture, loads.one.pick, options, ms), all: (ms: number) => loadServer(all, fixture, loads.all.pick, options, ms) },
      options.durationMs,
      options.rounds,
    );
    sampling = false;
    await samples;
    const run = async (key: 'one' | 'all'): Promise<TenantsRun> => {
      const after = await scrapeMetrics(servers[key]!.port, fixture.adminToken);
      const [hits, misses, evictions] = CACHE_METRICS.map((name) => (after.get(name) ?? 0) - (before[key].get(name) ?? 0));
      log(`  ${loads[key].tenants} tenant(s): ${results[key].rps.toFixed(0)} req/s, ${peaks[key]} backends at most, ${hits} hits, ${misses} misses, ${evictions} evictions`);
      return {
        ...results[key],
        tenants: loads[key].tenants,
        peakConnections: peaks[key],
        cacheHitRatio: round(hits / Math.max(1, hits + misses), 4),
        evictionsPerSecond: round(evictions / (options.durationMs / 1000), 1),
        clientsCached: after.get('tenantry_tenant_clients_cached') ?? 0,
      };
    };
    const oneTenant = await run('one');
    const allTenants = await run('all');
    return {
      scenario: 'P2 tenant count',
      cacheSize: options.cacheSize,
      oneTenant,
      allTenants,
      ratios: { throughput: round(allTenants.rps / oneTenant.rps, 3), p99: round(allTenants.p99 / oneTenant.p99, 3) },
    };
  } finally {
    await sampler.end();
    for (const server of Object.values(servers)) await server.stop();
  }
}

/** Local TCP ports of the sockets `pid` holds open (Linux /proc). */
function tcpLocalPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9])) ports.add(parseInt(fields[1].split(':')[1], 16));
    }
  }
  return ports;
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
