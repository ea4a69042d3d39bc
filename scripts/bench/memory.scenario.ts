// P3: what one more cached tenant costs. Touches tenants 1..K one request at a time (each one's first request in
// this process: registry lookup, a new PrismaClient, its first query plans) with the LRU large enough to keep them
// all, sampling the API process's RSS after each; the slope is memory per cached client. Every cold request is
// followed by one to an already warm tenant, so the latency added by coldness is measured under the same noise.
import { join } from 'node:path';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { percentiles, sequentialClient } from './load';
import { fixed, log, round, table } from './report';
import { checkProjects, PROJECTS_QUERY, tenantHeaders } from './requests';
import { rssBytes, scrapeMetrics, SCRIPTS, startServer, type Server } from './servers';

export interface MemoryResult {
  scenario: 'P3 memory per tenant client';
  clients: number;
  rssStartMB: number;
  rssEndMB: number;
  /** Least-squares slope of RSS over the number of cached clients. */
  rssPerClientMB: number;
  heapUsedPerClientMB: number;
  cold: { p50: number; p99: number };
  warm: { p50: number; p99: number };
  added: { p50: number; p99: number };
  /** The `--compare` build, measured in turn with this one. */
  compared?: Omit<MemoryResult, 'compared'>;
}

const MB = 1e6;

/** One Tenantry process under P3: its own connection, cold/warm latencies and (cached clients, RSS) points. */
function probe(server: Server, fixture: Fixture) {
  const http = sequentialClient(server.port);
  const request = async (tenant: number) => {
    const t0 = performance.now();
    const res = await http.send(tenantHeaders(fixture.tenants[tenant], server.port, true), PROJECTS_QUERY);
    const ms = performance.now() - t0;
    checkProjects(res.status, res.body);
    return ms;
  };
  return { server, http, request, cold: [] as number[], warm: [] as number[], points: [] as [number, number][], before: new Map<string, number>() };
}

export async function memoryScenario(fixture: Fixture, options: BenchOptions): Promise<MemoryResult> {
  const clients = Math.min(options.memoryClients, fixture.tenants.length - 1);
  if (clients < 2) throw new Error('P3 needs at least 3 tenants (--tenants)');
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(clients + 10) });
  const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const servers = [await startServer('Tenantry (memory)', SCRIPTS.tenantry, env, profile)];
  // `--compare DIR`: the other build gets the same tenants in the same order, request for request in turn.
  if (options.compareBuild) servers.push(await startServer(`Tenantry (memory, ${options.compareBuild})`, join(options.compareBuild, 'src/main.js'), env));
  const probes = servers.map((server) => probe(server, fixture));
  try {
    log(`P3: warming tenant 0, then touching ${clients} tenants one by one`);
    for (const p of probes) {
      for (let i = 0; i < 300; i++) await p.request(0);
      p.before = await scrapeMetrics(p.server.port, fixture.adminToken);
      p.points.push([p.before.get('tenantry_tenant_clients_cached') ?? 1, rssBytes(p.server.pid)]);
    }
    for (let i = 1; i <= clients; i++) {
      for (const p of probes) {
        p.cold.push(await p.request(i));
        p.warm.push(await p.request(0));
        p.points.push([p.points[0][0] + i, rssBytes(p.server.pid)]);
      }
    }
    const [result, compared] = await Promise.all(probes.map((p) => summarise(p, fixture, clients)));
    return compared ? { ...result, compared } : result;
  } finally {
    for (const p of probes) {
      p.http.close();
      await p.server.stop();
    }
  }
}

async function summarise(p: ReturnType<typeof probe>, fixture: Fixture, clients: number): Promise<MemoryResult> {
  const after = await scrapeMetrics(p.server.port, fixture.adminToken);
  const cached = after.get('tenantry_tenant_clients_cached') ?? 0;
  if (cached !== p.points.at(-1)![0]) log(`  expected ${p.points.at(-1)![0]} cached clients, /metrics says ${cached}`);
  const heapDelta = (after.get('nodejs_heap_size_used_bytes') ?? 0) - (p.before.get('nodejs_heap_size_used_bytes') ?? 0);
  const c = percentiles(p.cold);
  const w = percentiles(p.warm);
  return {
    scenario: 'P3 memory per tenant client',
    clients,
    rssStartMB: round(p.points[0][1] / MB, 1),
    rssEndMB: round(p.points.at(-1)![1] / MB, 1),
    rssPerClientMB: round(slope(p.points) / MB, 3),
    heapUsedPerClientMB: round(heapDelta / clients / MB, 3),
    cold: { p50: round(c.p50), p99: round(c.p99) },
    warm: { p50: round(w.p50), p99: round(w.p99) },
    added: { p50: round(c.p50 - w.p50), p99: round(c.p99 - w.p99) },
  };
}

function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

export function memoryTables(result: MemoryResult): string {
  const builds = result.compared ? [['', result], [' (--compare build)', result.compared]] as const : [['', result]] as const;
  return [
    table(
      ['build', 'cached clients:', 'RSS before MB:', 'RSS after MB:', 'RSS per client MB:', 'heap used per client MB:', 'target:'],
      builds.map(([name, r]) => [name || 'this', r.clients, fixed(r.rssStartMB, 1), fixed(r.rssEndMB, 1), fixed(r.rssPerClientMB, 3), fixed(r.heapUsedPerClientMB, 3), '≤ 0.5 MB']),
    ),
    table(
      ['request', 'p50 ms:', 'p99 ms:'],
      builds.flatMap(([name, r]) => [
        [`cold tenant (its first request)${name}`, fixed(r.cold.p50), fixed(r.cold.p99)],
        [`warm tenant (interleaved)${name}`, fixed(r.warm.p50), fixed(r.warm.p99)],
        [`added by coldness (target p99 ≤ 10 ms)${name}`, fixed(r.added.p50), fixed(r.added.p99)],
      ]),
    ),
  ].join('\n\n');
}
