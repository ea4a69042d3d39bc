// P4/P5: fleet operations. Provisioning p50/p99 per tenant (the fixture's creates, through TenantProvisioner);
// an additive migration rolled over every tenant at several concurrencies (a copy of the tenant migrations in a
// temporary directory plus one `ADD COLUMN` per concurrency, so each run has real work); then a run with nothing
// to do — what a deploy pays when the fleet is already current.
import { NestFactory } from '@nestjs/core';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from '../../src/app.module';
import { nestLogLevels } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import type { BenchOptions, Fixture } from './fixture';
import { percentiles } from './load';
import { fixed, log, round, table } from './report';

export interface FleetResult {
  scenario: 'P4/P5 fleet';
  tenants: number;
  provisioning: { concurrency: number; p50Ms: number; p99Ms: number; tenantsPerSecond: number };
  migrations: { concurrency: number; elapsedMs: number; schemasPerSecond: number; migrated: number; failed: number }[];
  noOp: { elapsedMs: number; current: number; visited: number };
}

export async function fleetScenario(fixture: Fixture, options: BenchOptions): Promise<FleetResult> {
  const { latenciesMs, elapsedMs, concurrency } = fixture.provisioning;
  const provisioning = {
    concurrency,
    p50Ms: round(percentiles(latenciesMs).p50),
    p99Ms: round(percentiles(latenciesMs).p99),
    tenantsPerSecond: round(latenciesMs.length / (elapsedMs / 1000)),
  };
  const config = loadConfig({ ...process.env, DATABASE_URL: fixture.url, NODE_ENV: 'test', PG_POOL_MAX: String(Math.max(...options.concurrencies) + 1) });
  const root = config.paths.tenantMigrations;
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-bench-migrations-'));
  cpSync(root, dir, { recursive: true });
  const app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: nestLogLevels('warn') });
  try {
    const migrator = app.get(FleetMigrator);
    const migrations: FleetResult['migrations'] = [];
    for (const [n, level] of options.concurrencies.entries()) {
      // Sorts after every real migration; a column of its own so each concurrency applies one migration.
      const name = `29990101${String(n).padStart(6, '0')}_bench_concurrency_${level}`;
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'migration.sql'), `ALTER TABLE "Project" ADD COLUMN "bench_c${n}_${level}" TEXT;\n`);
      log(`P4: migrating ${fixture.tenants.length} tenants at concurrency ${level}…`);
      const report = await migrator.migrate({ migrationsDir: dir, concurrency: level });
      if (report.totals.migrated !== fixture.tenants.length) log(`  ${report.totals.failed} failed: ${report.tenants.find((t) => t.error)?.error}`);
      migrations.push({
        concurrency: level,
        elapsedMs: report.elapsedMs,
        schemasPerSecond: round(report.totals.migrated / (report.elapsedMs / 1000), 1),
        migrated: report.totals.migrated,
        failed: report.totals.failed,
      });
    }
    log('P5: a run with nothing to apply…');
    const noOp = await migrator.migrate({ migrationsDir: dir });
    return {
      scenario: 'P4/P5 fleet',
      tenants: fixture.tenants.length,
      provisioning,
      migrations,
      noOp: { elapsedMs: noOp.elapsedMs, current: noOp.totals.current, visited: noOp.totals.visited },
    };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fleetTables(result: FleetResult): string {
  const p = result.provisioning;
  return [
    table(
      ['provisioning', 'tenants:', 'concurrency:', 'p50 ms/tenant:', 'p99 ms/tenant:', 'tenants/s:'],
      [['create (register, schema, migrations, admin, activate)', result.tenants, p.concurrency, fixed(p.p50Ms, 1), fixed(p.p99Ms, 1), fixed(p.tenantsPerSecond, 1)]],
    ),
    table(
      ['migration', 'concurrency:', 'schemas:', 'failed:', 'elapsed s:', 'schemas/s:'],
      [
        ...result.migrations.map((m) => ['one `ADD COLUMN`', m.concurrency, m.migrated, m.failed, fixed(m.elapsedMs / 1000), fixed(m.schemasPerSecond, 1)]),
        ['nothing pending (no-op)', '—', result.noOp.current, 0, fixed(result.noOp.elapsedMs / 1000), fixed(result.noOp.current / (result.noOp.elapsedMs / 1000), 0)],
      ],
    ),
  ].join('\n\n');
}
