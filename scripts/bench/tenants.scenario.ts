// P2: does tenant count cost anything? The same load spread over every tenant (Zipf) with the tenant-client LRU
// at TENANT_CLIENT_CACHE_SIZE, against the same load on one tenant: two Tenantry processes, measured in
// interleaved rounds. Samples pg_stat_activity during the run (the connection bound) and reads the LRU's counters
// from each process's /metrics. `--compare DIR` adds another build's two processes to the same rounds.
import { join } from 'node:path';
import { PRIMARY_DATABASE } from '../../src/config/config';
import { Client } from 'pg';
import { loadServer, touchTenants } from './api.scenario';
import { backendMemoryMb, measuredUsage, tcpLocalPorts } from './backend-usage';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { interleaved, zipfSampler, type LoadResult } from './load';
import { fixed, log, meanInterval, round, table } from './report';
import { SCRIPTS, scrapeMetrics, startServer, type Server } from './servers';

export interface TenantsRun extends LoadResult {
  tenants: number;
  /** Most PostgreSQL backends this API process held at once (pg_stat_activity, sampled every 100 ms). */
  peakConnections: number;
  cacheHitRatio: number;
  evictionsPerSecond: number;
  /** Tenant lookups that went past the in-process registry cache (to Redis or the control plane). */
  registryMissesPerSecond: number;
  /** Share of the tenants' connections whose backend had not served that tenant before (AffinityPool); null for a build without. */
  coldConnectionShare: number | null;
  /** Private memory of this process's PostgreSQL backends after the run: catalog caches grow per schema touched. */
  postgresMemoryMb: number;
  clientsCached: number;
  /** CPU time of the API process, and of its PostgreSQL backends, per request during its measuring windows. */
  apiCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
}

export interface TenantsResult {
  scenario: 'P2 tenant count';
  cacheSize: number;
  oneTenant: TenantsRun;
  allTenants: TenantsRun;
  /** 1,000 tenants ÷ 1 tenant over the whole run, and throughput's round by round (each round's two windows). */
  ratios: { throughput: number; p99: number; throughputByRound: number[] };
  /** The `--compare` build, measured in the same rounds. */
  compared?: Omit<TenantsResult, 'compared'>;
}

const CACHE_METRICS = [
  'tenantry_tenant_client_cache_hits_total',
  'tenantry_tenant_client_cache_misses_total',
  'tenantry_tenant_client_cache_evictions_total',
  'tenantry_tenant_registry_cache_misses_total',
] as const;

type Key = 'one' | 'all' | 'compareOne' | 'compareAll';

