// `writes`: updateProject(id, { description }) on a random project of a Zipf-drawn tenant, Tenantry (and a --compare
// build) in the same interleaved rounds as the hand-written UPDATE … RETURNING in-process over a pool of the same size.
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { touchTenants } from './api.scenario';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import { runInProcess, runLoad, zipfSampler } from './load';
import { logMeasuring, measureTargets, warmUp, usageCells, usageNote, USAGE_COLUMNS, type MeasuredRun, type Target } from './measured-targets';
import { updateDescription } from './projects-sql';
import { fixed, log, round, table } from './report';
import { checkUpdateProject, nextWrite, tenantHeaders, updateProjectBody } from './requests';
import { SCRIPTS, startServer, type Server } from './servers';

export interface WritesResult {
  scenario: 'writes updateProject(id, { description })';
  results: Record<'rawPg' | 'tenantry', MeasuredRun> & { compared?: MeasuredRun };
  ratios: { tenantryVsRawPg: number; comparedVsRawPg?: number };
}

const ROWS = [
  ['rawPg', '(a) raw pg, in-process'],
  ['tenantry', '(e) Tenantry'],
  ['compared', '(f) Tenantry, the --compare build'],
] as const;

function loadWrites(server: Server, fixture: Fixture, pick: () => number, options: BenchOptions, durationMs: number) {
  return runLoad({
    port: server.port,
    connections: options.connections,
    durationMs,
    check: checkUpdateProject,
    next: () => {
      const tenant = fixture.tenants[pick()];
      return { headers: tenantHeaders(tenant, server.port, true), body: updateProjectBody(tenant) };
    },
  });
}

export async function writesScenario(fixture: Fixture, options: BenchOptions): Promise<WritesResult> {
  const pick = zipfSampler(fixture.tenants.length, options.zipf);
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool), TENANT_CLIENT_CACHE_SIZE: String(options.cacheSize) });
  const servers: Server[] = [];
  const pool = new Pool({ connectionString: fixture.url, max: options.pool });
  const sampler = new Client({ connectionString: fixture.url });
  await sampler.connect();
  try {
    const tenantry = await startServer('Tenantry (writes)', SCRIPTS.tenantry, env);
    servers.push(tenantry);
    const compared = options.compareBuild
      ? await startServer(`Tenantry (writes, ${options.compareBuild})`, join(options.compareBuild, 'src/main.js'), env)
      : undefined;
    if (compared) servers.push(compared);
    const rawPg = () => {
      const tenant = fixture.tenants[pick()];
      const { id, description } = nextWrite(tenant);
      return updateDescription(pool, tenant.schemaName, id, description);
    };
    const http = (server: Server): Target => ({ pid: server.pid, load: (ms) => loadWrites(server, fixture, pick, options, ms) });
    const targets: Record<string, Target> = {
      rawPg: { pid: process.pid, load: (ms) => runInProcess({ connections: options.connections, durationMs: ms }, rawPg) },
      tenantry: http(tenantry),
      ...(compared && { compared: http(compared) }),
    };

    log('writes: warming up (the hot tenants first, then each target under load)…');
    for (const server of servers) await touchTenants(server, fixture, options.cacheSize);
    await warmUp(targets, options, 'write');
    logMeasuring('writes', options, fixture.tenants.length);
    const results = (await measureTargets(sampler, targets, options, (n) => log(`  round ${n}/${options.rounds}`))) as WritesResult['results'];
    for (const [key, name] of ROWS) if (results[key]) log(`  ${name}: ${results[key].rps.toFixed(0)} req/s`);
    const vsRawPg = (run: MeasuredRun) => round(run.rps / results.rawPg.rps, 3);
    return {
      scenario: 'writes updateProject(id, { description })',
      results,
      ratios: { tenantryVsRawPg: vsRawPg(results.tenantry), ...(results.compared && { comparedVsRawPg: vsRawPg(results.compared) }) },
    };
  } finally {
    for (const server of servers) await server.stop();
    await sampler.end();
    await pool.end();
  }
}

export function writesTable(result: WritesResult): string {
  const { rawPg } = result.results;
  const rows = ROWS.filter(([key]) => result.results[key]).map(([key, name]) => {
    const r = result.results[key]!;
    return [name, fixed(r.rps, 0), fixed(r.p50), fixed(r.p99), r.errors, fixed(r.rps / rawPg.rps), ...usageCells(r)];
  });
  return [
    table(['target', 'req/s:', 'p50 ms:', 'p99 ms:', 'errors:', '÷ raw pg:', ...USAGE_COLUMNS], rows),
    usageNote('target (a)') +
      " Tenantry's request also checks the token's user, reads the project before the update (the permission check and the audit's before), and records an audit entry." +
      // Measured with --connections 1: a lone UPDATE … RETURNING counted 3.0 wakeups, not 1.
      ' A committed write wakes its backend more than once, so wakeups overcount round trips by about 2 per write.',
  ].join('\n\n');
}
