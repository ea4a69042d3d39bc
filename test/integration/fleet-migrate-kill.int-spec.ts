import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import type { FleetMigrationReport } from '../../src/tenancy/fleet-migration-report';
import { loadMigrations } from '../../src/tenancy/migration-runner';
import { SchemaDriftService } from '../../src/tenancy/schema-drift.service';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, jsonReport, runTenantsCli, spawnTenantsCli, waitFor, type CliResult } from '../support/tenants-cli';

const BASE_MIGRATIONS = join(__dirname, '..', '..', 'prisma', 'tenant', 'migrations');
const BASE_COUNT = loadMigrations(BASE_MIGRATIONS).length;
// Two pending multi-statement migrations, each sleeping between DDL statements so that a kill can land inside
// an open migration transaction, between statements, between migrations and between tenants.
const PENDING: [string, string][] = [
  [
    '29991231000000_kill_test_notes',
    `CREATE TABLE "KillNote" ("id" UUID NOT NULL PRIMARY KEY, "body" TEXT NOT NULL);
SELECT pg_sleep(0.3);
ALTER TABLE "Project" ADD COLUMN "archivedAt" TIMESTAMPTZ(3);
CREATE INDEX "KillNote_body_idx" ON "KillNote" ("body");
`,
  ],
  [
    '29991231000001_kill_test_flags',
    `CREATE TYPE "KillFlag" AS ENUM ('ON', 'OFF');
ALTER TABLE "KillNote" ADD COLUMN "flag" "KillFlag" NOT NULL DEFAULT 'OFF';
SELECT pg_sleep(0.3);
CREATE INDEX "Project_archivedAt_idx" ON "Project" ("archivedAt");
`,
  ],
];
const TENANTS = 10;
const KILLS = 5;

describe('tenants migrate under SIGKILL', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let observer: Client;
  let migrationsDir: string;
  let ids: string[];

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    observer = new Client({ connectionString: db.url, application_name: 'tenantry-test-observer' });
    await observer.connect();
    migrationsDir = mkdtempSync(join(tmpdir(), 'tenantry-kill-migrations-'));
    cpSync(BASE_MIGRATIONS, migrationsDir, { recursive: true });
    for (const [name, sql] of PENDING) {
      mkdirSync(join(migrationsDir, name));
      writeFileSync(join(migrationsDir, name, 'migration.sql'), sql);
    }
    ids = Array.from({ length: TENANTS }, () => randomTenantId('k')).sort();
    for (const id of ids) {
      await app.get(TenantProvisioner).create({ id, name: `Kill ${id}`, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD });
    }
  });
  afterAll(async () => {
    await observer.end();
    await app.close();
    await db.drop();
    rmSync(migrationsDir, { recursive: true, force: true });
  });

  const sessions = async () =>
    (await observer.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [db.name])).rows.map((r) => r.pid);

  /** Migrations committed across the fleet: the ledgers' rows, in one statement. */
  async function ledgerRows(): Promise<number> {
    const sql = ids.map((id) => `SELECT count(*) AS n FROM ${tenantSchemaName(id)}._tenantry_migrations`).join(' UNION ALL ');
    const { rows } = await observer.query<{ total: number }>(`SELECT sum(n)::int AS total FROM (${sql}) ledgers`);
    return rows[0].total;
  }

  /** Every schema's catalog is exactly the reference built from the migrations of its own ledger. */
  async function expectEverySchemaAtItsLedgerVersion(): Promise<void> {
    const report = await app.get(SchemaDriftService).status({ migrationsDir });
    expect(report.totals.checked).toBe(TENANTS);
    for (const tenant of report.tenants) {
      expect({ id: tenant.id, drift: tenant.drift, checksumMismatches: tenant.checksumMismatches }).toEqual({
        id: tenant.id,
        drift: [],
        checksumMismatches: [],
      });
    }
  }

  it('leaves every schema at its ledger version after kills at random moments, and a rerun completes the fleet', async () => {
    const moments: string[] = [];
    let before = await ledgerRows();
    for (let kill = 0; kill < KILLS; kill++) {
      const others = new Set(await sessions());
      const cli = spawnTenantsCli(db.url, ['migrate', '--concurrency', '2', '--migrations-dir', migrationsDir]);
      let exited: CliResult | undefined;
      void cli.done.then((result) => (exited = result));
      const notExited = () => {
        if (exited) throw new Error(`The run ended before kill ${kill + 1}: ${JSON.stringify(exited)}`);
      };
      await waitFor('the run to take the fleet lock', async () => {
        notExited();
        const { rows } = await observer.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tenantry-migrate'`, [db.name]);
        return rows.length > 0 ? true : undefined;
      });
      if (kill % 2 === 0) {
        // Inside a migration transaction: a statement of a pending migration is running, its earlier DDL uncommitted.
        const open = await waitFor('a migration transaction to be open', async () => {
          notExited();
          const { rows } = await observer.query<{ pid: number; xact: Date }>(
            `SELECT pid, xact_start AS xact FROM pg_stat_activity
              WHERE datname = $1 AND pid <> pg_backend_pid() AND state = 'active' AND xact_start IS NOT NULL AND query LIKE '%pg_sleep%'`,
            [db.name],
          );
          return rows[0];
        });
        cli.child.kill('SIGKILL');
        moments.push(`inside the migration transaction of backend ${open.pid}`);
      } else {
        // After 1-3 more migrations have committed somewhere, plus up to 300 ms: between statements, migrations
        // or tenants, wherever that falls.
        const commits = 1 + Math.floor(Math.random() * 3);
        const target = before + commits;
        await waitFor(`${commits} more migration(s) to commit`, async () => {
          notExited();
          return (await ledgerRows()) >= target ? true : undefined;
        });
        const delay = Math.floor(Math.random() * 300);
        await new Promise((resolve) => setTimeout(resolve, delay));
        notExited();
        cli.child.kill('SIGKILL');
        moments.push(`${delay} ms after ${commits} more commit(s)`);
      }
      expect((await cli.done).signal).toBe('SIGKILL');
      const killed = (await sessions()).filter((pid) => !others.has(pid));
      await waitFor("the killed run's sessions to end", async () => {
        const { rows } = await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [killed]);
        return rows.length === 0 ? true : undefined;
      });
      await expectEverySchemaAtItsLedgerVersion();
      const after = await ledgerRows();
      expect(after).toBeGreaterThanOrEqual(before);
      before = after;
    }
    process.stderr.write(`fleet-migrate-kill: ${KILLS} kills (${moments.join('; ')}); ${before - TENANTS * BASE_COUNT} migration(s) committed before the rerun\n`);
    expect(before).toBeLessThan(TENANTS * (BASE_COUNT + PENDING.length));

    const rerun = await runTenantsCli(db.url, ['migrate', '--json', '--migrations-dir', migrationsDir]);
    expect(rerun.code).toBe(0);
    expect(jsonReport<FleetMigrationReport>(rerun).totals).toMatchObject({ tenants: TENANTS, failed: 0, blocked: 0 });
    const final = await app.get(SchemaDriftService).status({ migrationsDir });
    expect(final.tenants.map((t) => t.status)).toEqual(ids.map(() => 'current'));
    const status = await runTenantsCli(db.url, ['status', '--migrations-dir', migrationsDir]);
    expect(status.code).toBe(0);
  }, 400_000);
});
