import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { verifyPassword } from '../../src/auth/password.util';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { ADMIN_APPLICATION_NAME } from '../../src/database/database-tokens';
import { AppError, ErrorCode } from '../../src/graphql/app-error';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { PROVISIONING_LOCK_APPLICATION_NAME } from '../../src/tenancy/tenant-provisioning-lock';
import {
  PROVISIONING_FAULTS,
  TenantProvisioner,
  type ProvisioningFaults,
  type ProvisioningStep,
} from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, runTenantsCli, spawnTenantsCli, waitFor, type CliResult } from '../support/tenants-cli';

const STEPS: ProvisioningStep[] = ['register', 'schema', 'migrations', 'admin', 'activate'];
const ROOT = join(__dirname, '..', '..');
const TENANT_MIGRATIONS = readdirSync(join(ROOT, 'prisma', 'tenant', 'migrations'), { withFileTypes: true }).filter((e) => e.isDirectory()).length;

class InjectedFailure extends Error {}

/** The operations context the CLI uses, with the provisioner's fault seam wired to `faults`. */
async function operationsWithFaults(config: AppConfig, faults: ProvisioningFaults): Promise<INestApplicationContext> {
  // A global module is visible to TenancyModule, whose provisioner injects the seam as @Optional().
  const faultsModule = { module: class ProvisioningFaultsModule {}, global: true, providers: [{ provide: PROVISIONING_FAULTS, useValue: faults }], exports: [PROVISIONING_FAULTS] };
  return NestFactory.createApplicationContext(
    { module: class ProvisioningTestModule {}, imports: [AppModule.forOperations(config), faultsModule] },
    { logger: ['fatal'] },
  );
}


