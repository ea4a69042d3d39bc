import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { TenantLifecycleService } from '../../src/control-plane/tenant-lifecycle.service';
import { ErrorCode } from '../../src/graphql/app-error';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import type { PurgeReport } from '../../scripts/purge.command';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, jsonReport, runTenantsCli } from '../support/tenants-cli';

const ACTOR = 'test:purge';
const DAY_MS = 86_400_000;

describe('purge of soft-deleted tenants', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let lifecycle: TenantLifecycleService;
  let observer: Client;

  async function newTenant(prefix = 'purge'): Promise<string> {
    const id = randomTenantId(prefix);
    await lifecycle.create({ id, name: `Tenant ${id}`, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD }, ACTOR);
    return id;
  }

  /** A tenant soft-deleted `days` ago. */
  async function deletedDaysAgo(days: number, prefix?: string): Promise<string> {
    const id = await newTenant(prefix);
    await lifecycle.softDelete(id, ACTOR);
    await observer.query(`UPDATE tenantry_control.tenants SET deleted_at = now() - make_interval(days => $2) WHERE id = $1`, [id, days]);
    return id;
  }

  async function exists(id: string): Promise<{ row: boolean; schema: boolean }> {
    const row = await observer.query('SELECT 1 FROM tenantry_control.tenants WHERE id = $1', [id]);
    const schema = await observer.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenantSchemaName(id)]);
    return { row: row.rows.length > 0, schema: schema.rows.length > 0 };
  }

  async function lastAudit(id: string) {
    const { rows } = await observer.query(
      'SELECT action, actor, result, details FROM tenantry_control.tenant_audit WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1',
      [id],
    );
    return rows[0];
  }

  /** Every other tenant still DELETED long ago, so that each test sees only its own candidates. */
  async function purgeLeftovers(): Promise<void> {
    await lifecycle.purgeDeleted(0, ACTOR);
  }

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    lifecycle = app.get(TenantLifecycleService);
    observer = new Client({ connectionString: db.url });
    await observer.connect();
  });

  afterAll(async () => {
    await observer?.end();
    await app?.close();
    await db?.drop();
  });

  it('hard-deletes only tenants deleted longer ago than the age, keeping an audit row for each', async () => {
    await purgeLeftovers();
    const old = await deletedDaysAgo(40);
    const recent = await deletedDaysAgo(5);
    const active = await newTenant();
    const suspended = await newTenant();
    await lifecycle.suspend(suspended, ACTOR);

    const { cutoff, outcomes } = await lifecycle.purgeDeleted(30 * DAY_MS, ACTOR);
    expect(outcomes).toEqual([{ id: old, deletedAt: expect.any(Date), status: 'purged', elapsedMs: expect.any(Number) }]);
    expect(await exists(old)).toEqual({ row: false, schema: false });
    for (const kept of [recent, active, suspended]) expect(await exists(kept)).toEqual({ row: true, schema: true });
    expect(await lastAudit(old)).toEqual({
      action: 'purge',
      actor: ACTOR,
      result: 'ok',
      details: { cutoff: cutoff.toISOString(), deletedAt: expect.any(String), schema: tenantSchemaName(old) },
    });
  });

  it('changes nothing in a dry run', async () => {
    await purgeLeftovers();
    const old = await deletedDaysAgo(31);
    const { outcomes } = await lifecycle.purgeDeleted(30 * DAY_MS, ACTOR, { dryRun: true });
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([[old, 'would-purge']]);
    expect(await exists(old)).toEqual({ row: true, schema: true });
  });

  it('refuses to purge a tenant restored since it was listed, and audits the refusal', async () => {
    const id = await deletedDaysAgo(40);
    const cutoff = new Date(Date.now() - 30 * DAY_MS);
    await lifecycle.restore(id, ACTOR);
    await expect(lifecycle.purge(id, cutoff, ACTOR)).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
    expect(await exists(id)).toEqual({ row: true, schema: true });
    expect(await lastAudit(id)).toMatchObject({ action: 'purge', result: 'error', details: { error: { code: 'CONFLICT' } } });
  });

  describe('over the CLI', () => {
    it.each([
      ['without --yes', ['purge', '--older-than', '30d'], /--yes/],
      ['without --older-than', ['purge', '--yes'], /--older-than/],
      ['with a malformed age', ['purge', '--older-than', '30 days', '--yes'], /--older-than takes an age/],
      ['with both --yes and --dry-run', ['purge', '--older-than', '30d', '--yes', '--dry-run'], /either --dry-run or --yes/],
    ])('exits 2 %s and purges nothing', async (_what, args, message) => {
      const id = await deletedDaysAgo(40);
      const result = await runTenantsCli(db.url, args);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(await exists(id)).toEqual({ row: true, schema: true });
    });

    it('lists the candidates with --dry-run --json, then purges them with --yes, reporting on stdout and progress on stderr', async () => {
      await purgeLeftovers();
      const [a, b] = [await deletedDaysAgo(45), await deletedDaysAgo(35)];
      const recent = await deletedDaysAgo(1);

      const dry = await runTenantsCli(db.url, ['purge', '--older-than', '30d', '--dry-run', '--json']);
      expect(dry.code).toBe(0);
      const planned = jsonReport<PurgeReport>(dry);
      expect(planned).toMatchObject({ dryRun: true, olderThan: '30d', totals: { tenants: 2, wouldPurge: 2, purged: 0, failed: 0 } });
      expect(planned.tenants.map((t) => [t.id, t.status])).toEqual([[a, 'would-purge'], [b, 'would-purge']]);
      expect(await exists(a)).toEqual({ row: true, schema: true });

      const run = await runTenantsCli(db.url, ['purge', '--older-than', '30d', '--yes', '--json']);
      expect(run.code).toBe(0);
      const report = jsonReport<PurgeReport>(run);
      expect(report).toMatchObject({ dryRun: false, totals: { tenants: 2, purged: 2, failed: 0 } });
      expect(run.stderr).toMatch(/\[1\/2\] tenant .* purged/);
      expect(run.stderr).toMatch(/Purged 2 of 2 tenant\(s\).*Done in \d+ ms/);
      for (const id of [a, b]) expect(await exists(id)).toEqual({ row: false, schema: false });
      expect(await exists(recent)).toEqual({ row: true, schema: true });
      expect(await lastAudit(a)).toMatchObject({ action: 'purge', result: 'ok', actor: expect.stringMatching(/^cli:/) });
    });
  });
});
