import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { FLEET_MIGRATE_APPLICATION_NAME, FleetLockedError } from '../../src/tenancy/fleet-migration-lock';
import type { FleetMigrationReport } from '../../src/tenancy/fleet-migration-report';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import { loadMigrations } from '../../src/tenancy/migration-runner';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, runTenantsCli, spawnTenantsCli, waitFor, type CliResult, jsonReport } from '../support/tenants-cli';

const ROOT = join(__dirname, '..', '..');
const BASE_MIGRATIONS = join(ROOT, 'prisma', 'tenant', 'migrations');
// Sorts after every real migration; additive, as fleet migrations should be.
const EXTRA = '29991231000000_fleet_test_notes';
const EXTRA_SQL = `CREATE TABLE "FleetNote" ("id" UUID NOT NULL PRIMARY KEY, "body" TEXT NOT NULL);
ALTER TABLE "Project" ADD COLUMN "archivedAt" TIMESTAMPTZ(3);
`;
const FLEET_LOCK = `hashtext('tenantry:fleet-migrate')`;


/** Its own database, an operations context over it, and `count` tenants provisioned with the real migrations. */
interface Fleet {
  db: TestDatabase;
  app: INestApplicationContext;
  observer: Client;
  ids: string[];
  /** The real tenant migrations plus EXTRA, in a directory this fleet may edit. */
  migrationsDir: string;
  close(): Promise<void>;
}

