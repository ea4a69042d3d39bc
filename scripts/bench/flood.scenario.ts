// R3: what a flood of unknown tenants costs a real one. A real tenant's requests, one at a time, alone and then while
// `connections` loops send requests naming distinct tenants that do not exist, in interleaved windows; its p99 during
// the flood over its p99 alone is the figure (target ≤ 1.2×). The flood comes from a forked process, so the probe's
// timings hold the server's work only; the API process's CPU time per window gives the cost of one rejection.
// `--compare DIST` measures another build's Tenantry in the same rounds.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { serverEnv, type BenchOptions, type Fixture } from './fixture';
import type { FloodWindow } from './flood-generator';
import { percentiles, sequentialClient } from './load';
import { fixed, log, round, table } from './report';
import { checkProjects, PROJECTS_QUERY, tenantHeaders } from './requests';
import { cpuSeconds, SCRIPTS, startServer, type Server } from './servers';

export interface FloodMeasure {
  build: string;
  unknownRequests: number;
  /** Of those, refused with 429 past the API's bound of held answers (`Connection: close`). */
  refusedRequests: number;
  /** Flood requests whose connection was dropped without an answer. */
  droppedRequests: number;
  /**
   * Unknown-tenant requests the flood sent per second of its windows. Answers the API holds come after a window's
   * end (up to UNKNOWN_TENANT_MAX_HELD ÷ UNKNOWN_TENANT_RATE seconds), so this divides by the windows, not by the time
   * until the last answer came.
   */
  floodRps: number;
  /** API process CPU per rejected request, the probe's own share taken out (µs). */
  cpuPerRejectionUs: number;
  /** Cores the API process used during the flood windows. */
  apiCoresFlooded: number;
  alone: { p50: number; p99: number; requests: number };
  flooded: { p50: number; p99: number; requests: number };
  p99Ratio: number;
}

export interface FloodResult extends FloodMeasure {
  scenario: 'R3 unknown-tenant flood';
  compared?: FloodMeasure;
}

interface Window {
  latencies: number[];
  cpu: number;
  seconds: number;
}

interface Target {
  server: Server;
  probe: (durationMs: number) => Promise<number[]>;
  alone: Window[];
  flooded: Window[];
  floods: FloodWindow[];
  close: () => void;
}

export async function floodScenario(fixture: Fixture, options: BenchOptions): Promise<FloodResult> {
  const env = serverEnv(fixture, { PG_POOL_MAX: String(options.pool) });
  const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const generator = fork(join(__dirname, 'flood-generator.js'), [String(options.connections)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const targets: Target[] = [];
  try {
    targets.push(target(await startServer('Tenantry (flood)', SCRIPTS.tenantry, env, profile), fixture));
    if (options.compareBuild) targets.push(target(await startServer(`Tenantry (${options.compareBuild})`, join(options.compareBuild, 'src/main.js'), env), fixture));
    for (const t of targets) await t.probe(1000);
    const window = options.durationMs / options.rounds;
    for (let r = 1; r <= options.rounds; r++) {
      log(`R3: round ${r}/${options.rounds}: ${fixture.tenants[0].id} alone, then beside a flood of unknown tenants`);
      // The order rotates each round, so load from elsewhere falls on every build alike.
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + r) % targets.length];
        const quiet = await measured(t.server, () => t.probe(window));
        t.alone.push({ latencies: quiet.result, cpu: quiet.cpu, seconds: quiet.seconds });
        const busy = await measured(t.server, () => Promise.all([t.probe(window), flood(generator, t.server.port, window)]));
        t.flooded.push({ latencies: busy.result[0], cpu: busy.cpu, seconds: busy.seconds });
        t.floods.push(busy.result[1]);
      }
    }
    const [self, compared] = targets.map((t) => summarize(t, t === targets[0] ? 'this build' : options.compareBuild!, window));
    return { scenario: 'R3 unknown-tenant flood', ...self, ...(compared && { compared }) };
  } finally {
    generator.disconnect();
    for (const t of targets) {
      t.close();
      await t.server.stop();
    }
  }
}

