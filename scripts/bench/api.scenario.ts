// P1: tenant-scoped projects(first: 20) with owners, database-backed, against four baselines measured in the same
// run with the same pool size, concurrency, keep-alive and tenant distribution.
import { Client, Pool } from 'pg';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { join } from 'node:path';
import { runInProcess, runLoad, sequentialClient, zipfSampler } from './load';
import { logMeasuring, measureTargets, warmUp, usageCells, usageNote, USAGE_COLUMNS, type MeasuredRun, type Target } from './measured-targets';
import { prismaAlone } from './prisma-baseline';
import { projectsPage } from './projects-sql';
import { fixed, log, round, table } from './report';
import { checkProjects, PROJECTS_QUERY, tenantHeaders } from './requests';
import { SCRIPTS, startServer, type Server } from './servers';

export interface ApiResult {
  scenario: 'P1 projects(first: 20) with owners';
  results: Record<'rawPg' | 'nodeHttp' | 'bareApollo' | 'prisma' | 'nestPrisma' | 'nestPrismaFastify' | 'tenantry', MeasuredRun> & { compared?: MeasuredRun };
  ratios: {
    tenantryVsRawPg: number;
    tenantryVsBareApollo: number;
    tenantryVsNodeHttp: number;
    tenantryVsPrisma: number;
    tenantryVsNestPrisma: number;
    /** (h) ÷ (g): the stack on Fastify over the stack on Express. */
    fastifyVsExpress: number;
  };
}

const ROWS = [
  ['rawPg', '(a) raw pg, in-process'],
  ['nodeHttp', '(b) node:http + pg'],
  ['bareApollo', '(c) bare Apollo Server + pg'],
  ['prisma', '(d) Prisma alone, in-process'],
  ['nestPrisma', '(g) Nest + Apollo + Prisma, no tenancy or auth'],
  ['nestPrismaFastify', '(h) the same as (g) on Fastify'],
  ['tenantry', '(e) Tenantry'],
] as const;

function rowsOf(results: ApiResult['results']): (readonly [keyof ApiResult['results'], string])[] {
  return results.compared ? [...ROWS, ['compared', '(f) Tenantry, the --compare build'] as const] : [...ROWS];
}

/** Drives `server` with projects(first: 20) for tenants drawn from `pick`. */
export function loadServer(server: Server, fixture: Fixture, pick: () => number, options: BenchOptions, durationMs = options.durationMs, auth = true) {
  return runLoad({
    port: server.port,
    connections: options.connections,
    durationMs,
    check: checkProjects,
    next: () => ({ headers: tenantHeaders(fixture.tenants[pick()], server.port, auth), body: PROJECTS_QUERY }),
  });
}

/**
 * Sends one request to each of tenants 0..count-1 (the hottest under Zipf), a few at a time, so a measurement
 * starts with the tenant-client LRU holding the hot set, as a long-running server's would.
 */
export async function touchTenants(server: Server, fixture: Fixture, count: number): Promise<void> {
  let next = 0;
  const loop = async () => {
    const http = sequentialClient(server.port);
    try {
      while (next < Math.min(count, fixture.tenants.length)) {
        const res = await http.send(tenantHeaders(fixture.tenants[next++], server.port, true), PROJECTS_QUERY);
        checkProjects(res.status, res.body);
      }
    } finally {
      http.close();
    }
  };
  await Promise.all(Array.from({ length: 4 }, loop));
}

