// `npm run bench -- api [--tenants N] [--duration S] [--connections C] [--zipf s] [--pool P] [--json]`
// P1: tenant-scoped projects(first: 20) with owners, database-backed. Tenantry vs (a) raw pg in-process and
// (c) a bare Apollo Server + pg, measured in the same run with the same pool size, keep-alive, concurrency and SQL.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { keyIdOf } from '../src/auth/jwt-keys.service';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client, Pool } from 'pg';
import { AppModule } from '../src/app.module';
import { nestLogLevels, resolveRuntime } from '../src/bootstrap';
import { loadConfig } from '../src/config/config';
import { TenantProvisioner } from '../src/tenancy/tenant-provisioner.service';
import { runLoad, percentiles, zipfSampler, type LoadResult } from './bench/load';
import { projectsPage } from './bench/projects-sql';
import { parse, UsageError } from './cli.util';

const QUERY = JSON.stringify({
  query:
    'query($first:Int){projects(first:$first){totalCount edges{cursor node{id name description createdAt owner{id email}}} pageInfo{hasNextPage endCursor}}}',
  variables: { first: 20 },
});
const SECRET = randomBytes(32).toString('hex');
const log = (message: string) => process.stderr.write(`${message}\n`);

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    tenants: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    zipf: { type: 'string' },
    pool: { type: 'string' },
    json: { type: 'boolean' },
  });
  const scenario = positionals[0] ?? 'api';
  if (scenario !== 'api') throw new UsageError(`Scenario "${scenario}" is not built yet; available: api`);
  const options = {
    tenants: Number(values.tenants ?? 200),
    durationMs: Number(values.duration ?? 10) * 1000,
    connections: Number(values.connections ?? 32),
    zipf: Number(values.zipf ?? 1.0),
    pool: Number(values.pool ?? 10),
    projectsPerTenant: 30,
  };

  const runtime = await resolveRuntime(loadConfig(), log);
  const dbName = `tenantry_bench_${randomBytes(4).toString('hex')}`;
  const benchUrl = withDatabase(runtime.config.databaseUrl, dbName);
  await admin(runtime.config.databaseUrl, `CREATE DATABASE ${dbName}`);
  const children: ChildProcess[] = [];
  try {
    const tenants = await seed(benchUrl, options.tenants, options.projectsPerTenant);
    const env = { ...process.env, DATABASE_URL: benchUrl, PG_POOL_MAX: String(options.pool), JWT_SECRET: SECRET, NODE_ENV: 'production', LOG_LEVEL: 'warn', SEED_DEMO: 'false' };
    const jwt = new JwtService({ secret: SECRET, signOptions: { keyid: keyIdOf(SECRET) } });
    const tokens = await Promise.all(
      tenants.map((t) => jwt.signAsync({ sub: t.adminId, tid: t.id, role: 'ADMIN' }, { issuer: 'tenantry', audience: 'tenantry-api', expiresIn: 3600 })),
    );
    const pick = zipfSampler(tenants.length, options.zipf);
    const check = (status: number, body: string) => {
      if (status !== 200 || !body.includes('"totalCount"') || body.includes('"errors"')) throw new Error(body.slice(0, 200));
    };
    const load = (port: number, auth: boolean) =>
      runLoad({
        port,
        connections: options.connections,
        durationMs: options.durationMs,
        check,
        next: () => {
          const i = pick();
          const headers: Record<string, string> = { 'x-tenant-id': tenants[i].id };
          if (auth) headers.authorization = `Bearer ${tokens[i]}`;
          return { headers, body: QUERY };
        },
      });

    const tenantryPort = 39000 + Math.floor(Math.random() * 1000);
    children.push(await startServer('Tenantry', [join(__dirname, '../src/main.js')], { ...env, PORT: String(tenantryPort) }));
    const apolloPort = tenantryPort + 1;
    children.push(await startServer('bare Apollo', [join(__dirname, 'bench/apollo-baseline.js')], { ...env, PORT: String(apolloPort) }));

    log('Warming up…');
    await Promise.all([warm(() => load(tenantryPort, true)), warm(() => load(apolloPort, false))]);
    log(`Measuring ${options.durationMs / 1000} s each, ${options.connections} connections, pool ${options.pool}, ${tenants.length} tenants (Zipf ${options.zipf})`);
    const raw = await rawPg(benchUrl, tenants.map((t) => t.schemaName), pick, options);
    const apollo = await load(apolloPort, false);
    const tenantry = await load(tenantryPort, true);
    report({ raw, apollo, tenantry }, options, values.json === true);
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await admin(runtime.config.databaseUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await runtime.stop();
  }
}