async function newFleet(count: number): Promise<Fleet> {
  const db = await newDatabase();
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', PG_POOL_MAX: '10' });
  const app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
  const observer = new Client({ connectionString: db.url, application_name: 'tenantry-test-observer' });
  await observer.connect();
  const migrationsDir = mkdtempSync(join(tmpdir(), 'tenantry-fleet-migrations-'));
  cpSync(BASE_MIGRATIONS, migrationsDir, { recursive: true });
  mkdirSync(join(migrationsDir, EXTRA));
  writeFileSync(join(migrationsDir, EXTRA, 'migration.sql'), EXTRA_SQL);

  const ids = Array.from({ length: count }, () => randomTenantId('f')).sort();
  const provisioner = app.get(TenantProvisioner);
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      await provisioner.create({ id, name: `Fleet ${id}`, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return {
    db,
    app,
    observer,
    ids,
    migrationsDir,
    close: async () => {
      await observer.end();
      await app.close();
      await db.drop();
      rmSync(migrationsDir, { recursive: true, force: true });
    },
  };
}

const spawnCli = (db: TestDatabase, args: string[]) => spawnTenantsCli(db.url, args);
const runCli = (db: TestDatabase, args: string[]) => runTenantsCli(db.url, args);

const reportOf = (result: CliResult) => jsonReport<FleetMigrationReport>(result);

async function ledger(observer: Client, id: string): Promise<string[]> {
  const { rows } = await observer.query<{ name: string }>(`SELECT name FROM ${tenantSchemaName(id)}._tenantry_migrations ORDER BY name`);
  return rows.map((row) => row.name);
}

/** Whether EXTRA's objects exist in the tenant's catalog. */
async function hasExtraObjects(observer: Client, id: string): Promise<boolean> {
  const { rows } = await observer.query<{ table: string | null; column: string | null }>(
    `SELECT to_regclass($1) AS table,
            (SELECT column_name FROM information_schema.columns
              WHERE table_schema = $2 AND table_name = 'Project' AND column_name = 'archivedAt') AS column`,
    [`${tenantSchemaName(id)}."FleetNote"`, tenantSchemaName(id)],
  );
  if (Boolean(rows[0].table) !== Boolean(rows[0].column)) throw new Error(`${id} is half-migrated`);
  return Boolean(rows[0].table);
}

async function summary(observer: Client, id: string): Promise<{ last_migration: string; applied_count: number } | undefined> {
  const { rows } = await observer.query('SELECT last_migration, applied_count FROM tenantry_control.tenant_migration_summary WHERE tenant_id = $1', [id]);
  return rows[0];
}


const BASE_COUNT = loadMigrations(BASE_MIGRATIONS).length;

describe('tenants migrate (fleet migration)', () => {
  beforeAll(() => {
    assertCliBuilt();
  });

  it('migrates 199 of 200 tenants when one fails, exits 1, and a rerun after the fix visits only that one', async () => {
    const fleet = await newFleet(201);
    try {
      const { ids, observer, db } = fleet;
      const registry = fleet.app.get(TenantRegistryRepository);
      const [deleted, suspended, broken] = [ids[0], ids[1], ids[100]];
      await registry.updateStatus(deleted, 'DELETED');
      await registry.updateStatus(suspended, 'SUSPENDED');
      await observer.query(`CREATE TABLE ${tenantSchemaName(broken)}."FleetNote" (x INT)`);

      const first = await runCli(db, ['migrate', '--json', '--migrations-dir', fleet.migrationsDir]);
      expect(first.code).toBe(1);
      const report = reportOf(first);
      expect(report.totals).toMatchObject({ tenants: 200, migrated: 199, failed: 1, blocked: 0, visited: 200, applied: 199 });
      expect(report.tenants.find((t) => t.id === broken)).toMatchObject({ status: 'failed', applied: [], pending: [EXTRA] });
      expect(report.tenants.find((t) => t.id === broken)?.error).toMatch(/FleetNote.*already exists/);
      expect(report.tenants.find((t) => t.id === suspended)).toMatchObject({ status: 'migrated', applied: [EXTRA] });
      expect(report.tenants.map((t) => t.id)).not.toContain(deleted);
      expect(first.stderr).toMatch(new RegExp(`\\[\\d+/200\\] tenant ${broken} FAILED: `));
      expect(first.stderr).toMatch(/\[\d+\/200\] tenant f-\w+ applied 1 in \d+ ms/);
      expect(await ledger(observer, broken)).toHaveLength(BASE_COUNT);
      expect(await hasExtraObjects(observer, deleted)).toBe(false);
      expect(await summary(observer, ids[2])).toEqual({ last_migration: EXTRA, applied_count: BASE_COUNT + 1 });
      process.stderr.write(`fleet-migrate: 199 of 200 tenants migrated (1 failed) in ${report.elapsedMs} ms at concurrency ${report.concurrency}\n`);

      await observer.query(`DROP TABLE ${tenantSchemaName(broken)}."FleetNote"`);
      const rerun = await runCli(db, ['migrate', '--json', '--migrations-dir', fleet.migrationsDir]);
      expect(rerun.code).toBe(0);
      expect(reportOf(rerun).totals).toMatchObject({ tenants: 200, migrated: 1, current: 199, failed: 0, visited: 1, applied: 1 });
      expect(reportOf(rerun).tenants.find((t) => t.id === broken)).toMatchObject({ status: 'migrated', applied: [EXTRA] });

      const noop = await fleet.app.get(FleetMigrator).migrate({ migrationsDir: fleet.migrationsDir });
      expect(noop.totals).toMatchObject({ current: 200, visited: 0, applied: 0 });
      process.stderr.write(`fleet-migrate: no-op run over 200 current tenants took ${noop.elapsedMs} ms\n`);
      for (const id of ids.slice(1)) expect(await hasExtraObjects(observer, id)).toBe(true);
    } finally {
      await fleet.close();
    }
  });

  it('stops after a failed canary or after --max-failures, reporting the rest as skipped; waves still complete', async () => {
    const fleet = await newFleet(6);
    try {
      const { ids, observer, migrationsDir } = fleet;
      const migrator = fleet.app.get(FleetMigrator);
      await observer.query(`CREATE TABLE ${tenantSchemaName(ids[1])}."FleetNote" (x INT)`);
      const statuses = (report: FleetMigrationReport) => report.tenants.map((t) => t.status);

      const canary = await migrator.migrate({ migrationsDir, canary: 2 });
      expect(statuses(canary)).toEqual(['migrated', 'failed', 'skipped', 'skipped', 'skipped', 'skipped']);
      expect(canary.halted).toMatch(/canary/);

      const limited = await migrator.migrate({ migrationsDir, maxFailures: 1, concurrency: 1 });
      expect(statuses(limited)).toEqual(['current', 'failed', 'skipped', 'skipped', 'skipped', 'skipped']);
      expect(limited.halted).toMatch(/max-failures 1/);

      const waves = await migrator.migrate({ migrationsDir, batchSize: 2 });
      expect(statuses(waves)).toEqual(['current', 'failed', 'migrated', 'migrated', 'migrated', 'migrated']);
      expect(waves.halted).toBeUndefined();
    } finally {
      await fleet.close();
    }
  });

  it('stops, reporting the rest as skipped, once the fleet lock\'s connection has ended', async () => {
    const fleet = await newFleet(4);
    try {
      const { observer, migrationsDir } = fleet;
      const report = await fleet.app.get(FleetMigrator).migrate({
        migrationsDir,
        concurrency: 1,
        onProgress: async ({ done }) => {
          if (done !== 1) return;
          const { rowCount } = await observer.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
            [FLEET_MIGRATE_APPLICATION_NAME],
          );
          expect(rowCount).toBe(1);
        },
      });
      expect(report.tenants.map((t) => t.status)).toEqual(['migrated', 'skipped', 'skipped', 'skipped']);
      expect(report.halted).toMatch(/lost the fleet-migration lock/);
      // The skipped tenants are untouched: a new run migrates them.
      const rerun = await fleet.app.get(FleetMigrator).migrate({ migrationsDir });
      expect(rerun.tenants.map((t) => t.status)).toEqual(['current', 'migrated', 'migrated', 'migrated']);
    } finally {
      await fleet.close();
    }
  });

  it('lets exactly one runner run: a second one exits 3 at once and names the holder', async () => {
    const fleet = await newFleet(3);
    const holder = new Client({ connectionString: fleet.db.url, application_name: 'fleet-test-holder' });
    try {
      const migrator = fleet.app.get(FleetMigrator);
      const both = await Promise.allSettled([
        migrator.migrate({ migrationsDir: fleet.migrationsDir }),
        migrator.migrate({ migrationsDir: fleet.migrationsDir }),
      ]);
      expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.any(FleetLockedError) });

      await holder.connect();
      await holder.query(`SELECT pg_advisory_lock(${FLEET_LOCK})`);
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const started = Date.now();
      const second = await runCli(fleet.db, ['migrate', '--migrations-dir', fleet.migrationsDir]);
      expect(second.code).toBe(3);
      expect(second.stderr).toContain(`pid ${rows[0].pid}, application "fleet-test-holder"`);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await holder.end().catch(() => undefined);
      await fleet.close();
    }
  });

  it('blocks a tenant whose applied migration changed on disk (exit 4) until migrate resolve --accept', async () => {
    const fleet = await newFleet(3);
    try {
      const { ids, db, observer, migrationsDir } = fleet;
      const [changed, ...others] = ids;
      const migrator = fleet.app.get(FleetMigrator);
      expect((await migrator.migrate({ migrationsDir, tenants: [changed] })).totals).toMatchObject({ migrated: 1 });

      // CRLF line endings are not a change: checksums are taken over LF-normalised text.
      const file = join(migrationsDir, EXTRA, 'migration.sql');
      writeFileSync(file, EXTRA_SQL.replace(/\n/g, '\r\n'));
      expect((await migrator.migrate({ migrationsDir, tenants: [changed] })).tenants[0]).toMatchObject({ status: 'current' });

      writeFileSync(file, `${readFileSync(file, 'utf8')}-- edited after it was applied\n`);
      const blocked = await runCli(db, ['migrate', '--json', '--migrations-dir', migrationsDir]);
      expect(blocked.code).toBe(4);
      const report = reportOf(blocked);
      expect(report.tenants.find((t) => t.id === changed)).toMatchObject({ status: 'blocked', applied: [] });
      expect(report.tenants.find((t) => t.id === changed)?.error).toContain(EXTRA);
      for (const id of others) expect(report.tenants.find((t) => t.id === id)).toMatchObject({ status: 'migrated', applied: [EXTRA] });

      const resolved = await runCli(db, ['migrate', 'resolve', '--tenant', changed, '--migration', EXTRA, '--accept', '--migrations-dir', migrationsDir]);
      expect(resolved.code).toBe(0);
      const after = await runCli(db, ['migrate', '--json', '--migrations-dir', migrationsDir]);
      expect(after.code).toBe(0);
      expect(reportOf(after).totals).toMatchObject({ current: 3, blocked: 0 });
      for (const id of ids) expect(await ledger(observer, id)).toContain(EXTRA);
    } finally {
      await fleet.close();
    }
  });

  it('--dry-run lists each tenant\'s pending migrations and changes nothing', async () => {
    const fleet = await newFleet(2);
    try {
      const { ids, db, observer, migrationsDir } = fleet;
      const before = await Promise.all(ids.map((id) => summary(observer, id)));
      const dry = await runCli(db, ['migrate', '--dry-run', '--migrations-dir', migrationsDir]);
      expect(dry.code).toBe(0);
      for (const id of ids) expect(dry.stdout).toMatch(new RegExp(`^${id}\\s+pending\\s+1\\s+${EXTRA}$`, 'm'));

      const report = await fleet.app.get(FleetMigrator).migrate({ migrationsDir, dryRun: true });
      expect(report.tenants).toEqual(ids.map((id) => ({ id, status: 'pending', applied: [], pending: [EXTRA] })));
      for (const id of ids) {
        expect(await ledger(observer, id)).toHaveLength(BASE_COUNT);
        expect(await hasExtraObjects(observer, id)).toBe(false);
      }
      expect(await Promise.all(ids.map((id) => summary(observer, id)))).toEqual(before);
    } finally {
      await fleet.close();
    }
  });

  it('a run SIGKILLed inside a migration transaction leaves every schema at its ledger version; a rerun completes', async () => {
    const fleet = await newFleet(5);
    const locker = new Client({ connectionString: fleet.db.url, application_name: 'fleet-test-locker' });
    try {
      const { ids, db, observer, migrationsDir } = fleet;
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${tenantSchemaName(ids[2])}."Project" IN ACCESS EXCLUSIVE MODE`);
      const cli = spawnCli(db, ['migrate', '--concurrency', '1', '--migrations-dir', migrationsDir]);
      let exited: CliResult | undefined;
      void cli.done.then((result) => (exited = result));
      const blocked = await waitFor('the run to block on the locked table', async () => {
        if (exited) throw new Error(`The CLI exited before blocking: ${JSON.stringify(exited)}`);
        const { rows } = await observer.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%FleetNote%'`,
          [db.name],
        );
        return rows[0];
      });
      const { rows: lockHolders } = await observer.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tenantry-migrate'`,
        [db.name],
      );
      cli.child.kill('SIGKILL');
      expect((await cli.done).signal).toBe('SIGKILL');
      await locker.query('ROLLBACK');
      const gone = [blocked.pid, ...lockHolders.map((r) => r.pid)];
      await waitFor('the killed run\'s sessions to end', async () => {
        const { rows } = await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [gone]);
        return rows.length === 0 ? true : undefined;
      });

      // Committed tenants are fully migrated, the interrupted one not at all: the catalog matches the ledger.
      for (const [n, id] of ids.entries()) {
        const migrated = (await ledger(observer, id)).includes(EXTRA);
        expect(migrated).toBe(n < 2);
        expect(await hasExtraObjects(observer, id)).toBe(migrated);
      }

      const rerun = await runCli(db, ['migrate', '--json', '--migrations-dir', migrationsDir]);
      expect(rerun.code).toBe(0);
      expect(reportOf(rerun).totals).toMatchObject({ migrated: 3, current: 2, failed: 0 });
      for (const id of ids) {
        expect(await ledger(observer, id)).toHaveLength(BASE_COUNT + 1);
        expect(await hasExtraObjects(observer, id)).toBe(true);
      }
    } finally {
      await locker.end().catch(() => undefined);
      await fleet.close();
    }
  });
});