export async function apiScenario(fixture: Fixture, options: BenchOptions): Promise<ApiResult> {
  const pick = zipfSampler(fixture.tenants.length, options.zipf);
  const schemas = fixture.tenants.map((t) => t.schemaName);
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(options.cacheSize) });
  const servers: Server[] = [];
  const pool = new Pool({ connectionString: fixture.url, max: options.pool });
  const prisma = prismaAlone(fixture.url, options);
  const sampler = new Client({ connectionString: fixture.url });
  await sampler.connect();
  try {
    const nodeHttp = await startServer('node:http baseline', SCRIPTS.nodeHttp, env);
    servers.push(nodeHttp);
    const apollo = await startServer('bare Apollo', SCRIPTS.apollo, env);
    servers.push(apollo);
    const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    // Profiled too: Tenantry's profile minus this one is what tenancy and authentication cost.
    const nestPrisma = await startServer('Nest + Prisma baseline', SCRIPTS.nestPrisma, env, profile);
    servers.push(nestPrisma);
    const nestPrismaFastify = await startServer('Nest + Prisma baseline on Fastify', SCRIPTS.nestPrisma, { ...env, NEST_ADAPTER: 'fastify' });
    servers.push(nestPrismaFastify);
    const tenantry = await startServer('Tenantry', SCRIPTS.tenantry, env, profile);
    servers.push(tenantry);
    const inProcess = (work: () => Promise<unknown>) => (durationMs: number) => runInProcess({ connections: options.connections, durationMs }, work);
    // `--compare DIR`: another build of Tenantry (its dist/) in the same rounds, for a before/after on a busy machine.
    const compared = options.compareBuild
      ? await startServer(`Tenantry (${options.compareBuild})`, join(options.compareBuild, 'src/main.js'), env)
      : undefined;
    if (compared) servers.push(compared);
    const loads: Record<string, Target> = {
      rawPg: { pid: process.pid, load: inProcess(() => projectsPage(pool, schemas[pick()], 20)) },
      prisma: { pid: process.pid, load: inProcess(() => prisma.page(schemas[pick()])) },
      nodeHttp: { pid: nodeHttp.pid, load: (ms: number) => loadServer(nodeHttp, fixture, pick, options, ms, false) },
      bareApollo: { pid: apollo.pid, load: (ms: number) => loadServer(apollo, fixture, pick, options, ms, false) },
      nestPrisma: { pid: nestPrisma.pid, load: (ms: number) => loadServer(nestPrisma, fixture, pick, options, ms, false) },
      nestPrismaFastify: { pid: nestPrismaFastify.pid, load: (ms: number) => loadServer(nestPrismaFastify, fixture, pick, options, ms, false) },
      tenantry: { pid: tenantry.pid, load: (ms: number) => loadServer(tenantry, fixture, pick, options, ms) },
      ...(compared && { compared: { pid: compared.pid, load: (ms: number) => loadServer(compared, fixture, pick, options, ms) } }),
    };

    log('P1: warming up (the hot tenants first, then each target under load)…');
    await touchTenants(tenantry, fixture, options.cacheSize);
    if (compared) await touchTenants(compared, fixture, options.cacheSize);
    for (const schema of schemas.slice(0, options.cacheSize)) await prisma.page(schema);
    await warmUp(loads, options, 'request');
    logMeasuring('P1', options, fixture.tenants.length);
    const results = (await measureTargets(sampler, loads, options, (n) => log(`  round ${n}/${options.rounds}`))) as ApiResult['results'];
    for (const [key, name] of rowsOf(results)) log(`  ${name}: ${results[key]!.rps.toFixed(0)} req/s`);
    const t = results.tenantry.rps;
    return {
      scenario: 'P1 projects(first: 20) with owners',
      results,
      ratios: {
        tenantryVsRawPg: round(t / results.rawPg.rps, 3),
        tenantryVsBareApollo: round(t / results.bareApollo.rps, 3),
        tenantryVsNodeHttp: round(t / results.nodeHttp.rps, 3),
        tenantryVsPrisma: round(t / results.prisma.rps, 3),
        tenantryVsNestPrisma: round(t / results.nestPrisma.rps, 3),
        fastifyVsExpress: round(results.nestPrismaFastify.rps / results.nestPrisma.rps, 3),
      },
    };
  } finally {
    for (const server of servers) await server.stop();
    await sampler.end();
    await prisma.close();
    await pool.end();
  }
}

export function apiTable(result: ApiResult): string {
  const { rawPg, bareApollo } = result.results;
  const rows = rowsOf(result.results).map(([key, name]) => {
    const r = result.results[key]!;
    return [
      name,
      fixed(r.rps, 0),
      fixed(r.p50),
      fixed(r.p99),
      r.errors,
      fixed(r.rps / rawPg.rps),
      fixed(r.rps / bareApollo.rps),
      ...usageCells(r),
    ];
  });
  return [
    table(['target', 'req/s:', 'p50 ms:', 'p99 ms:', 'errors:', '÷ raw pg:', '÷ bare Apollo:', ...USAGE_COLUMNS], rows),
    usageNote('targets (a) and (d)'),
    `Tenantry ÷ (g): ${fixed(result.ratios.tenantryVsNestPrisma)} — what tenancy and authentication cost over the same stack (Nest, Apollo, Express, Prisma).`,
    `(h) ÷ (g): ${fixed(result.ratios.fastifyVsExpress)} — what Nest's Fastify adapter instead of Express gains that stack (an upper bound for Tenantry, whose HTTP layer is Express's).`,
  ].join('\n\n');
}