export async function tenantsScenario(fixture: Fixture, options: BenchOptions): Promise<TenantsResult> {
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(options.cacheSize) });
  const all = { tenants: fixture.tenants.length, pick: zipfSampler(fixture.tenants.length, options.zipf) };
  const loads: Record<Key, { tenants: number; pick: () => number }> = { one: { tenants: 1, pick: () => 0 }, all, compareOne: { tenants: 1, pick: () => 0 }, compareAll: all };
  // `--compare DIR`: the other build's two processes run in the same interleaved rounds, so both ratios share the noise.
  const keys: Key[] = options.compareBuild ? ['one', 'all', 'compareOne', 'compareAll'] : ['one', 'all'];
  const servers: Partial<Record<Key, Server>> = {};
  const sampler = new Client({ connectionString: fixture.url });
  await sampler.connect();
  try {
    const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    for (const key of keys) {
      const compared = key.startsWith('compare');
      const script = compared ? join(options.compareBuild!, 'src/main.js') : SCRIPTS.tenantry;
      const name = `Tenantry (${loads[key].tenants} tenant${loads[key].tenants === 1 ? '' : 's'}${compared ? `, ${options.compareBuild}` : ''})`;
      servers[key] = await startServer(name, script, env, compared ? [] : profile);
    }
    const server = (key: Key) => servers[key]!;
    log(`P2: warming up: the hot tenants, then ${Math.min(options.durationMs / 2, 3000) / 1000} s of load each`);
    for (const key of keys) await touchTenants(server(key), fixture, loads[key].tenants === 1 ? 1 : options.cacheSize);
    for (const key of keys) await loadServer(server(key), fixture, loads[key].pick, options, Math.min(options.durationMs / 2, 3000));
    const before = new Map<Key, Map<string, number>>();
    for (const key of keys) before.set(key, await scrapeMetrics(server(key).port, fixture.adminToken));
    const peaks = Object.fromEntries(keys.map((key) => [key, 0])) as Record<Key, number>;
    let sampling = true;
    // Backends of each API process: pg_stat_activity's client ports that are sockets of that process. The ports are
    // read from /proc again only when a new one shows up: each read walks the kernel's whole TCP table, and every
    // 100 ms that took ~6% of the machine's CPU from the processes being measured.
    const portOwners = new Map<number, Key>();
    const samples = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ port: number }>(
          'SELECT client_port AS port FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        if (rows.some((r) => !portOwners.has(r.port))) {
          portOwners.clear();
          for (const key of keys) for (const port of tcpLocalPorts(server(key).pid)) portOwners.set(port, key);
        }
        for (const key of keys) peaks[key] = Math.max(peaks[key], rows.filter((r) => portOwners.get(r.port) === key).length);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    log(`P2: measuring ${options.durationMs / 1000} s each in ${options.rounds} interleaved rounds, cache ${options.cacheSize}`);
    // CPU each process and its PostgreSQL backends spent in its own windows: a per-request cost that the machine's
    // other load does not scale the way it scales throughput.
    const cpu = Object.fromEntries(keys.map((key) => [key, { api: 0, postgres: 0 }])) as Record<Key, { api: number; postgres: number }>;
    const measured = (key: Key) => async (ms: number) => {
      const { result, usage } = await measuredUsage(sampler, server(key).pid, () => loadServer(server(key), fixture, loads[key].pick, options, ms));
      cpu[key].api += usage.process;
      cpu[key].postgres += usage.postgres;
      return result;
    };
    const targets = Object.fromEntries(keys.map((key) => [key, measured(key)]));
    const results = (await interleaved(targets, options.durationMs, options.rounds)) as Record<Key, LoadResult>;
    sampling = false;
    await samples;
    const run = async (key: Key): Promise<TenantsRun> => {
      const after = await scrapeMetrics(server(key).port, fixture.adminToken);
      const delta = (name: string) => (after.get(name) ?? 0) - (before.get(key)!.get(name) ?? 0);
      const [hits, misses, evictions, registryMisses] = CACHE_METRICS.map(delta);
      const [home, warm, cold] = ['home', 'warm', 'cold'].map((c) => delta(`tenantry_pg_pool_acquisitions_total{database="${PRIMARY_DATABASE}",connection="${c}"}`));
      log(`  ${server(key).name}: ${results[key].rps.toFixed(0)} req/s, ${peaks[key]} backends at most, ${hits} hits, ${misses} misses, ${evictions} evictions`);
      return {
        ...results[key],
        tenants: loads[key].tenants,
        peakConnections: peaks[key],
        cacheHitRatio: round(hits / Math.max(1, hits + misses), 4),
        evictionsPerSecond: round(evictions / (options.durationMs / 1000), 1),
        registryMissesPerSecond: round(registryMisses / (options.durationMs / 1000), 1),
        coldConnectionShare: after.has('tenantry_pg_pool_acquisitions_total') ? round(cold / Math.max(1, home + warm + cold), 4) : null,
        postgresMemoryMb: round(await backendMemoryMb(sampler, server(key).pid), 1),
        clientsCached: after.get('tenantry_tenant_clients_cached') ?? 0,
        apiCpuMsPerRequest: round((cpu[key].api * 1000) / Math.max(1, results[key].requests), 2),
        postgresCpuMsPerRequest: round((cpu[key].postgres * 1000) / Math.max(1, results[key].requests), 2),
      };
    };
    const result = async (oneKey: Key, allKey: Key): Promise<Omit<TenantsResult, 'compared'>> => {
      const oneTenant = await run(oneKey);
      const allTenants = await run(allKey);
      const ratios = {
        throughput: round(allTenants.rps / oneTenant.rps, 3),
        p99: round(allTenants.p99 / oneTenant.p99, 3),
        throughputByRound: allTenants.windowRps.map((rps, i) => round(rps / oneTenant.windowRps[i], 3)),
      };
      return { scenario: 'P2 tenant count', cacheSize: options.cacheSize, oneTenant, allTenants, ratios };
    };
    const ours = await result('one', 'all');
    return options.compareBuild ? { ...ours, compared: await result('compareOne', 'compareAll') } : ours;
  } finally {
    await sampler.end();
    for (const s of Object.values(servers)) await s.stop();
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
    fixed(r.registryMissesPerSecond, 1),
    r.clientsCached,
    r.coldConnectionShare === null ? '—' : fixed(r.coldConnectionShare * 100, 1),
    fixed(r.postgresMemoryMb, 0),
    fixed(r.apiCpuMsPerRequest),
    fixed(r.postgresCpuMsPerRequest),
  ];
  const builds = result.compared ? [['', result], [' (--compare build)', result.compared]] as const : [['', result]] as const;
  return [
    table(
      ['load', 'req/s:', 'p50 ms:', 'p99 ms:', 'errors:', 'peak PG connections:', 'client cache hit %:', 'evictions/s:', 'registry misses/s:', 'clients cached:', 'cold connections %:', 'PG backends MB:', 'API CPU ms/req:', 'PG CPU ms/req:'],
      builds.flatMap(([name, r]) => [row(`1 tenant${name}`, r.oneTenant), row(`${r.allTenants.tenants} tenants, Zipf, cache ${r.cacheSize}${name}`, r.allTenants)]),
    ),
    ...builds.map(
      ([name, r]) =>
        `${r.allTenants.tenants} tenants ÷ 1 tenant${name}: throughput ${fixed(r.ratios.throughput)} ` +
        `(round by round ${r.ratios.throughputByRound.map((x) => fixed(x)).join(', ')}; their mean ${meanInterval(r.ratios.throughputByRound)}, 95 %), ` +
        `p99 ${fixed(r.ratios.p99)}, ` +
        `CPU per request ${fixed((r.allTenants.apiCpuMsPerRequest + r.allTenants.postgresCpuMsPerRequest) / (r.oneTenant.apiCpuMsPerRequest + r.oneTenant.postgresCpuMsPerRequest))}`,
    ),
  ].join('\n\n');
}
