import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig, PRIMARY_DATABASE } from '../../src/config/config';
import { TenantLifecycleService } from '../../src/control-plane/tenant-lifecycle.service';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { DatabasePools } from '../../src/database/database-pools';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import { IsolationChecker } from '../../src/tenancy/isolation-check.service';
import { IsolationReporter } from '../../src/tenancy/isolation-report.service';
import { SchemaDriftService } from '../../src/tenancy/schema-drift.service';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { TenantImporter, type ImportReport } from '../../src/tenancy/tenant-import.service';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TenantRoles } from '../../src/tenancy/tenant-roles.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { SECOND_DATABASE, startSecondDatabase, type SecondDatabase } from '../support/second-database';
import { assertCliBuilt, jsonReport, runTenantsCli } from '../support/tenants-cli';

const BASE_MIGRATIONS = join(__dirname, '..', '..', 'prisma', 'tenant', 'migrations');
const EXTRA = '29991231000000_placement_notes';

describe('tenants placed on two databases', () => {
  let primary: TestDatabase;
  let second: SecondDatabase;
  let app: INestApplicationContext;
  let onPrimary: Client;
  let onSecond: Client;
  const ids = { a: randomTenantId('pa'), b: randomTenantId('pb'), c: randomTenantId('pc') };

  const create = (id: string, database?: string) =>
    app.get(TenantLifecycleService).create({ id, name: `Placed ${id}`, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD, database }, 'test');
  // Per data table (the ledger is the importer's own): row count and an md5 over the rows' text in a total order.
  const checksums = async (client: Client, id: string) => {
    const schema = tenantSchemaName(id);
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> '_tenantry_migrations' ORDER BY 1`,
      [schema],
    );
    const sums: Record<string, string> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ n: number; sum: string }>(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM "${schema}"."${name}" t`,
      );
      sums[name] = `${rows[0].n} ${rows[0].sum}`;
    }
    return sums;
  };
  const schemaExists = async (client: Client, id: string) =>
    (await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [tenantSchemaName(id)])).rowCount === 1;

  beforeAll(async () => {
    assertCliBuilt();
    [primary, second] = await Promise.all([newDatabase(), startSecondDatabase()]);
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: primary.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', ...second.env });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    await app.init();
    onPrimary = new Client({ connectionString: primary.url });
    onSecond = new Client({ connectionString: second.url });
    await Promise.all([onPrimary.connect(), onSecond.connect()]);
    await create(ids.a);
    await create(ids.b, SECOND_DATABASE);
    await create(ids.c, SECOND_DATABASE);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([onPrimary?.end(), onSecond?.end()]);
    await app?.close();
    await Promise.all([second?.destroy(), primary?.drop()]);
  });

  it('builds the schema on the named database, records the placement on the primary, and nothing of it elsewhere', async () => {
    const registry = app.get(TenantRegistryRepository);
    expect(await registry.getById(ids.a)).toMatchObject({ status: 'ACTIVE', database: PRIMARY_DATABASE });
    expect(await registry.getById(ids.b)).toMatchObject({ status: 'ACTIVE', database: SECOND_DATABASE, schemaName: tenantSchemaName(ids.b) });
    expect([await schemaExists(onSecond, ids.b), await schemaExists(onPrimary, ids.b)]).toEqual([true, false]);
    expect([await schemaExists(onPrimary, ids.a), await schemaExists(onSecond, ids.a)]).toEqual([true, false]);
    // The control plane stays on the primary.
    const control = await onSecond.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'tenantry_control'`);
    expect(control.rowCount).toBe(0);
    const role = app.get(TenantRoles).roleOf(ids.b);
    expect((await onSecond.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role])).rowCount).toBe(1);
  });

  it('refuses an unknown database with BAD_USER_INPUT and registers nothing', async () => {
    const id = randomTenantId('px');
    await expect(create(id, 'nowhere')).rejects.toMatchObject({ code: 'BAD_USER_INPUT', details: { fields: [expect.objectContaining({ path: 'database' })] } });
    expect(await app.get(TenantRegistryRepository).getById(id)).toBeNull();
  });

  it('serves tenants of one database over that database\'s one bounded request pool', async () => {
    const pools = app.get(DatabasePools);
    const connections = app.get(TenantConnectionService);
    const registry = app.get(TenantRegistryRepository);
    for (const id of [ids.a, ids.b, ids.c]) {
      const tenant = (await registry.getById(id))!;
      const [row] = await connections.forSchema(tenant.schemaName, tenant.database).$queryRawUnsafe<{ email: string }[]>(`SELECT email FROM "User"`);
      expect(row.email).toBe(`admin@${id}.test`);
    }
    expect(pools.runtime(SECOND_DATABASE)).toBe(pools.runtime(SECOND_DATABASE));
    expect(pools.runtime(SECOND_DATABASE)).not.toBe(pools.runtime(PRIMARY_DATABASE));
    // Two tenants on the second server, one pool: its request connections never exceed PG_POOL_MAX.
    const { rows } = await onSecond.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tenantry'`);
    expect(rows[0].n).toBeGreaterThan(0);
    expect(rows[0].n).toBeLessThanOrEqual(pools.runtime(SECOND_DATABASE).options.max!);
  });

  it('migrates and checks the schemas of both databases, and finds drift on the second', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-placement-migrations-'));
    try {
      cpSync(BASE_MIGRATIONS, dir, { recursive: true });
      mkdirSync(join(dir, EXTRA));
      writeFileSync(join(dir, EXTRA, 'migration.sql'), `CREATE TABLE "PlacementNote" ("id" UUID NOT NULL PRIMARY KEY);\n`);
      const report = await app.get(FleetMigrator).migrate({ migrationsDir: dir });
      const mine = report.tenants.filter((t) => Object.values(ids).includes(t.id));
      expect(mine.map((t) => [t.id, t.status, t.applied])).toEqual(
        [ids.a, ids.b, ids.c].sort().map((id) => [id, 'migrated', [EXTRA]]),
      );
      const note = await onSecond.query(`SELECT to_regclass($1) AS t`, [`${tenantSchemaName(ids.b)}."PlacementNote"`]);
      expect(note.rows[0].t).not.toBeNull();

      const drift = app.get(SchemaDriftService);
      const placedOn = { [ids.a]: PRIMARY_DATABASE, [ids.b]: SECOND_DATABASE, [ids.c]: SECOND_DATABASE };
      const checked = (await drift.status({ migrationsDir: dir })).tenants.filter((t) => t.id in placedOn);
      expect(checked.map((t) => [t.id, t.status, t.database])).toEqual([ids.a, ids.b, ids.c].sort().map((id) => [id, 'current', placedOn[id]]));
      await onSecond.query(`CREATE TABLE ${tenantSchemaName(ids.c)}.stray (id int)`);
      const after = await drift.status({ migrationsDir: dir });
      expect(after.tenants.find((t) => t.id === ids.c)).toMatchObject({
        status: 'drifted',
        drift: expect.arrayContaining([expect.objectContaining({ change: 'extra', key: 'table stray' })]),
      });
      expect(after.tenants.find((t) => t.id === ids.b)?.status).toBe('current');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the isolation check on every database and reports from the catalog of the tenant\'s own', async () => {
    const check = await app.get(IsolationChecker).check({ allPairs: true });
    // Three own-schema reads, and the two tenants of the second database probe each other.
    expect(check).toMatchObject({ ok: true, tenants: 3, probes: 5, failures: [] });
    const report = await app.get(IsolationReporter).report(ids.b);
    expect(report).toMatchObject({ database: SECOND_DATABASE, schemaExists: true, roleExists: true, findings: [] });
  });

  it('places tenants from the CLI, lists and shows the placement, and refuses an unknown database as a usage error', async () => {
    const id = randomTenantId('pcli');
    const args = ['create', id, '--name', 'Cli', '--admin-email', `admin@${id}.test`, '--admin-password-stdin'];
    const refused = await runTenantsCli(primary.url, [...args, '--database', 'nowhere'], TEST_PASSWORD, second.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--database must name a configured database: primary, secondary');
    const created = await runTenantsCli(primary.url, [...args, '--database', SECOND_DATABASE], TEST_PASSWORD, second.env);
    expect(created.stderr).toContain(`on ${SECOND_DATABASE}`);
    expect(created.code).toBe(0);
    expect(await schemaExists(onSecond, id)).toBe(true);
    const shown = await runTenantsCli(primary.url, ['show', id], '', second.env);
    expect(shown.stdout).toMatch(new RegExp(`database\\s+${SECOND_DATABASE}`));
    const listed = jsonReport<{ tenants: { id: string; database: string }[] }>(await runTenantsCli(primary.url, ['list', '--json'], '', second.env));
    expect(listed.tenants.find((t) => t.id === id)?.database).toBe(SECOND_DATABASE);
  }, 240_000); // four CLI processes, each booting the operations context

  it('exports a tenant from its own database and imports it onto another one, row for row', async () => {
    const source = randomTenantId('pexp');
    await create(source, SECOND_DATABASE);
    const schema = tenantSchemaName(source);
    await onSecond.query(
      `INSERT INTO "${schema}"."Project" (id, name, "ownerId", "createdAt", "updatedAt")
       SELECT gen_random_uuid(), 'placed ' || i, (SELECT id FROM "${schema}"."User" LIMIT 1), now(), now() FROM generate_series(1, 40) i`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-placement-export-'));
    try {
      const file = join(dir, `${source}.ndjson.gz`);
      const exported = await runTenantsCli(primary.url, ['export', source, '--out', file], '', second.env);
      expect(exported.stderr).toContain(`Exported ${source}`);
      expect(exported.code).toBe(0);

      const copy = randomTenantId('pimp');
      const imported = await runTenantsCli(primary.url, ['import', file, '--as', copy, '--database', PRIMARY_DATABASE, '--json'], '', second.env);
      expect(imported.code).toBe(0);
      expect(jsonReport<ImportReport>(imported)).toMatchObject({ tenantId: copy, from: source, database: PRIMARY_DATABASE });
      expect(await app.get(TenantRegistryRepository).getById(copy)).toMatchObject({ status: 'ACTIVE', database: PRIMARY_DATABASE });
      expect([await schemaExists(onPrimary, copy), await schemaExists(onSecond, copy)]).toEqual([true, false]);
      const [from, into] = [await checksums(onSecond, source), await checksums(onPrimary, copy)];
      expect(from.Project).toMatch(/^40 /);
      expect(into).toEqual(from);

      // An unknown placement is refused before anything is written.
      const refused = randomTenantId('pimp');
      await expect(app.get(TenantImporter).import(file, refused, { database: 'nowhere' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(await app.get(TenantRegistryRepository).getById(refused)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000); // two CLI processes, each booting the operations context

  it('hard-deletes a placed tenant: its schema goes from its own database', async () => {
    await app.get(TenantLifecycleService).hardDelete(ids.c, 'test');
    expect(await schemaExists(onSecond, ids.c)).toBe(false);
    expect(await app.get(TenantRegistryRepository).getById(ids.c)).toBeNull();
  });
});
