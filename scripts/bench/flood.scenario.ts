// R3: what a flood of unknown tenants costs a real one. A real tenant's requests, one at a time, alone and then while
// `connections` loops send requests naming distinct tenants that do not exist (each a registry miss), in interleaved
// windows; its p99 during the flood over its p99 alone is the figure (target ≤ 1.2×).
import { randomBytes } from 'node:crypto';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { percentiles, runLoad, sequentialClient, type Sample } from './load';
import { fixed, log, round, table } from './report';
import { checkProjects, PROJECTS_QUERY, tenantHeaders } from './requests';
import { SCRIPTS, startServer } from './servers';

export interface FloodResult {
  scenario: 'R3 unknown-tenant flood';
  unknownRequests: number;
  alone: { p50: number; p99: number };
  flooded: { p50: number; p99: number };
  p99Ratio: number;
}

export async function floodScenario(fixture: Fixture, options: BenchOptions): Promise<FloodResult> {
  const server = await startServer('Tenantry (flood)', SCRIPTS.tenantry, serverEnv(fixture, { PG_POOL_MAX: String(options.pool) }));
  const http = sequentialClient(server.port);
  const tenant = fixture.tenants[0];
  const probe = async (durationMs: number): Promise<number[]> => {
    const latencies: number[] = [];
    const deadline = Date.now() + durationMs;
    while (Date.now() < deadline) {
      const t0 = performance.now();
      const res = await http.send(tenantHeaders(tenant, server.port, true), PROJECTS_QUERY);
      latencies.push(performance.now() - t0);
      checkProjects(res.status, res.body);
    }
    return latencies;
  };
  const prefix = randomBytes(3).toString('hex');
  let unknown = 0;
  const flood = (durationMs: number): Promise<Sample> =>
    runLoad({
      port: server.port,
      connections: options.connections,
      durationMs,
      next: () => ({ headers: { 'x-tenant-id': `ghost-${prefix}-${unknown++}` }, body: PROJECTS_QUERY }),
      check: (status, body) => {
        if (!body.includes('TENANT_NOT_FOUND')) throw new Error(`${status} ${body.slice(0, 200)}`);
      },
    });
  try {
    await probe(1000);
    const alone: number[] = [];
    const flooded: number[] = [];
    const window = options.durationMs / options.rounds;
    for (let r = 1; r <= options.rounds; r++) {
      log(`R3: round ${r}/${options.rounds}: ${tenant.id} alone, then beside a flood of unknown tenants`);
      alone.push(...(await probe(window)));
      const [during] = await Promise.all([probe(window), flood(window)]);
      flooded.push(...during);
    }
    const a = percentiles(alone);
    const f = percentiles(flooded);
    return {
      scenario: 'R3 unknown-tenant flood',
      unknownRequests: unknown,
      alone: { p50: round(a.p50), p99: round(a.p99) },
      flooded: { p50: round(f.p50), p99: round(f.p99) },
      p99Ratio: round(f.p99 / a.p99),
    };
  } finally {
    http.close();
    await server.stop();
  }
}

export function floodTable(result: FloodResult): string {
  return [
    table(
      ['real tenant', 'p50 ms:', 'p99 ms:'],
      [
        ['alone', fixed(result.alone.p50), fixed(result.alone.p99)],
        [`beside ${result.unknownRequests} requests for unknown tenants`, fixed(result.flooded.p50), fixed(result.flooded.p99)],
      ],
    ),
    `p99 during the flood ÷ alone: ${fixed(result.p99Ratio)} (target ≤ 1.2)`,
  ].join('\n\n');
}
