// `npm run bench -- [api] [writes] [tenants] [catalog] [memory] [flood] [fleet] [--tenants N] [--duration S] [--rounds R] [--connections C] [--zipf s]
//   [--pool P] [--cache K] [--memory-clients M] [--concurrency 1,2,4,8] [--cpu-prof DIR] [--compare DIST] [--json]` — no scenario means all.
// --cpu-prof writes a V8 CPU profile of the Tenantry process of P1 (and of P1's Nest + Prisma baseline), R3, P3 and both of P2's loads to DIR when it stops; --compare DIST adds another
// build's Tenantry (e.g. main's dist/) to P1's, writes' and P2's interleaved rounds, and request for request to P3.
// One fresh database per run with N provisioned tenants; every figure is compared with a baseline measured in the
// same run. Tables (or one JSON object with --json) on stdout, progress on stderr.
import 'reflect-metadata';
import { loadavg } from 'node:os';
import { resolveRuntime } from '../src/bootstrap';
import { loadConfig } from '../src/config/config';
import { apiScenario, apiTable } from './bench/api.scenario';
import { fleetScenario, fleetTables } from './bench/fleet.scenario';
import { writesScenario, writesTable } from './bench/writes.scenario';
import { floodScenario, floodTable } from './bench/flood.scenario';
import { tenantsScenario, tenantsTable } from './bench/tenants.scenario';
import { catalogScenario, catalogTable } from './bench/catalog.scenario';
import { memoryScenario, memoryTables } from './bench/memory.scenario';
import { adminQuery, createFixture, dropFixture, type BenchOptions, type Fixture } from './bench/fixture';
import { describeMachine, log, machineLine, round } from './bench/report';
import { parse, UsageError } from './cli.util';

const SCENARIOS = ['api', 'writes', 'tenants', 'catalog', 'memory', 'flood', 'fleet'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Outcome {
  json: unknown;
  markdown: string;
}

const RUNNERS: Record<Scenario, (fixture: Fixture, options: BenchOptions) => Promise<Outcome>> = {
  api: async (fixture, options) => {
    const result = await apiScenario(fixture, options);
    return { json: result, markdown: `### P1 \`api\`: projects(first: 20) with owners\n\n${apiTable(result)}` };
  },
  writes: async (fixture, options) => {
    const result = await writesScenario(fixture, options);
    return { json: result, markdown: `### \`writes\`: updateProject(id, { description })\n\n${writesTable(result)}` };
  },
  tenants: async (fixture, options) => {
    const result = await tenantsScenario(fixture, options);
    return { json: result, markdown: `### P2 \`tenants\`: ${result.allTenants.tenants} tenants vs 1\n\n${tenantsTable(result)}` };
  },
  catalog: async (fixture, options) => {
    const result = await catalogScenario(fixture, options);
    return { json: result, markdown: `### \`catalog\`: what a backend pays per tenant schema it serves (${result.tenants} schemas)\n\n${catalogTable(result)}` };
  },
  memory: async (fixture, options) => {
    const result = await memoryScenario(fixture, options);
    return { json: result, markdown: `### P3 \`memory\`: ${result.clients} tenant clients touched one by one\n\n${memoryTables(result)}` };
  },
  flood: async (fixture, options) => {
    const result = await floodScenario(fixture, options);
    return { json: result, markdown: `### R3 \`flood\`: a real tenant beside unknown tenants\n\n${floodTable(result)}` };
  },
  fleet: async (fixture, options) => {
    const result = await fleetScenario(fixture, options);
    return { json: result, markdown: `### P4/P5 \`fleet\`: provisioning and migrations over ${result.tenants} tenants\n\n${fleetTables(result)}` };
  },
};

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    tenants: { type: 'string' },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    zipf: { type: 'string' },
    pool: { type: 'string' },
    cache: { type: 'string' },
    'memory-clients': { type: 'string' },
    concurrency: { type: 'string' },
    json: { type: 'boolean' },
    'cpu-prof': { type: 'string' },
    compare: { type: 'string' },
  });
  const unknown = positionals.filter((p) => !(SCENARIOS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new UsageError(`Unknown scenario(s) ${unknown.join(', ')}; available: ${SCENARIOS.join(', ')}`);
  const scenarios = positionals.length > 0 ? SCENARIOS.filter((s) => positionals.includes(s)) : [...SCENARIOS];
  const options: BenchOptions = {
    tenants: positiveInt('tenants', values.tenants, 1000),
    durationMs: positiveInt('duration', values.duration, 12) * 1000,
    rounds: positiveInt('rounds', values.rounds, 4),
    connections: positiveInt('connections', values.connections, 32),
    zipf: Number(values.zipf ?? 1.0),
    pool: positiveInt('pool', values.pool, 10),
    cacheSize: positiveInt('cache', values.cache, 100),
    memoryClients: positiveInt('memory-clients', values['memory-clients'], 200),
    concurrencies: (values.concurrency ?? '1,2,4,8').split(',').map((c) => positiveInt('concurrency', c, 1)),
    cpuProfileDir: values['cpu-prof'],
    compareBuild: values.compare,
  };
  if (!Number.isFinite(options.zipf) || options.zipf < 0) throw new UsageError('--zipf must be a number ≥ 0');

  const runtime = await resolveRuntime(loadConfig(), log);
  const [{ server_version: postgres }] = await adminQuery<{ server_version: string }>(runtime.config.databaseUrl, 'SHOW server_version');
  const machine = describeMachine(postgres);
  const command = argv.length > 0 ? `npm run bench -- ${argv.join(' ')}` : 'npm run bench';
  let fixture: Fixture | undefined;
  try {
    fixture = await createFixture(runtime.config.databaseUrl, options.tenants);
    const outcomes: Partial<Record<Scenario, Outcome>> = {};
    // fleet adds columns to every tenant schema, so it runs last.
    for (const scenario of scenarios) outcomes[scenario] = await RUNNERS[scenario](fixture, options);
    machine.loadAverage.end = round(loadavg()[0]);
    if (values.json === true) {
      const json = Object.fromEntries(Object.entries(outcomes).map(([name, outcome]) => [name, outcome.json]));
      process.stdout.write(JSON.stringify({ command, machine, options, scenarios: json }, null, 2) + '\n');
    } else {
      const sections = Object.values(outcomes).map((outcome) => outcome.markdown);
      process.stdout.write([`\`${command}\``, machineLine(machine), ...sections].join('\n\n') + '\n');
    }
  } finally {
    if (fixture) await dropFixture(fixture).catch((error: unknown) => log(`Could not drop ${fixture?.database}: ${String(error)}`));
    await runtime.stop();
  }
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--${name} must be a positive integer (got "${raw}")`);
  return Number(raw);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
