// `node dist/scripts/noisy-neighbour.js [--duration S] [--noisy-connections N] [--quiet-load F | --quiet-rate R]
//   [--quiet-connections N] [--users N] [--noisy-plan free|starter|pro|enterprise] [--pool P] [--rounds R] [--probe] [--json]`
// Tenant A floods heavy queries (a substring filter and count over many users) from a process of its own while
// tenant B's users send projects(first: 20) at a steady rate; prints B's p99 alone and beside A, and their ratio (the
// target is ≤ 2×). B's rate is F (default 0.25) of B's own capacity, measured first in the same run with N
// closed-loop connections, or R requests/s. --probe also prints where the time went while A flooded (backends by
// tenant and state, CPU of the API and of PostgreSQL, pool queue).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { keyIdOf } from '../src/auth/jwt-keys.service';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../src/app.module';
import { nestLogLevels, resolveRuntime } from '../src/bootstrap';
import { loadConfig } from '../src/config/config';
import { TENANT_PLANS, type TenantPlan } from '../src/control-plane/tenant-record';
import { TenantProvisioner } from '../src/tenancy/tenant-provisioner.service';
import { runLoad, summarize, type LoadResult, type Sample } from './bench/load';
import type { NoisyOutcome, NoisyWindow } from './bench/noisy-generator';
import { runAtRate } from './bench/steady-load';
import { startProbe, type ProbeReport } from './bench/noisy-probe';
import { parse, UsageError } from './cli.util';

const SECRET = randomBytes(32).toString('hex');
const ADMIN_TOKEN = randomBytes(16).toString('hex');
const QUIET_QUERY = JSON.stringify({ query: '{ projects(first: 20) { totalCount edges { node { id name owner { email } } } } }' });
const NOISY_QUERY = JSON.stringify({ query: '{ users(first: 100, filter: { emailContains: "zz" }) { totalCount edges { node { id email } } } }' });
const log = (message: string) => process.stderr.write(`${message}\n`);