// Tenants through the real provisioner; projects in bulk (fixture data, not the thing measured).
async function seed(url: string, count: number, perTenant: number) {
  const started = Date.now();
  const app = await NestFactory.createApplicationContext(AppModule.forOperations(loadConfig({ ...process.env, DATABASE_URL: url, NODE_ENV: 'test' })), {
    logger: nestLogLevels('warn'),
  });
  const provisioner = app.get(TenantProvisioner);
  const tenants: { id: string; schemaName: string; adminId: string }[] = [];
  const ids = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const tenant = await provisioner.create({ id, name: id, adminEmail: `admin@${id}.test`, adminPassword: 'bench-password-123' });
      tenants.push({ id, schemaName: tenant.schemaName, adminId: '' });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cpus().length) }, worker));
  for (const tenant of tenants) {
    const s = `"${tenant.schemaName}"`;
    const { rows } = await client.query(`SELECT id FROM ${s}."User" LIMIT 1`);
    tenant.adminId = rows[0].id;
    await client.query(
      `INSERT INTO ${s}."Project" (id, name, description, "ownerId", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), 'Project ' || g, 'Description of project ' || g, $1, now() - g * interval '1 minute', now()
         FROM generate_series(1, $2) g`,
      [tenant.adminId, perTenant],
    );
  }
  await client.end();
  await app.close();
  log(`Provisioned ${count} tenants with ${perTenant} projects each in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return tenants.sort((a, b) => a.id.localeCompare(b.id));
}

// Baseline (a): the same statements from the same process, no HTTP or GraphQL: the physical limit.
async function rawPg(url: string, schemas: string[], pick: () => number, options: { connections: number; durationMs: number; pool: number }): Promise<LoadResult> {
  const pool = new Pool({ connectionString: url, max: options.pool });
  const latencies: number[] = [];
  const deadline = Date.now() + options.durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        await projectsPage(pool, schemas[pick()], 20);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await pool.end();
  return { requests: latencies.length, errors: 0, rps: latencies.length / seconds, ...percentiles(latencies) };
}

function report(results: Record<'raw' | 'apollo' | 'tenantry', LoadResult>, options: object, json: boolean): void {
  const rows = [
    ['(a) raw pg, in-process', results.raw],
    ['(c) bare Apollo Server + pg', results.apollo],
    ['(e) Tenantry', results.tenantry],
  ] as const;
  const summary = {
    scenario: 'P1 projects(first: 20) with owners',
    options,
    results,
    ratios: { tenantryVsRawPg: results.tenantry.rps / results.raw.rps, tenantryVsBareApollo: results.tenantry.rps / results.apollo.rps },
  };
  if (json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const lines = ['| target | req/s | p50 ms | p99 ms | errors | ÷ raw pg | ÷ bare Apollo |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const [name, r] of rows) {
    lines.push(`| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${(r.rps / results.raw.rps).toFixed(2)} | ${(r.rps / results.apollo.rps).toFixed(2)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

async function warm(run: () => Promise<LoadResult>) {
  const result = await run();
  if (result.errors > 0 && result.requests === 0) throw new Error('every warm-up request failed');
}

function startServer(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = env.PORT;
  return new Promise((resolve, reject) => {
    const timer = setInterval(async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' });
        if (res.status > 0) {
          clearInterval(timer);
          log(`${name} is up on port ${port}`);
          resolve(child);
        }
      } catch {
        // not listening yet
      }
    }, 200);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`${name} exited with ${code}`));
    });
  });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(sql);
  await client.end();
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