function target(server: Server, fixture: Fixture): Target {
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
  return { server, probe, alone: [], flooded: [], floods: [], close: () => http.close() };
}

async function measured<T>(server: Server, work: () => Promise<T>): Promise<{ result: T; cpu: number; seconds: number }> {
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const result = await work();
  return { result, cpu: cpuSeconds(server.pid) - cpu0, seconds: (performance.now() - t0) / 1000 };
}

function flood(generator: ChildProcess, port: number, durationMs: number): Promise<FloodWindow> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`The flood generator exited with ${code}`));
    generator.once('exit', onExit);
    generator.once('message', (window: FloodWindow) => {
      generator.off('exit', onExit);
      if (window.unexpected) reject(new Error(`A flood request was not answered TENANT_NOT_FOUND: ${window.unexpected}`));
      else resolve(window);
    });
    generator.send({ port, durationMs });
  });
}

function summarize(t: Target, build: string, window: number): FloodMeasure {
  const sum = (windows: Window[], key: 'cpu' | 'seconds') => windows.reduce((n, w) => n + w[key], 0);
  const a = t.alone.flatMap((w) => w.latencies);
  const f = t.flooded.flatMap((w) => w.latencies);
  const rejections = t.floods.reduce((n, w) => n + w.requests, 0);
  const refused = t.floods.reduce((n, w) => n + w.refused, 0);
  const dropped = t.floods.reduce((n, w) => n + w.errors, 0);
  // The probe's own CPU during the flood, at its cost per request alone.
  const probeCpu = (sum(t.alone, 'cpu') / a.length) * f.length;
  const pa = percentiles(a);
  const pf = percentiles(f);
  return {
    build,
    unknownRequests: rejections,
    refusedRequests: refused,
    droppedRequests: dropped,
    floodRps: Math.round(rejections / ((window * t.floods.length) / 1000)),
    // Dropped connections cost the API too (accept, parse, close).
    cpuPerRejectionUs: Math.round(((sum(t.flooded, 'cpu') - probeCpu) / (rejections + dropped)) * 1e6),
    apiCoresFlooded: round(sum(t.flooded, 'cpu') / sum(t.flooded, 'seconds')),
    alone: { p50: round(pa.p50), p99: round(pa.p99), requests: a.length },
    flooded: { p50: round(pf.p50), p99: round(pf.p99), requests: f.length },
    p99Ratio: round(pf.p99 / pa.p99),
  };
}

export function floodTable(result: FloodResult): string {
  const measures = [result, ...(result.compared ? [result.compared] : [])];
  return [
    table(
      ['build', 'real tenant', 'requests:', 'p50 ms:', 'p99 ms:', 'p99 ÷ alone:', 'rejections/s:', 'API µs per rejection:', 'API cores:'],
      measures.flatMap((m) => [
        [m.build, 'alone', m.alone.requests, fixed(m.alone.p50), fixed(m.alone.p99), '', '', '', ''],
        [m.build, `beside ${m.unknownRequests} unknown-tenant requests${m.refusedRequests + m.droppedRequests > 0 ? ` (${m.refusedRequests} refused, ${m.droppedRequests} dropped)` : ''}`, m.flooded.requests, fixed(m.flooded.p50), fixed(m.flooded.p99), fixed(m.p99Ratio), m.floodRps, m.cpuPerRejectionUs > 0 ? m.cpuPerRejectionUs : '—', fixed(m.apiCoresFlooded)],
      ]),
    ),
    `p99 during the flood ÷ alone (target ≤ 1.2): ${measures.map((m) => `${m.build} ${fixed(m.p99Ratio)}`).join(', ')}. The flood runs in a ` +
      `separate process; API µs per rejection is the API process's CPU time during the flood, the probe's share taken out ` +
      `(— when the flood is too small to show past the noise of that estimate).`,
  ].join('\n\n');
}
