import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import { TEST_JWT_SECRET, type TestApp } from '../factories/app';
import { newDatabase } from '../factories/database';
import { codes, gql } from '../factories/http';
import { metricSample, scrapeMetrics } from '../factories/metrics';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import { assertCliBuilt, jsonReport, runTenantsCli } from '../support/tenants-cli';
import type { FleetMigrationReport } from '../../src/tenancy/fleet-migration-report';
import { CreateUserDocument, LoginDocument, MeDocument } from '../generated/graphql';

const ADMIN_TOKEN = 'platform-admin-token-for-operations';

describe('operations: rejection and migration metrics, secrets kept out of logs', () => {
  let api: TestApp;
  let tenants: TestTenant[];
  let migrationsDir: string;
  const lines: string[] = [];

  const metric = async (name: string, labels: Record<string, string> = {}) =>
    metricSample(await scrapeMetrics(api.baseUrl, ADMIN_TOKEN), name, labels) ?? 0;

  beforeAll(async () => {
    assertCliBuilt();
    const db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'debug', PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
    // Every scrape reads the control plane afresh, so a run shows on the next scrape.
    const app = await createApp(config, { logDestination: { write: (line: string) => void lines.push(line) }, migrationStatusTtlMs: 0 });
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as { port: number }).port;
    api = { app, config, db, port, baseUrl: `http://127.0.0.1:${port}`, close: async () => (await app.close(), await db.drop()) };
    tenants = [await newTenant(api), await newTenant(api)];
    migrationsDir = await mkdtemp(join(tmpdir(), 'tenantry-migrations-'));
  });
  afterAll(async () => {
    await api?.close();
    await rm(migrationsDir, { recursive: true, force: true });
  });

  it('counts the tenant middleware rejections by code', async () => {
    const [tenant, other] = tenants;
    const before = {
      notFound: await metric('tenantry_tenant_rejections_total', { code: 'TENANT_NOT_FOUND' }),
      mismatch: await metric('tenantry_tenant_rejections_total', { code: 'TENANT_MISMATCH' }),
      suspended: await metric('tenantry_tenant_rejections_total', { code: 'TENANT_SUSPENDED' }),
    };
    expect(codes((await gql(api.baseUrl, MeDocument, {}, { header: 'no-such-tenant' })).body)).toEqual(['TENANT_NOT_FOUND']);
    expect(codes((await gql(api.baseUrl, MeDocument, {}, { header: 'Not_Valid' })).body)).toEqual(['TENANT_NOT_FOUND']);
    expect(codes((await gql(api.baseUrl, MeDocument, {}, { subdomain: tenant.id, header: other.id })).body)).toEqual(['TENANT_MISMATCH']);
    await api.app.get(TenantRegistryRepository).updateStatus(other.id, 'SUSPENDED');
    // The registry's NOTIFY reaches the cache asynchronously.
    for (let i = 0; i < 50; i++) {
      if (codes((await gql(api.baseUrl, MeDocument, {}, { header: other.id, token: other.token })).body).includes('TENANT_SUSPENDED')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await api.app.get(TenantRegistryRepository).updateStatus(other.id, 'ACTIVE');

    expect(await metric('tenantry_tenant_rejections_total', { code: 'TENANT_NOT_FOUND' })).toBe(before.notFound + 2);
    expect(await metric('tenantry_tenant_rejections_total', { code: 'TENANT_MISMATCH' })).toBe(before.mismatch + 1);
    expect(await metric('tenantry_tenant_rejections_total', { code: 'TENANT_SUSPENDED' })).toBeGreaterThan(before.suspended);
  });

  it('counts migrations the fleet runner applies and tenants it fails', async () => {
    await cp(api.config.paths.tenantMigrations, migrationsDir, { recursive: true });
    await mkdir(join(migrationsDir, '20990101000000_ops_extra'));
    await writeFile(join(migrationsDir, '20990101000000_ops_extra', 'migration.sql'), 'CREATE TABLE "OpsExtra" (id integer PRIMARY KEY);\n');
    const migrator = api.app.get(FleetMigrator);

    const applied = await migrator.migrate({ migrationsDir });
    expect(applied.totals.migrated).toBe(tenants.length);
    expect(await metric('tenantry_tenant_migrations_applied_total')).toBe(tenants.length);
    expect(await metric('tenantry_tenant_migration_failures_total')).toBe(0);

    await mkdir(join(migrationsDir, '20990102000000_ops_broken'));
    await writeFile(join(migrationsDir, '20990102000000_ops_broken', 'migration.sql'), 'ALTER TABLE "NoSuchTable" ADD COLUMN x integer;\n');
    const failed = await migrator.migrate({ migrationsDir });
    expect(failed.totals.failed).toBe(tenants.length);
    expect(await metric('tenantry_tenant_migrations_applied_total')).toBe(tenants.length);
    expect(await metric('tenantry_tenant_migration_failures_total')).toBe(tenants.length);
  });

  it('reports the fleet migration state that runs of the CLI, in another process, leave in the control plane', async () => {
    // The previous test left every tenant failed at 20990102000000_ops_broken, through the in-process runner.
    expect(await metric('tenantry_tenants_by_migration_state', { state: 'failed' })).toBe(tenants.length);
    expect(await metric('tenantry_fleet_migration_last_run_tenants', { outcome: 'failed' })).toBe(tenants.length);
    const inProcess = await metric('tenantry_tenant_migrations_applied_total');

    await writeFile(join(migrationsDir, '20990102000000_ops_broken', 'migration.sql'), 'ALTER TABLE "OpsExtra" ADD COLUMN x integer;\n');
    const before = Date.now() / 1000;
    const fixed = await runTenantsCli(api.db.url, ['migrate', '--migrations-dir', migrationsDir, '--json']);
    expect(fixed.code).toBe(0);
    expect(jsonReport<FleetMigrationReport>(fixed).totals.migrated).toBe(tenants.length);
    // Newer than the migrations this API ships, yet reached: current.
    expect(await metric('tenantry_tenants_by_migration_state', { state: 'current' })).toBe(tenants.length);
    expect(await metric('tenantry_tenants_by_migration_state', { state: 'failed' })).toBe(0);
    expect(await metric('tenantry_tenants_by_migration_state', { state: 'pending' })).toBe(0);
    expect(await metric('tenantry_fleet_migration_last_run_tenants', { outcome: 'migrated' })).toBe(tenants.length);
    expect(await metric('tenantry_fleet_migration_last_run_tenants', { outcome: 'failed' })).toBe(0);
    expect(await metric('tenantry_fleet_migration_last_run_applied')).toBe(tenants.length);
    expect(await metric('tenantry_fleet_migration_last_run_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(before));
    expect(await metric('tenantry_fleet_migration_status_up')).toBe(1);

    await mkdir(join(migrationsDir, '20990103000000_cli_broken'));
    await writeFile(join(migrationsDir, '20990103000000_cli_broken', 'migration.sql'), 'ALTER TABLE "NoSuchTable" ADD COLUMN y integer;\n');
    const broken = await runTenantsCli(api.db.url, ['migrate', '--migrations-dir', migrationsDir, '--canary', '1', '--json']);
    expect(broken.code).not.toBe(0);
    expect(jsonReport<FleetMigrationReport>(broken).totals.failed).toBe(1);
    expect(await metric('tenantry_tenants_by_migration_state', { state: 'failed' })).toBe(1);
    expect(await metric('tenantry_tenants_by_migration_state', { state: 'current' })).toBe(tenants.length - 1);
    expect(await metric('tenantry_fleet_migration_last_run_tenants', { outcome: 'failed' })).toBe(1);
    expect(await metric('tenantry_fleet_migration_last_run_tenants', { outcome: 'skipped' })).toBe(tenants.length - 1);
    expect(await metric('tenantry_fleet_migration_last_run_halted')).toBe(1);
    // The CLI's runs are not this process's: its in-process counter did not move.
    expect(await metric('tenantry_tenant_migrations_applied_total')).toBe(inProcess);
  });

  it('keeps passwords out of the logs, of failed logins and of rejected input alike', async () => {
    const [tenant] = tenants;
    const start = lines.length;
    const wrong = 'wrong-password-9f3c1a77';
    const fresh = 'fresh-password-4be2d901';
    const login = await gql(api.baseUrl, LoginDocument, { email: tenant.adminEmail, password: wrong }, { header: tenant.id });
    expect(codes(login.body)).toEqual(['UNAUTHENTICATED']);
    const ok = await gql(api.baseUrl, LoginDocument, { email: tenant.adminEmail, password: TEST_PASSWORD }, { header: tenant.id });
    expect(ok.body.errors).toBeUndefined();
    const created = await gql(
      api.baseUrl,
      CreateUserDocument,
      { input: { email: 'not-an-email', name: 'X', role: 'MEMBER' as never, password: fresh } },
      { header: tenant.id, token: tenant.token },
    );
    expect(codes(created.body)).toEqual(['BAD_USER_INPUT']);
    const written = lines.slice(start).join('');
    expect(written).toContain('"msg":"graphql request"');
    expect(written).not.toContain(wrong);
    expect(written).not.toContain(fresh);
    expect(written).not.toContain(TEST_PASSWORD);
    expect(written).not.toContain(tenant.token);
  });
});
