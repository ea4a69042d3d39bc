import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { TenantLifecycleService } from '../../src/control-plane/tenant-lifecycle.service';
import { ErrorCode } from '../../src/graphql/app-error';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, runTenantsCli } from '../support/tenants-cli';

const ACTOR = 'test:lifecycle';


interface AuditRow {
  action: string;
  actor: string;
  result: string;
  details: Record<string, unknown>;
}

describe('tenant lifecycle', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let lifecycle: TenantLifecycleService;
  let observer: Client;

  const runCli = (args: string[], stdin = '') => runTenantsCli(db.url, args, stdin);

  async function newTenant(): Promise<string> {
    const id = randomTenantId('life');
    await lifecycle.create({ id, name: `Tenant ${id}`, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD }, ACTOR);
    return id;
  }

  async function status(id: string): Promise<{ status: string; deleted_at: Date | null } | undefined> {
    const { rows } = await observer.query('SELECT status, deleted_at FROM tenantry_control.tenants WHERE id = $1', [id]);
    return rows[0];
  }

  async function audit(id: string): Promise<AuditRow[]> {
    const { rows } = await observer.query<AuditRow>(
      'SELECT action, actor, result, details FROM tenantry_control.tenant_audit WHERE tenant_id = $1 ORDER BY id',
      [id],
    );
    return rows;
  }

  async function schemaExists(id: string): Promise<boolean> {
    const { rows } = await observer.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenantSchemaName(id)]);
    return rows.length > 0;
  }

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', BASE_DOMAIN: 'tenantry.test' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    lifecycle = app.get(TenantLifecycleService);
    observer = new Client({ connectionString: db.url, application_name: 'tenantry-test-observer' });
    await observer.connect();
  });

  afterAll(async () => {
    await observer?.end();
    await app?.close();
    await db?.drop();
  });

  it('walks a tenant through suspend, resume, delete and restore, auditing each step', async () => {
    const id = await newTenant();
    expect(await lifecycle.suspend(id, ACTOR)).toMatchObject({ status: 'SUSPENDED' });
    expect(await lifecycle.resume(id, ACTOR)).toMatchObject({ status: 'ACTIVE' });
    const deleted = await lifecycle.softDelete(id, ACTOR);
    expect(deleted).toMatchObject({ status: 'DELETED' });
    expect(deleted.deletedAt).toBeInstanceOf(Date);
    expect(await schemaExists(id)).toBe(true);
    expect(await lifecycle.restore(id, ACTOR)).toMatchObject({ status: 'ACTIVE', deletedAt: null });
    expect(await status(id)).toEqual({ status: 'ACTIVE', deleted_at: null });

    expect(await audit(id)).toEqual([
      { action: 'create', actor: ACTOR, result: 'ok', details: { name: `Tenant ${id}`, plan: 'free', adminEmail: `admin@${id}.test`, database: 'primary' } },
      { action: 'suspend', actor: ACTOR, result: 'ok', details: { from: 'ACTIVE', to: 'SUSPENDED' } },
      { action: 'resume', actor: ACTOR, result: 'ok', details: { from: 'SUSPENDED', to: 'ACTIVE' } },
      { action: 'delete', actor: ACTOR, result: 'ok', details: { from: 'ACTIVE', to: 'DELETED' } },
      { action: 'restore', actor: ACTOR, result: 'ok', details: { from: 'DELETED', to: 'ACTIVE' } },
    ]);
  });

  it.each([
    ['resume an ACTIVE tenant', 'resume' as const, [] as const],
    ['restore a tenant that is not deleted', 'restore' as const, [] as const],
    ['suspend a deleted tenant', 'suspend' as const, ['softDelete'] as const],
    ['delete a deleted tenant', 'softDelete' as const, ['softDelete'] as const],
  ])('refuses to %s with CONFLICT, changes nothing and audits the refusal', async (_what, action, before) => {
    const id = await newTenant();
    for (const step of before) await lifecycle[step](id, ACTOR);
    const statusBefore = await status(id);
    await expect(lifecycle[action](id, ACTOR)).rejects.toMatchObject({ code: ErrorCode.CONFLICT, message: expect.stringMatching(/only/) });
    expect(await status(id)).toEqual(statusBefore);
    expect((await audit(id)).at(-1)).toMatchObject({ result: 'error', details: { error: { code: 'CONFLICT' } } });
  });

  it('answers TENANT_NOT_FOUND for an unknown tenant and BAD_USER_INPUT for a malformed id, before any SQL', async () => {
    await expect(lifecycle.suspend(randomTenantId('none'), ACTOR)).rejects.toMatchObject({ code: ErrorCode.TENANT_NOT_FOUND });
    await expect(lifecycle.show(randomTenantId('none'))).rejects.toMatchObject({ code: ErrorCode.TENANT_NOT_FOUND });
    for (const bad of ["x'; DROP SCHEMA tenantry_control CASCADE; --", 'Upper', 'www']) {
      await expect(lifecycle.hardDelete(bad, ACTOR)).rejects.toMatchObject({ code: ErrorCode.BAD_USER_INPUT });
    }
    const { rows } = await observer.query(`SELECT count(*)::int AS n FROM tenantry_control.tenant_audit WHERE tenant_id !~ '^[a-z]'`);
    expect(rows[0].n).toBe(0);
  });

  it('updates name and plan, validating both', async () => {
    const id = await newTenant();
    expect(await lifecycle.update(id, { name: 'Renamed', plan: 'pro' }, ACTOR)).toMatchObject({ name: 'Renamed', plan: 'pro' });
    await expect(lifecycle.update(id, { plan: 'platinum' }, ACTOR)).rejects.toMatchObject({ code: ErrorCode.BAD_USER_INPUT });
    await expect(lifecycle.update(id, { name: ' ' }, ACTOR)).rejects.toMatchObject({ code: ErrorCode.BAD_USER_INPUT });
    const [ok, badPlan, badName] = (await audit(id)).slice(-3);
    expect(ok).toEqual({
      action: 'update',
      actor: ACTOR,
      result: 'ok',
      details: { name: 'Renamed', plan: 'pro', before: { name: `Tenant ${id}`, plan: 'free' } },
    });
    // Refused before any SQL, and audited all the same.
    expect(badPlan).toMatchObject({ action: 'update', result: 'error', details: { plan: 'platinum', error: { code: 'BAD_USER_INPUT' } } });
    expect(badName).toMatchObject({ action: 'update', result: 'error', details: { name: ' ', error: { code: 'BAD_USER_INPUT' } } });
    expect(await lifecycle.show(id)).toMatchObject({ tenant: { name: 'Renamed', plan: 'pro' } });
  });

  it('adds custom domains lower-cased, unique across tenants, and removes them', async () => {
    const [a, b] = [await newTenant(), await newTenant()];
    const domain = `Shop-${a}.Example.ORG`;
    expect(await lifecycle.addDomain(a, domain, ACTOR)).toBe(domain.toLowerCase());
    await expect(lifecycle.addDomain(b, domain, ACTOR)).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
    await expect(lifecycle.addDomain(a, domain.toLowerCase(), ACTOR)).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
    expect((await lifecycle.show(a)).domains.map((d) => d.domain)).toEqual([domain.toLowerCase()]);
    expect((await audit(b)).at(-1)).toMatchObject({ action: 'domain-add', result: 'error', details: { domain: domain.toLowerCase(), error: { code: 'CONFLICT' } } });

    await expect(lifecycle.removeDomain(b, domain, ACTOR)).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    expect(await lifecycle.removeDomain(a, domain, ACTOR)).toBe(domain.toLowerCase());
    expect((await lifecycle.show(a)).domains).toEqual([]);
  });

  it.each([
    ['not a DNS name', 'shop_1.example.org'],
    ['a single label', 'localhost'],
    ['an IP address', '10.0.0.1'],
    ['the base domain', 'tenantry.test'],
    ['under the base domain', 'shop.tenantry.test'],
    ['too long a label', `${'a'.repeat(64)}.example.org`],
  ])('rejects a custom domain that is %s, and audits the refusal', async (_what, hostname) => {
    const id = await newTenant();
    await expect(lifecycle.addDomain(id, hostname, ACTOR)).rejects.toMatchObject({ code: ErrorCode.BAD_USER_INPUT });
    expect((await lifecycle.show(id)).domains).toEqual([]);
    expect((await audit(id)).at(-1)).toMatchObject({ action: 'domain-add', result: 'error', details: { error: { code: 'BAD_USER_INPUT' } } });
  });

  it('hard-deletes: drops the schema, the registry row and the domains, releases the client, keeps the audit', async () => {
    const id = await newTenant();
    await lifecycle.addDomain(id, `${id}.example.org`, ACTOR);
    const connections = app.get(TenantConnectionService);
    await connections.forSchema(tenantSchemaName(id)).user.count();
    const release = jest.spyOn(connections, 'release');

    await lifecycle.hardDelete(id, ACTOR);
    expect(release).toHaveBeenCalledWith(tenantSchemaName(id));
    release.mockRestore();
    expect(await schemaExists(id)).toBe(false);
    expect(await status(id)).toBeUndefined();
    const { rows } = await observer.query('SELECT 1 FROM tenantry_control.tenant_domains WHERE tenant_id = $1', [id]);
    expect(rows).toEqual([]);
    expect((await audit(id)).at(-1)).toEqual({
      action: 'hard-delete',
      actor: ACTOR,
      result: 'ok',
      details: { status: 'ACTIVE', schema: tenantSchemaName(id), database: 'primary' },
    });
    await expect(lifecycle.hardDelete(id, ACTOR)).rejects.toMatchObject({ code: ErrorCode.TENANT_NOT_FOUND });
  });

  describe('over the CLI', () => {
    it('refuses delete --hard without --yes with exit 2 and keeps the tenant', async () => {
      const id = await newTenant();
      const result = await runCli(['delete', id, '--hard']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--yes/);
      expect(await status(id)).toMatchObject({ status: 'ACTIVE' });
      expect(await schemaExists(id)).toBe(true);
    });

    it('runs the lifecycle end to end, auditing the OS user, and shows it as JSON', async () => {
      const id = randomTenantId('cli');
      const create = await runCli(['create', id, '--name', 'Cli', '--admin-email', `a@${id}.test`, '--admin-password-stdin'], `${TEST_PASSWORD}\n`);
      expect(create).toMatchObject({ code: 0 });
      for (const args of [['suspend', id], ['resume', id], ['update', id, '--plan', 'starter'], ['domains', 'add', id, `WWW.${id}.example.com`], ['delete', id], ['restore', id]]) {
        const result = await runCli(args);
        expect({ args, code: result.code, stderr: result.stderr }).toMatchObject({ code: 0 });
      }
      const shown = await runCli(['show', id, '--json']);
      expect(shown.code).toBe(0);
      const overview = JSON.parse(shown.stdout);
      expect(overview.tenant).toMatchObject({ id, status: 'ACTIVE', plan: 'starter', deletedAt: null });
      expect(overview.domains).toEqual([expect.objectContaining({ domain: `www.${id}.example.com` })]);
      expect(overview.migrations).toMatchObject({ appliedCount: expect.any(Number) });
      expect(overview.audit.map((a: AuditRow) => a.action)).toEqual(['restore', 'delete', 'domain-add', 'update', 'resume', 'suspend', 'create']);
      expect(overview.audit[0].actor).toMatch(/^cli:/);

      const text = await runCli(['show', id]);
      expect(text.stdout).toMatch(/status\s+ACTIVE/);

      const hard = await runCli(['delete', id, '--hard', '--yes']);
      expect(hard.code).toBe(0);
      expect(await schemaExists(id)).toBe(false);
      // Ten CLI processes, each booting an application context: minutes on a loaded 2-core machine.
    }, 300_000);

    it.each([
      ['resume of an ACTIVE tenant', (id: string) => ['resume', id], /CONFLICT: .*only a SUSPENDED tenant/],
      ['an unknown tenant', () => ['suspend', randomTenantId('none')], /TENANT_NOT_FOUND/],
      ['a duplicate domain', (id: string) => ['domains', 'add', id, 'taken.example.net'], /CONFLICT/],
    ])('exits 1 with a clear message on %s', async (_what, args, message) => {
      const id = await newTenant();
      await lifecycle.addDomain(await newTenant(), 'taken.example.net', ACTOR).catch(() => undefined);
      const result = await runCli(args(id));
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
    });
  });
});