async function main(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    duration: { type: 'string' },
    'noisy-connections': { type: 'string' },
    'quiet-connections': { type: 'string' },
    'quiet-load': { type: 'string' },
    'quiet-rate': { type: 'string' },
    users: { type: 'string' },
    'noisy-plan': { type: 'string' },
    rounds: { type: 'string' },
    pool: { type: 'string' },
    probe: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const noisyPlan = (values['noisy-plan'] ?? 'enterprise') as TenantPlan;
  if (!TENANT_PLANS.includes(noisyPlan)) throw new UsageError(`--noisy-plan must be one of ${TENANT_PLANS.join(', ')}`);
  const options = {
    durationMs: Number(values.duration ?? 20) * 1000,
    noisyConnections: Number(values['noisy-connections'] ?? 24),
    quietConnections: Number(values['quiet-connections'] ?? 4),
    quietLoad: Number(values['quiet-load'] ?? 0.25),
    quietRate: values['quiet-rate'] === undefined ? undefined : Number(values['quiet-rate']),
    users: Number(values.users ?? 200_000),
    pool: Number(values.pool ?? 10),
    rounds: Number(values.rounds ?? 3),
    noisyPlan,
  };

  if (!(options.quietLoad > 0 && options.quietLoad <= 1)) throw new UsageError('--quiet-load must be a fraction in (0, 1]');
  if (options.quietRate !== undefined && !(options.quietRate > 0)) throw new UsageError('--quiet-rate must be a positive number');
  const runtime = await resolveRuntime(loadConfig(), log);
  const dbName = `tenantry_noisy_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(runtime.config.databaseUrl, dbName);
  await admin(runtime.config.databaseUrl, `CREATE DATABASE ${dbName}`);
  let server: ChildProcess | undefined;
  let stopGenerator = () => undefined as unknown;
  try {
    const [noisy, quiet] = await seed(url, options.users, noisyPlan);
    const port = 41000 + Math.floor(Math.random() * 1000);
    const env = { ...process.env, DATABASE_URL: url, PORT: String(port), PG_POOL_MAX: String(options.pool), JWT_SECRET: SECRET, PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN, NODE_ENV: 'production', LOG_LEVEL: 'warn', SEED_DEMO: 'false' };
    server = await startServer([join(__dirname, '../src/main.js')], env, port);
    const jwt = new JwtService({ secret: SECRET, signOptions: { keyid: keyIdOf(SECRET) } });
    const token = (t: { id: string; adminId: string }) =>
      jwt.signAsync({ sub: t.adminId, tid: t.id, role: 'ADMIN' }, { issuer: 'tenantry', audience: 'tenantry-api', expiresIn: 3600 });
    const quietHeaders = { 'x-tenant-id': quiet.id, authorization: `Bearer ${await token(quiet)}` };
    const noisyHeaders = { 'x-tenant-id': noisy.id, authorization: `Bearer ${await token(noisy)}` };
    const checkQuiet = (status: number, body: string) => {
      if (status !== 200 || body.includes('"errors"')) throw new Error(body.slice(0, 200));
    };
    const next = () => ({ headers: quietHeaders, body: QUIET_QUERY });
    const saturate = (durationMs: number) => runLoad({ port, connections: options.quietConnections, durationMs, next, check: checkQuiet });
    let ratePerSecond = options.quietRate ?? 1;
    const quietLoad = (durationMs: number) => runAtRate({ port, ratePerSecond, durationMs, next, check: checkQuiet });
    const generator = fork(join(__dirname, 'bench/noisy-generator.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    stopGenerator = () => generator.connected && generator.disconnect();
    const noisyOutcomes: Record<string, number> = {};
    let noisyRequests = 0;
    const noisyLoad = (durationMs: number) =>
      new Promise<void>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`Tenant A's load generator exited with ${code}`));
        generator.once('exit', onExit);
        generator.once('message', (outcome: NoisyOutcome) => {
          generator.off('exit', onExit);
          noisyRequests += outcome.requests;
          for (const [code, n] of Object.entries(outcome.outcomes)) noisyOutcomes[code] = (noisyOutcomes[code] ?? 0) + n;
          resolve();
        });
        const window: NoisyWindow = { port, durationMs, connections: options.noisyConnections, headers: noisyHeaders, body: NOISY_QUERY };
        generator.send(window);
      });

    log('Warming up…');
    await Promise.all([saturate(2000), noisyLoad(2000)]);
    for (const code of Object.keys(noisyOutcomes)) delete noisyOutcomes[code];
    noisyRequests = 0;
    log(`Measuring B's capacity alone (${options.quietConnections} closed-loop connections)…`);
    const capacity = summarize([await saturate(Math.max(2000, options.durationMs / 2))]);
    ratePerSecond = options.quietRate ?? Math.max(1, Math.round(capacity.rps * options.quietLoad));
    const serverPid = server.pid!;
    const startProbing = async () =>
      values.probe
        ? startProbe({
            databaseUrl: url,
            database: dbName,
            serverPid,
            postmasterPid: await postmasterPid(url),
            metricsUrl: `http://127.0.0.1:${port}/metrics`,
            adminToken: ADMIN_TOKEN,
            tenants: { [noisy.id]: noisy.schema, [quiet.id]: quiet.schema },
          })
        : undefined;
    let probed: ProbeReport | undefined;
    // Alone and beside A in turn, so load other processes put on the machine falls on both alike.
    const samples = { baseline: [] as Sample[], contended: [] as Sample[] };
    for (let round = 1; round <= options.rounds; round++) {
      log(`Round ${round}/${options.rounds}: tenant B alone at ${ratePerSecond} req/s for ${options.durationMs / 1000} s`);
      samples.baseline.push(await quietLoad(options.durationMs));
      log(`Round ${round}/${options.rounds}: tenant B while tenant A (${noisyPlan}, ${options.users} users) floods with ${options.noisyConnections} connections`);
      // The probe watches the first contended window only.
      const probe = round === 1 ? await startProbing() : undefined;
      const [contended] = await Promise.all([quietLoad(options.durationMs), noisyLoad(options.durationMs)]);
      probed ??= await probe?.stop();
      samples.contended.push(contended);
    }
    const [baseline, contended] = [samples.baseline, samples.contended].map((s) => summarize(s));
    const noisyRps = Math.round(noisyRequests / ((options.durationMs / 1000) * options.rounds));
    report({ capacity, ratePerSecond, baseline, contended, noisyRps, noisyOutcomes, probe: probed }, options, values.json === true);
  } finally {
    stopGenerator();
    server?.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve) ?? resolve(undefined));
    await admin(runtime.config.databaseUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await runtime.stop();
  }
}

