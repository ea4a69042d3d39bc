// The database every scenario of one run shares: a fresh database with N tenants provisioned through the real
// provisioner (each create timed, for P4), a few users and projects per tenant, and an access token per tenant.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { keyIdOf } from '../../src/auth/jwt-keys.service';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { Client, Pool } from 'pg';
import { AppModule } from '../../src/app.module';
import { nestLogLevels } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { log } from './report';

export interface BenchTenant {
  id: string;
  schemaName: string;
  adminId: string;
  /** Its seeded projects, which `writes` updates. */
  projectIds: string[];
  token: string;
}

/** The knobs every scenario shares; scripts/bench.ts maps them to flags. */
export interface BenchOptions {
  tenants: number;
  /** Measuring time per target, cut into `rounds` interleaved windows. */
  durationMs: number;
  rounds: number;
  connections: number;
  zipf: number;
  pool: number;
  cacheSize: number;
  memoryClients: number;
  concurrencies: number[];
  /** Where the Tenantry process of P1, R3, P3 and both of P2's loads writes its V8 CPU profile (`--cpu-prof`), if anywhere. */
  cpuProfileDir?: string;
  /** Another build's dist/ directory whose Tenantry P1 measures beside this one (`--compare`). */
  compareBuild?: string;
}

export interface Fixture {
  /** URL of the server's maintenance database (to create and drop bench databases). */
  adminUrl: string;
  /** URL of this run's database. */
  url: string;
  database: string;
  tenants: BenchTenant[];
  /** Milliseconds each tenant's create took, in completion order, and the concurrency they ran at. */
  provisioning: { concurrency: number; latenciesMs: number[]; elapsedMs: number };
  jwtSecret: string;
  adminToken: string;
}

export const USERS_PER_TENANT = 5;
export const PROJECTS_PER_TENANT = 30;

export async function createFixture(adminUrl: string, count: number): Promise<Fixture> {
  const database = `tenantry_bench_${randomBytes(4).toString('hex')}`;
  const url = withDatabase(adminUrl, database);
  await adminQuery(adminUrl, `CREATE DATABASE ${database}`);
  const jwtSecret = randomBytes(32).toString('hex');
  const provisioned = await provision(url, count);
  await seedData(url, provisioned.tenants);
  const jwt = new JwtService({ secret: jwtSecret, signOptions: { keyid: keyIdOf(jwtSecret) } });
  const tenants = await Promise.all(
    provisioned.tenants.map(async (t) => ({
      ...t,
      token: await jwt.signAsync({ sub: t.adminId, tid: t.id, role: 'ADMIN' }, { issuer: 'tenantry', audience: 'tenantry-api', expiresIn: 24 * 3600 }),
    })),
  );
  return { adminUrl, url, database, tenants, provisioning: provisioned.provisioning, jwtSecret, adminToken: randomBytes(24).toString('hex') };
}

export async function dropFixture(fixture: Fixture): Promise<void> {
  await adminQuery(fixture.adminUrl, `DROP DATABASE IF EXISTS ${fixture.database} WITH (FORCE)`);
}

/** Environment of a Tenantry process (or a baseline server) over the fixture's database. */
export function serverEnv(fixture: Fixture, overrides: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: fixture.url,
    JWT_SECRET: fixture.jwtSecret,
    PLATFORM_ADMIN_TOKEN: fixture.adminToken,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    ...overrides,
  };
}

// Tenants through the real provisioner (argon2 hash, schema, migrations, admin, registry in one transaction).
async function provision(url: string, count: number) {
  const started = Date.now();
  const concurrency = Math.max(1, cpus().length);
  const app = await NestFactory.createApplicationContext(
    AppModule.forOperations(loadConfig({ ...process.env, DATABASE_URL: url, NODE_ENV: 'test', PG_POOL_MAX: String(concurrency + 2) })),
    { logger: nestLogLevels('warn') },
  );
  const provisioner = app.get(TenantProvisioner);
  const ids = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const tenants: Omit<BenchTenant, 'token'>[] = [];
  const latenciesMs: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const t0 = performance.now();
      // Enterprise: on a smaller plan the hottest Zipf tenant passes its operations per minute and the run measures
      // rate limiting instead of serving.
      const tenant = await provisioner.create({ id, name: id, plan: 'enterprise', adminEmail: `admin@${id}.test`, adminPassword: 'bench-password-123' });
      latenciesMs.push(performance.now() - t0);
      tenants.push({ id, schemaName: tenant.schemaName, adminId: '', projectIds: [] });
      if (tenants.length % 100 === 0) log(`  provisioned ${tenants.length}/${count}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await app.close();
  const elapsedMs = Date.now() - started;
  log(`Provisioned ${count} tenants in ${(elapsedMs / 1000).toFixed(1)} s (${concurrency} at a time)`);
  return { tenants: tenants.sort((a, b) => a.id.localeCompare(b.id)), provisioning: { concurrency, latenciesMs, elapsedMs } };
}

// Fixture data, not the thing measured: a few members per tenant owning the projects round-robin.
async function seedData(url: string, tenants: Omit<BenchTenant, 'token'>[]): Promise<void> {
  const started = Date.now();
  const pool = new Pool({ connectionString: url, max: Math.max(2, cpus().length) });
  let next = 0;
  const worker = async () => {
    while (next < tenants.length) {
      const tenant = tenants[next++];
      const s = `"${tenant.schemaName}"`;
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM ${s}."User" LIMIT 1`);
      tenant.adminId = rows[0].id;
      const projects = await pool.query<{ id: string }>(
        `WITH members AS (
           INSERT INTO ${s}."User" (id, email, name, "passwordHash", role, "createdAt", "updatedAt")
           SELECT gen_random_uuid(), 'member' || g || '@bench.test', 'Member ' || g, 'not-a-hash', 'MEMBER', now(), now()
             FROM generate_series(1, $1::int) g
           RETURNING id),
         owners AS (SELECT array_agg(id) || $2::uuid AS ids FROM members)
         INSERT INTO ${s}."Project" (id, name, description, "ownerId", "createdAt", "updatedAt")
         SELECT gen_random_uuid(), 'Project ' || g, 'Description of project ' || g, owners.ids[1 + g % array_length(owners.ids, 1)],
                now() - g * interval '1 minute', now()
           FROM generate_series(1, $3::int) g, owners
         RETURNING id`,
        [USERS_PER_TENANT - 1, tenant.adminId, PROJECTS_PER_TENANT],
      );
      tenant.projectIds = projects.rows.map((row) => row.id);
    }
  };
  await Promise.all(Array.from({ length: Math.max(2, cpus().length) }, worker));
  await pool.end();
  log(`Seeded ${USERS_PER_TENANT} users and ${PROJECTS_PER_TENANT} projects per tenant in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function adminQuery<T extends object = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
