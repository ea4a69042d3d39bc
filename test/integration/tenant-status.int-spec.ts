import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig, PRIMARY_DATABASE } from '../../src/config/config';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import { loadMigrations } from '../../src/tenancy/migration-runner';
import { SchemaDriftService } from '../../src/tenancy/schema-drift.service';
import type { SchemaDifference, SchemaStatusReport } from '../../src/tenancy/schema-status-report';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, runTenantsCli, type CliResult, jsonReport } from '../support/tenants-cli';

const ROOT = join(__dirname, '..', '..');
const BASE_MIGRATIONS = join(ROOT, 'prisma', 'tenant', 'migrations');
const BASE = loadMigrations(BASE_MIGRATIONS).map((m) => m.name);
const EXTRA = '29991231000000_status_test_notes';
const EXTRA_SQL = `CREATE TABLE "StatusNote" ("id" UUID NOT NULL PRIMARY KEY, "body" TEXT NOT NULL);
ALTER TABLE "Project" ADD COLUMN "archivedAt" TIMESTAMPTZ(3);
`;

const runCli = (db: TestDatabase, args: string[]) => runTenantsCli(db.url, args);

const reportOf = (result: CliResult) => jsonReport<SchemaStatusReport>(result);

describe('tenants status (pending migrations and schema drift)', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let observer: Client;
  /** Tenants nobody alters: every test expects them current (or merely behind). */
  let clean: string[];
  /** The real tenant migrations plus EXTRA. */
  let extraDir: string;

  async function provision(): Promise<string> {
    const id = randomTenantId('s');
    await app.get(TenantProvisioner).create({ id, name: `Status ${id}`, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD });
    return id;
  }

  /** A new tenant whose schema `sql` then changes behind the migrations' back. */
  async function driftedTenant(sql: string): Promise<string> {
    const id = await provision();
    await observer.query('BEGIN');
    await observer.query(`SET LOCAL search_path TO ${tenantSchemaName(id)}`);
    await observer.query(sql);
    await observer.query('COMMIT');
    return id;
  }

  // A tenant a test has finished with is soft-deleted, so later reports skip it: every test sees a clean fleet.
  const retire = (id: string) => app.get(TenantRegistryRepository).updateStatus(id, 'DELETED');
  const status = (options: { tenants?: string[]; migrationsDir?: string } = {}) => app.get(SchemaDriftService).status(options);
  const checked = (report: SchemaStatusReport) => report.tenants.filter((t) => t.status !== 'skipped');

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', PG_POOL_MAX: '4' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    observer = new Client({ connectionString: db.url });
    await observer.connect();
    clean = (await Promise.all([provision(), provision(), provision()])).sort();
    extraDir = mkdtempSync(join(tmpdir(), 'tenantry-status-migrations-'));
    cpSync(BASE_MIGRATIONS, extraDir, { recursive: true });
    mkdirSync(join(extraDir, EXTRA));
    writeFileSync(join(extraDir, EXTRA, 'migration.sql'), EXTRA_SQL);
  });

  afterAll(async () => {
    await observer?.end();
    await app?.close();
    await db?.drop();
    if (extraDir) rmSync(extraDir, { recursive: true, force: true });
  });

  it('reports a clean fleet as current and exits 0, with the documented --json report', async () => {
    const result = await runCli(db, ['status', '--json']);
    expect(result.code).toBe(0);
    const report = reportOf(result);
    expect(checked(report)).toEqual(
      clean.map((id) => ({
        id,
        status: 'current',
        tenantStatus: 'ACTIVE',
        schema: tenantSchemaName(id),
        database: PRIMARY_DATABASE,
        lastMigration: BASE.at(-1),
        pending: [],
        checksumMismatches: [],
        drift: [],
      })),
    );
    expect(report).toMatchObject({ latestMigration: BASE.at(-1), migrationCount: BASE.length, referenceVersions: 1 });
    expect(report.totals).toMatchObject({ checked: 3, current: 3, behind: 0, mismatched: 0, drifted: 0 });
    expect(report.elapsedMs).toEqual(expect.any(Number));
    expect(result.stderr).toMatch(/^All 3 tenant schemas are current and match the migrations( \(\d+ skipped\))?\.$/m);
    expect(result.stderr).toMatch(/in \d+ ms$/m);

    const table = await runCli(db, ['status', '--tenant', clean.join(',')]);
    expect(table.code).toBe(0);
    for (const id of clean) expect(table.stdout).toMatch(new RegExp(`^${id}\\s+primary\\s+current\\s+${BASE.at(-1)}\\s+0\\s+none$`, 'm'));
  });

  it.each<[string, string, SchemaDifference[]]>([
    ['an added column', 'ALTER TABLE "Project" ADD COLUMN extra int', [{ change: 'extra', key: 'column Project.extra', actual: 'integer NULL' }]],
    ['a dropped column', 'ALTER TABLE "Project" DROP COLUMN description', [{ change: 'missing', key: 'column Project.description', expected: 'text NULL' }]],
    [
      'a type change',
      'ALTER TABLE "Project" ALTER COLUMN name TYPE text',
      [{ change: 'changed', key: 'column Project.name', expected: 'character varying(200) NOT NULL', actual: 'text NOT NULL' }],
    ],
    [
      'a nullability change',
      'ALTER TABLE "Project" ALTER COLUMN description SET NOT NULL',
      [{ change: 'changed', key: 'column Project.description', expected: 'text NULL', actual: 'text NOT NULL' }],
    ],
    [
      'a default change',
      `ALTER TABLE "User" ALTER COLUMN role SET DEFAULT 'ADMIN'`,
      [
        {
          change: 'changed',
          key: 'column User.role',
          expected: `enum Role NOT NULL DEFAULT 'MEMBER'::"Role"`,
          actual: `enum Role NOT NULL DEFAULT 'ADMIN'::"Role"`,
        },
      ],
    ],
    ['a missing index', 'DROP INDEX "Project_ownerId_idx"', [{ change: 'missing', key: 'index Project.Project_ownerId_idx', expected: 'btree (ownerId)' }]],
    ['an extra index', 'CREATE INDEX "Project_name_idx" ON "Project" (name)', [{ change: 'extra', key: 'index Project.Project_name_idx', actual: 'btree (name)' }]],
    [
      'a missing constraint',
      'ALTER TABLE "Project" DROP CONSTRAINT "Project_ownerId_fkey"',
      [
        {
          change: 'missing',
          key: 'foreign key Project.Project_ownerId_fkey',
          expected: '(ownerId) REFERENCES User (id) ON DELETE RESTRICT ON UPDATE CASCADE',
        },
      ],
    ],
    [
      'an extra constraint',
      'ALTER TABLE "Project" ADD CONSTRAINT "Project_name_trimmed" CHECK (name = btrim(name))',
      [{ change: 'extra', key: 'check Project.Project_name_trimmed', actual: 'CHECK (((name)::text = btrim((name)::text)))' }],
    ],
    [
      'a missing CHECK constraint',
      'ALTER TABLE "User" DROP CONSTRAINT "User_email_lowercase"',
      [{ change: 'missing', key: 'check User.User_email_lowercase', expected: 'CHECK (((email)::text = lower((email)::text)))' }],
    ],
    [
      'an extra unique constraint',
      'ALTER TABLE "Project" ADD CONSTRAINT "Project_description_key" UNIQUE (description)',
      [{ change: 'extra', key: 'index Project.Project_description_key', actual: 'UNIQUE CONSTRAINT btree (description)' }],
    ],
    // Task's: nothing references it (Project's is referenced by Task's foreign key).
    ['a missing primary key', 'ALTER TABLE "Task" DROP CONSTRAINT "Task_pkey"', [{ change: 'missing', key: 'primary key Task', expected: 'Task_pkey (id)' }]],
  ])('reports %s as drift of exactly that tenant', async (_change, sql, drift) => {
    const id = await driftedTenant(sql);
    try {
      const report = await status();
      expect(checked(report).filter((t) => t.status !== 'current').map((t) => t.id)).toEqual([id]);
      expect(report.tenants.find((t) => t.id === id)).toMatchObject({ status: 'drifted', pending: [], checksumMismatches: [], drift });
      expect(report.totals).toMatchObject({ checked: clean.length + 1, current: clean.length, drifted: 1, behind: 0 });
    } finally {
      await retire(id);
    }
  });

  it('exits 1 on drift and lists each difference under its tenant', async () => {
    const id = await driftedTenant('ALTER TABLE "Project" ADD COLUMN extra int; DROP INDEX "Project_ownerId_idx"');
    try {
      const result = await runCli(db, ['status']);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^${id}\\s+primary\\s+drifted\\s+${BASE.at(-1)}\\s+0\\s+2 difference\\(s\\)$`, 'm'));
      expect(result.stdout).toMatch(/^\s+extra column Project\.extra: integer NULL$/m);
      expect(result.stdout).toMatch(/^\s+missing index Project\.Project_ownerId_idx: btree \(ownerId\)$/m);
      for (const other of clean) expect(result.stdout).toMatch(new RegExp(`^${other}\\s+primary\\s+current\\s`, 'm'));
      expect(result.stderr).toMatch(/^1 of 4 tenants drifted( \(\d+ skipped\))?\.$/m);
    } finally {
      await retire(id);
    }
  });

  it('reports a tenant behind by one migration as pending, not drifted, against the reference at its own version', async () => {
    const ahead = await provision();
    try {
      await app.get(FleetMigrator).migrate({ migrationsDir: extraDir, tenants: [ahead] });
      const report = await status({ migrationsDir: extraDir });
      expect(report.referenceVersions).toBe(2);
      expect(report.tenants.find((t) => t.id === ahead)).toMatchObject({ status: 'current', lastMigration: EXTRA, pending: [], drift: [] });
      for (const id of clean) {
        expect(report.tenants.find((t) => t.id === id)).toMatchObject({ status: 'pending', lastMigration: BASE.at(-1), pending: [EXTRA], drift: [] });
      }
      expect(report.totals).toMatchObject({ behind: 3, drifted: 0, current: 1 });

      const result = await runCli(db, ['status', '--json', '--migrations-dir', extraDir]);
      expect(result.code).toBe(1);
      expect(reportOf(result).totals).toMatchObject({ behind: 3, drifted: 0 });
      expect(result.stderr).toMatch(/^3 of 4 tenants behind( \(\d+ skipped\))?\.$/m);
    } finally {
      await retire(ahead);
    }
  });

  it('reports an applied migration whose file changed as a checksum mismatch, not as drift', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-status-changed-'));
    try {
      cpSync(BASE_MIGRATIONS, dir, { recursive: true });
      appendFileSync(join(dir, BASE[0], 'migration.sql'), '-- edited after it was applied\n');
      const report = await status({ migrationsDir: dir, tenants: clean });
      expect(report.tenants).toEqual(clean.map((id) => expect.objectContaining({ id, status: 'mismatch', checksumMismatches: [BASE[0]], drift: [] })));
      expect(report.totals).toMatchObject({ mismatched: 3, current: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skips deleted tenants, reports a missing schema as drift, and refuses unknown tenants and stray arguments', async () => {
    const gone = await provision();
    const deleted = await provision();
    try {
      await retire(deleted);
      await observer.query(`DROP SCHEMA ${tenantSchemaName(gone)} CASCADE`);
      const report = await status({ tenants: [gone, deleted, clean[0]] });
      expect(report.tenants.find((t) => t.id === deleted)).toMatchObject({ status: 'skipped', tenantStatus: 'DELETED', reason: 'tenant is DELETED' });
      expect(report.tenants.find((t) => t.id === gone)).toMatchObject({
        status: 'drifted',
        drift: [{ change: 'missing', key: `schema ${tenantSchemaName(gone)}` }],
      });
      expect(report.totals).toMatchObject({ tenants: 3, checked: 2, skipped: 1, drifted: 1, current: 1 });

      const unknown = await runCli(db, ['status', '--tenant', 'no-such-tenant']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('NOT_FOUND');
      expect((await runCli(db, ['status', 'everything'])).code).toBe(2);
    } finally {
      await retire(gone);
    }
  });
});