// Two tenants through the real provisioner; A gets many users (fixture data in bulk), B a normal project list.
async function seed(url: string, users: number, noisyPlan: TenantPlan) {
  const app = await NestFactory.createApplicationContext(AppModule.forOperations(loadConfig({ ...process.env, DATABASE_URL: url, NODE_ENV: 'test' })), {
    logger: nestLogLevels('warn'),
  });
  const provisioner = app.get(TenantProvisioner);
  const client = new Client({ connectionString: url });
  await client.connect();
  const tenants: { id: string; adminId: string; schema: string }[] = [];
  for (const [id, plan] of [['noisy-a', noisyPlan], ['quiet-b', 'pro']] as const) {
    const tenant = await provisioner.create({ id, name: id, plan, adminEmail: `admin@${id}.test`, adminPassword: 'noisy-password-123' });
    const { rows } = await client.query(`SELECT id FROM "${tenant.schemaName}"."User" LIMIT 1`);
    tenants.push({ id, adminId: rows[0].id, schema: tenant.schemaName });
  }
  const [noisy, quiet] = tenants;
  await client.query(
    `INSERT INTO "${noisy.schema}"."User" (id, email, name, "passwordHash", "updatedAt")
     SELECT gen_random_uuid(), 'user' || g || '@' || md5(g::text) || '.test', 'User ' || g, 'x', now() FROM generate_series(1, $1) g`,
    [users],
  );
  await client.query(
    `INSERT INTO "${quiet.schema}"."Project" (id, name, description, "ownerId", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), 'Project ' || g, 'Description ' || g, $1, now() - g * interval '1 minute', now() FROM generate_series(1, 30) g`,
    [quiet.adminId],
  );
  await client.query(`ANALYZE "${noisy.schema}"."User"`);
  await client.end();
  await app.close();
  return tenants;
}

interface NoisyReport {
  capacity: LoadResult;
  ratePerSecond: number;
  baseline: LoadResult;
  contended: LoadResult;
  noisyRps: number;
  noisyOutcomes: Record<string, number>;
  probe?: ProbeReport;
}

function report(results: NoisyReport, options: object, json: boolean) {
  const ratio = results.contended.p99 / results.baseline.p99;
  if (json) {
    process.stdout.write(JSON.stringify({ options, ...results, p99Ratio: ratio }, null, 2) + '\n');
    return;
  }
  const row = (name: string, r: LoadResult) => `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`;
  process.stdout.write(
    [
      '| load | req/s | p50 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|',
      row('B saturating, alone (capacity)', results.capacity),
      row(`B at ${results.ratePerSecond} req/s, alone (baseline)`, results.baseline),
      row(`B at ${results.ratePerSecond} req/s, beside A`, results.contended),
      '',
      `A flooding: ${results.noisyRps} req/s answered; outcomes ${JSON.stringify(results.noisyOutcomes)}`,
      `B p99 beside A ÷ alone: ${ratio.toFixed(2)}× (target ≤ 2×)`,
      ...(results.probe ? ['', `While A flooded: ${JSON.stringify(results.probe)}`] : []),
      '',
    ].join('\n'),
  );
}

function startServer(args: string[], env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setInterval(async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/health/live`);
        clearInterval(timer);
        resolve(child);
      } catch {
        // not listening yet
      }
    }, 200);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`Tenantry exited with ${code}`));
    });
  });
}

// The server's process is the parent of any backend (a local cluster, as the probe reads /proc).
async function postmasterPid(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    const stat = readFileSync(`/proc/${rows[0].pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof UsageError ? error.message : String((error as Error)?.stack ?? error));
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
