// P3: what one more cached tenant costs. Touches tenants 1..K one request at a time (each one's first request in
// this process: registry lookup, a new PrismaClient, its first query plans) with the LRU large enough to keep them
// all, sampling the API process's RSS after each; the slope is memory per cached client. Every cold request is
// followed by one to an already warm tenant, so the latency added by coldness is measured under the same noise.
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { percentiles, sequentialClient } from './load';
import { fixed, log, round, table } from './report';
import { checkProjects, PROJECTS_QUERY, tenantHeaders } from './requests';
import { rssBytes, scrapeMetrics, SCRIPTS, startServer } from './servers';

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
}

const MB = 1e6;

export async function memoryScenario(fixture: Fixture, options: BenchOptions): Promise<MemoryResult> {
  const clients = Math.min(options.memoryClients, fixture.tenants.length - 1);
  if (clients < 2) throw new Error('P3 needs at least 3 tenants (--tenants)');
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(clients + 10) });
  const server = await startServer('Tenantry (memory)', SCRIPTS.tenantry, env);
  const http = sequentialClient(server.port);
  const request = async (tenant: number) => {
    const t0 = performance.now();
    const res = await http.send(tenantHeaders(fixture.tenants[tenant], server.port, true), PROJECTS_QUERY);
    const ms = performance.now() - t0;
    checkProjects(res.status, res.body);
    return ms;
  };
  try {
    log(`P3: warming tenant 0, then touching ${clients} tenants one by one`);
    for (let i = 0; i < 300; i++) await request(0);
    const before = await scrapeMetrics(server.port, fixture.adminToken);
    const points: [number, number][] = [[before.get('tenantry_tenant_clients_cached') ?? 1, rssBytes(server.pid)]];
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 1; i <= clients; i++) {
      cold.push(await request(i));
      warm.push(await request(0));
      points.push([points[0][0] + i, rssBytes(server.pid)]);
    }
    const after = await scrapeMetrics(server.port, fixture.adminToken);
    const cached = after.get('tenantry_tenant_clients_cached') ?? 0;
    if (cached !== points.at(-1)![0]) log(`  expected ${points.at(-1)![0]} cached clients, /metrics says ${cached}`);
    const heapDelta = (after.get('nodejs_heap_size_used_bytes') ?? 0) - (before.get('nodejs_heap_size_used_bytes') ?? 0);
    const c = percentiles(cold);
    const w = percentiles(warm);
    return {
      scenario: 'P3 memory per tenant client',
      clients,
      rssStartMB: round(points[0][1] / MB, 1),
      rssEndMB: round(points.at(-1)![1] / MB, 1),
      rssPerClientMB: round(slope(points) / MB, 3),
      heapUsedPerClientMB: round(heapDelta / clients / MB, 3),
      cold: { p50: round(c.p50), p99: round(c.p99) },
      warm: { p50: round(w.p50), p99: round(w.p99) },
      added: { p50: round(c.p50 - w.p50), p99: round(c.p99 - w.p99) },
    };
  } finally {
    http.close();
    await server.stop();
  }
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
  return [
    table(
      ['cached clients:', 'RSS before MB:', 'RSS after MB:', 'RSS per client MB:', 'heap used per client MB:', 'target:'],
      [[result.clients, fixed(result.rssStartMB, 1), fixed(result.rssEndMB, 1), fixed(result.rssPerClientMB, 3), fixed(result.heapUsedPerClientMB, 3), '≤ 0.5 MB']],
    ),
    table(
      ['request', 'p50 ms:', 'p99 ms:'],
      [
        ["cold tenant (its first request)", fixed(result.cold.p50), fixed(result.cold.p99)],
        ['warm tenant (interleaved)', fixed(result.warm.p50), fixed(result.warm.p99)],
        ['added by coldness (target p99 ≤ 10 ms)', fixed(result.added.p50), fixed(result.added.p99)],
      ],
    ),
  ].join('\n\n');
}