describe('tenant provisioning', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let provisioner: TenantProvisioner;
  let registry: TenantRegistryRepository;
  let observer: Client;
  // Which create to break, and after which step; every step the seam saw, per tenant.
  let failure: { id: string; step: ProvisioningStep } | undefined;
  // Runs at a step of one tenant's create, before the step's injected failure.
  let atStep: { id: string; step: ProvisioningStep; run: () => Promise<void> } | undefined;
  const seen = new Map<string, ProvisioningStep[]>();

  const spawnCli = (args: string[], stdin?: string) => spawnTenantsCli(db.url, args, stdin);
  const runCli = (args: string[], stdin?: string) => runTenantsCli(db.url, args, stdin);

  async function schemaExists(id: string): Promise<boolean> {
    const { rows } = await observer.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenantSchemaName(id)]);
    return rows.length > 0;
  }

  async function registryRow(id: string): Promise<{ status: string } | undefined> {
    const { rows } = await observer.query<{ status: string }>('SELECT status FROM tenantry_control.tenants WHERE id = $1', [id]);
    return rows[0];
  }

  async function summaryRow(id: string): Promise<unknown> {
    const { rows } = await observer.query('SELECT * FROM tenantry_control.tenant_migration_summary WHERE tenant_id = $1', [id]);
    return rows[0];
  }


  /** A usable tenant: ACTIVE, fully migrated, its admin can log in, and its schema takes writes. */
  async function expectUsable(id: string, adminEmail: string): Promise<void> {
    expect(await registryRow(id)).toEqual({ status: 'ACTIVE' });
    expect(await schemaExists(id)).toBe(true);
    expect(await summaryRow(id)).toMatchObject({ applied_count: TENANT_MIGRATIONS });
    const client = app.get(TenantConnectionService).forSchema(tenantSchemaName(id));
    const users = await client.user.findMany();
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ email: adminEmail.toLowerCase(), role: 'ADMIN' });
    expect(await verifyPassword(users[0].passwordHash, TEST_PASSWORD)).toBe(true);
    await client.project.create({ data: { name: 'first', ownerId: users[0].id } });
    expect(await client.project.count()).toBe(1);
  }

  const newTenantInput = (id: string) => ({ id, name: `Tenant ${id}`, adminEmail: `Admin@${id}.test`, adminPassword: TEST_PASSWORD });

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' });
    app = await operationsWithFaults(config, async (step, tenantId) => {
      seen.set(tenantId, [...(seen.get(tenantId) ?? []), step]);
      if (atStep?.id === tenantId && atStep.step === step) await atStep.run();
      if (failure?.id === tenantId && failure.step === step) throw new InjectedFailure(`injected failure after ${step}`);
    });
    provisioner = app.get(TenantProvisioner);
    registry = app.get(TenantRegistryRepository);
    observer = new Client({ connectionString: db.url, application_name: 'tenantry-test-observer' });
    await observer.connect();
  });

  afterAll(async () => {
    await observer?.end();
    await app?.close();
    await db?.drop();
  });

  it.each(STEPS)('leaves no schema and no registry row when provisioning fails after "%s", and the id can then be created', async (step) => {
    const id = randomTenantId('fail');
    failure = { id, step };
    await expect(provisioner.create(newTenantInput(id))).rejects.toBeInstanceOf(InjectedFailure);
    failure = undefined;
    // The seam really ran up to the failing step, so the failure happened where this test says.
    expect(seen.get(id)).toEqual(STEPS.slice(0, STEPS.indexOf(step) + 1));

    expect(await schemaExists(id)).toBe(false);
    expect(await registryRow(id)).toBeUndefined();
    expect(await summaryRow(id)).toBeUndefined();

    const tenant = await provisioner.create(newTenantInput(id));
    expect(tenant).toMatchObject({ id, status: 'ACTIVE', schemaName: tenantSchemaName(id), database: 'primary' });
    await expectUsable(id, `admin@${id}.test`);
  });

  it("commits nothing when the create's provisioning lock went with its connection, and the id can then be created", async () => {
    const id = randomTenantId('lost');
    atStep = {
      id,
      step: 'activate',
      run: async () => {
        const { rowCount } = await observer.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
          [PROVISIONING_LOCK_APPLICATION_NAME],
        );
        expect(rowCount).toBe(1);
      },
    };
    await expect(provisioner.create(newTenantInput(id))).rejects.toThrow(/Lost the provisioning lock/);
    atStep = undefined;
    expect(await schemaExists(id)).toBe(false);
    expect(await registryRow(id)).toBeUndefined();

    await provisioner.create(newTenantInput(id));
    await expectUsable(id, `admin@${id}.test`);
  });

  it('refuses to create an id that is already ACTIVE with CONFLICT, leaving the tenant as it was', async () => {
    const id = randomTenantId('dup');
    await provisioner.create(newTenantInput(id));
    const again = provisioner.create({ ...newTenantInput(id), name: 'Impostor', adminEmail: 'other@x.test' });
    await expect(again).rejects.toBeInstanceOf(AppError);
    await expect(again).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
    expect(await registry.getById(id)).toMatchObject({ name: `Tenant ${id}`, status: 'ACTIVE' });
    await expectUsable(id, `admin@${id}.test`);
  });

  it('provisions more tenants at once than PG_POOL_MAX without exhausting the pool', async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', PG_POOL_MAX: '2' });
    const small = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    try {
      const ids = Array.from({ length: 6 }, () => randomTenantId('many'));
      const created = await Promise.all(ids.map((id) => small.get(TenantProvisioner).create(newTenantInput(id))));
      expect(created.map((t) => t.status)).toEqual(ids.map(() => 'ACTIVE'));
    } finally {
      await small.close();
    }
  });

  it('cleanupLeftovers removes a PROVISIONING tenant whose creator is gone, schema included', async () => {
    const id = randomTenantId('left');
    await registry.create({ id, name: 'Leftover', plan: 'free', schemaName: tenantSchemaName(id) });
    await observer.query(`CREATE SCHEMA ${tenantSchemaName(id)}`);

    expect(await provisioner.cleanupLeftovers()).toContain(id);
    expect(await registryRow(id)).toBeUndefined();
    expect(await schemaExists(id)).toBe(false);
  });

  it('cleanupLeftovers skips a PROVISIONING tenant whose creator still holds its lock, and create refuses it', async () => {
    const id = randomTenantId('busy');
    await registry.create({ id, name: 'Busy', plan: 'free', schemaName: tenantSchemaName(id) });
    const creator = new Client({ connectionString: db.url, application_name: 'tenantry-test-creator' });
    await creator.connect();
    try {
      // The same session lock a live TenantProvisioner.create holds.
      await creator.query(`SELECT pg_advisory_lock(hashtext('tenantry:tenant'), hashtext($1))`, [id]);
      expect(await provisioner.cleanupLeftovers()).not.toContain(id);
      expect(await registryRow(id)).toEqual({ status: 'PROVISIONING' });
      await expect(provisioner.create(newTenantInput(id))).rejects.toMatchObject({ code: ErrorCode.CONFLICT });
    } finally {
      await creator.end();
    }
    expect(await provisioner.cleanupLeftovers()).toContain(id);
    expect(await registryRow(id)).toBeUndefined();
  });

  it('a create SIGKILLed inside its provisioning transaction leaves no schema and no ACTIVE row; the next create succeeds', async () => {
    const id = randomTenantId('kill');
    // Nothing else PROVISIONING: the CLI's boot-time cleanup must not be what blocks on the lock below.
    await provisioner.cleanupLeftovers();
    expect(await registry.listByStatus('PROVISIONING')).toEqual([]);

    const locker = new Client({ connectionString: db.url, application_name: 'tenantry-test-locker' });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE tenantry_control.tenant_migration_summary IN ACCESS EXCLUSIVE MODE');
    let lockHeld = true;
    const cli = spawnCli(['create', id, '--name', 'Killed', '--admin-email', 'a@b.test', '--admin-password-stdin'], `${TEST_PASSWORD}\n`);
    try {
      let exited: CliResult | undefined;
      void cli.done.then((result) => (exited = result));
      const blocked = await waitFor('the create to block on the summary table', async () => {
        if (exited) throw new Error(`The CLI exited before blocking: ${JSON.stringify(exited)}`);
        const { rows } = await observer.query<{ pid: number; query: string }>(
          `SELECT pid, query FROM pg_stat_activity
            WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'`,
          [db.name, ADMIN_APPLICATION_NAME],
        );
        return rows[0];
      });
      // Blocked after CREATE SCHEMA, the migrations and the admin insert: recording the summary comes next.
      expect(blocked.query).toMatch(/INSERT INTO tenantry_control\.tenant_migration_summary/);
      expect(await registryRow(id)).toEqual({ status: 'PROVISIONING' });
      // The tenant's session lock is held on the dedicated direct connection, not on the pooled one (a pooler would
      // leave it on whichever server connection ran it).
      const { rows: holders } = await observer.query<{ application_name: string }>(
        `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1`,
        [db.name],
      );
      expect(holders.map((h) => h.application_name)).toEqual([PROVISIONING_LOCK_APPLICATION_NAME]);
      // The uncommitted schema is invisible to everyone else.
      expect(await schemaExists(id)).toBe(false);

      cli.child.kill('SIGKILL');
      const result = await cli.done;
      expect(result.signal).toBe('SIGKILL');

      await locker.query('ROLLBACK');
      lockHeld = false;
      // Its provisioning connection and the direct one holding its tenant lock.
      await waitFor('the killed creator backends to end', async () => {
        const { rows } = await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1 OR (datname = $2 AND application_name = $3)', [
          blocked.pid,
          db.name,
          PROVISIONING_LOCK_APPLICATION_NAME,
        ]);
        return rows.length === 0 ? true : undefined;
      });
    } finally {
      cli.child.kill('SIGKILL');
      if (lockHeld) await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }

    expect(await schemaExists(id)).toBe(false);
    expect(['absent', 'PROVISIONING']).toContain((await registryRow(id))?.status ?? 'absent');
    expect(await summaryRow(id)).toBeUndefined();

    const again = await runCli(['create', id, '--name', 'Revived', '--admin-email', 'a@b.test', '--admin-password-stdin'], `${TEST_PASSWORD}\n`);
    expect(again).toMatchObject({ code: 0, signal: null });
    expect(again.stderr).toContain(`Created tenant ${id}`);
    expect(await registry.getById(id)).toMatchObject({ name: 'Revived', status: 'ACTIVE' });
    await expectUsable(id, 'a@b.test');
  });

  describe('tenants CLI', () => {
    it('exits 1 with BAD_USER_INPUT on stderr for an invalid tenant id, creating nothing', async () => {
      const result = await runCli(['create', 'Not_A_Valid_Id', '--name', 'X', '--admin-email', 'a@b.test', '--admin-password-stdin'], `${TEST_PASSWORD}\n`);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('BAD_USER_INPUT');
      expect(result.stderr).toMatch(/^\s+id: /m);
      expect(result.stdout).toBe('');
      expect(await registryRow('Not_A_Valid_Id')).toBeUndefined();
    });

    it.each([
      ['an unknown command', ['frobnicate']],
      ['no command', []],
      ['create without an id', ['create', '--name', 'X', '--admin-email', 'a@b.test', '--admin-password', TEST_PASSWORD]],
      ['an unknown option', ['list', '--yaml']],
      ['both password options', ['create', 'x1', '--name', 'X', '--admin-email', 'a@b.test', '--admin-password', TEST_PASSWORD, '--admin-password-stdin']],
    ])('exits 2 with the usage on stderr for %s', async (_what, args) => {
      const result = await runCli(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Usage: npm run tenants');
      expect(result.stdout).toBe('');
    });

    it('list --json prints parseable JSON on stdout that contains the tenant', async () => {
      const id = randomTenantId('list');
      await provisioner.create(newTenantInput(id));
      const result = await runCli(['list', '--json']);
      expect(result.code).toBe(0);
      const parsed = JSON.parse(result.stdout) as { tenants: { id: string; status: string; schemaName: string }[] };
      expect(parsed.tenants).toContainEqual(expect.objectContaining({ id, status: 'ACTIVE', schemaName: tenantSchemaName(id) }));
    });
  });
});
