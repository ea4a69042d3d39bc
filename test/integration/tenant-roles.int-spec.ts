import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { TenantLifecycleService } from '../../src/control-plane/tenant-lifecycle.service';
import { CONTROL_SCHEMA } from '../../src/control-plane/control-plane-migrator';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { controlPlaneRoleName } from '../../src/database/database-roles';
import { CONTROL_PLANE_POOL, TENANT_POOL } from '../../src/database/database-tokens';
import { LEDGER_TABLE } from '../../src/tenancy/migration-runner';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import { TenantConnectionLimiter } from '../../src/tenancy/tenant-connection-limiter';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { TenantRoles } from '../../src/tenancy/tenant-roles.service';
import { TenantScopedPool } from '../../src/tenancy/tenant-scoped-pool';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument, ProjectsDocument } from '../generated/graphql';

const INSUFFICIENT_PRIVILEGE = '42501';
const POOL_MAX = 4;
const PER_TENANT = 2;

/** The SQLSTATE of a pg error, or of the driver error under a Prisma error. */
function sqlState(error: unknown): string | undefined {
  const e = error as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return e.meta?.driverAdapterError?.cause?.originalCode ?? e.code;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('database-enforced tenant isolation (a PostgreSQL role per tenant)', () => {
  let api: TestApp;
  let admin: Pool;
  let roles: TenantRoles;
  let runtimePool: Pool;
  let tenants: TestTenant[];

  const roleOf = (tenant: TestTenant) => roles.roleOf(tenant.id);
  const table = (tenant: TestTenant, name: string) => `${quoteIdentifier(tenant.schemaName)}.${quoteIdentifier(name)}`;

  beforeAll(async () => {
    api = await startApp({ PG_POOL_MAX: String(POOL_MAX), TENANT_MAX_CONNECTIONS: String(PER_TENANT) });
    admin = new Pool({ connectionString: api.db.url, max: 3 });
    roles = api.app.get(TenantRoles);
    runtimePool = api.app.get<Pool>(TENANT_POOL);
    tenants = [];
    for (let i = 0; i < 3; i++) tenants.push(await newTenant(api));
  });

  afterAll(async () => {
    await admin?.end();
    await api?.close();
  });

  it('serves requests over a runtime role that is no superuser and cannot read tenant tables without SET ROLE', async () => {
    const { rows } = await runtimePool.query<{ user: string; rolsuper: boolean; rolinherit: boolean }>(
      `SELECT current_user AS user, r.rolsuper, r.rolinherit FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({ user: roles.runtimeRole, rolsuper: false, rolinherit: false });
    const [a] = tenants;
    expect(sqlState(await failure(runtimePool.query(`SELECT count(*) FROM ${table(a, 'Project')}`)))).toBe(INSUFFICIENT_PRIVILEGE);
    // Its own membership in A's role is a SET ROLE away, not inherited.
    const { rows: membership } = await admin.query(`SELECT pg_has_role($1, $2, 'USAGE') AS usage, pg_has_role($1, $2, 'SET') AS set`, [
      roles.runtimeRole,
      roleOf(a),
    ]);
    expect(membership[0]).toEqual({ usage: false, set: true });
  });

  it('runs the control plane as its own role: no superuser, no tenant table, no DDL, not even its migration ledger', async () => {
    const controlPlane = api.app.get<Pool>(CONTROL_PLANE_POOL);
    const role = controlPlaneRoleName(roles.prefix);
    const { rows } = await controlPlane.query(
      `SELECT current_user AS user, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls, current_setting('search_path') AS path
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({ user: role, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, path: `pg_catalog, ${CONTROL_SCHEMA}` });
    const [a] = tenants;
    // The registry answers through it…
    expect(await api.app.get(TenantRegistryRepository).getById(a.id)).toMatchObject({ id: a.id, status: 'ACTIVE' });
    // …and nothing else does.
    for (const sql of [
      `SELECT count(*) FROM ${table(a, 'User')}`,
      `SET ROLE ${quoteIdentifier(roleOf(a))}`,
      `CREATE TABLE ${CONTROL_SCHEMA}.intruder (id int)`,
      `CREATE TABLE public.intruder (id int)`,
      `SELECT count(*) FROM ${CONTROL_SCHEMA}.${quoteIdentifier(LEDGER_TABLE)}`,
    ]) {
      expect({ sql, code: sqlState(await failure(controlPlane.query(sql))) }).toEqual({ sql, code: INSUFFICIENT_PRIVILEGE });
    }
    const { rows: reach } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables t
        WHERE t.schemaname = ANY($2::text[])
          AND has_table_privilege($1, format('%I.%I', t.schemaname, t.tablename), 'SELECT, INSERT, UPDATE, DELETE')`,
      [role, tenants.map((t) => t.schemaName)],
    );
    expect(reach[0].n).toBe(0);
  });

  it('grants each tenant role its own tables only: no role reads another tenant\'s table, nor the migration ledgers', async () => {
    const { rows } = await admin.query<{ role: string; schema: string; table: string; select: boolean; insert: boolean }>(
      `SELECT r.role, t.schemaname AS schema, t.tablename AS table,
              has_table_privilege(r.role, format('%I.%I', t.schemaname, t.tablename), 'SELECT') AS select,
              has_table_privilege(r.role, format('%I.%I', t.schemaname, t.tablename), 'INSERT') AS insert
         FROM unnest($1::text[]) AS r(role) CROSS JOIN pg_tables t
        WHERE t.schemaname = ANY($2::text[])`,
      [tenants.map(roleOf), tenants.map((t) => t.schemaName)],
    );
    const ownerOf = new Map(tenants.map((t) => [t.schemaName, roleOf(t)]));
    const perSchema = rows.filter((row) => row.schema === tenants[0].schemaName && row.role === roleOf(tenants[0])).length;
    expect(perSchema).toBeGreaterThanOrEqual(3); // User, Project and the ledger at least
    expect(rows.length).toBe(tenants.length * tenants.length * perSchema);
    for (const row of rows) {
      const expected = ownerOf.get(row.schema) === row.role && row.table !== '_tenantry_migrations';
      expect({ ...row, select: row.select, insert: row.insert }).toEqual({ ...row, select: expected, insert: expected });
    }
    const { rows: schemas } = await admin.query<{ role: string; schema: string; usage: boolean }>(
      `SELECT r.role, s.schema, has_schema_privilege(r.role, s.schema, 'USAGE') AS usage
         FROM unnest($1::text[]) AS r(role) CROSS JOIN unnest($2::text[]) AS s(schema)`,
      [tenants.map(roleOf), tenants.map((t) => t.schemaName)],
    );
    for (const row of schemas) expect(row).toEqual({ ...row, usage: ownerOf.get(row.schema) === row.role });
  });

  it("refuses tenant A's role a Prisma query against B's schema with a permission error", async () => {
    const [a, b] = tenants;
    const scoped = new TenantScopedPool(
      runtimePool,
      { tenantId: a.id, role: roleOf(a), schema: b.schemaName, statementTimeoutMs: () => undefined },
      new TenantConnectionLimiter({ maxPerTenant: 1, maxPerHeavyTenant: 1 }),
    );
    const client = new PrismaClient({ adapter: new PrismaPg(scoped, { schema: b.schemaName, disposeExternalPool: false }) });
    try {
      expect(sqlState(await failure(client.project.findMany()))).toBe(INSUFFICIENT_PRIVILEGE);
      expect(sqlState(await failure(client.user.count()))).toBe(INSUFFICIENT_PRIVILEGE);
      // A Prisma transaction opens with the same SET LOCAL ROLE.
      expect(sqlState(await failure(client.$transaction([client.user.count()])))).toBe(INSUFFICIENT_PRIVILEGE);
    } finally {
      await client.$disconnect();
    }
  });

  it("refuses raw SQL naming B's schema on A's tenant client, while A's own tables answer", async () => {
    const [a, b] = tenants;
    const client = api.app.get(TenantConnectionService).forSchema(a.schemaName);
    const error = await failure(client.$queryRawUnsafe(`SELECT count(*) FROM ${table(b, 'User')}`));
    expect(sqlState(error)).toBe(INSUFFICIENT_PRIVILEGE);
    // Unqualified raw SQL lands in A's schema: the transaction's search_path is A's schema alone.
    const own = await client.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "User"`);
    expect(own).toEqual([{ n: 1 }]);
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${table(b, 'User')}`);
    expect(rows[0].n).toBe(1);
  });

  it('covers tables that later migrations create, through default privileges and re-grants after a fleet migration', async () => {
    const [a, b] = tenants;
    // Created by the owner outside any migration: default privileges alone must cover it.
    await admin.query(`CREATE TABLE ${table(a, 'AddedLater')} (id serial PRIMARY KEY, note text)`);
    const { rows: added } = await admin.query(
      `SELECT has_table_privilege($1, $3, 'INSERT') AS own, has_table_privilege($2, $3, 'SELECT') AS other,
              has_sequence_privilege($1, $4, 'USAGE') AS own_sequence, has_sequence_privilege($2, $4, 'USAGE') AS other_sequence`,
      [roleOf(a), roleOf(b), table(a, 'AddedLater'), `${quoteIdentifier(a.schemaName)}."AddedLater_id_seq"`],
    );
    expect(added[0]).toEqual({ own: true, other: false, own_sequence: true, other_sequence: false });
    const inserted = await api.app.get(TenantConnectionService).forSchema(a.schemaName)
      .$queryRawUnsafe<{ id: number }[]>(`INSERT INTO "AddedLater" (note) VALUES ('mine') RETURNING id`);
    expect(inserted).toEqual([{ id: 1 }]);

    // A fleet migration adding a table: every tenant's role gets it in its own schema only.
    const dir = mkdtempSync(join(tmpdir(), 'tenantry-roles-migrations-'));
    try {
      cpSync(join(__dirname, '..', '..', 'prisma', 'tenant', 'migrations'), dir, { recursive: true });
      mkdirSync(join(dir, '29991231000000_roles_test'));
      writeFileSync(join(dir, '29991231000000_roles_test', 'migration.sql'), 'CREATE TABLE "RoleNote" ("id" BIGSERIAL PRIMARY KEY, "body" TEXT);\n');
      const report = await api.app.get(FleetMigrator).migrate({ migrationsDir: dir });
      expect(report.totals.failed).toBe(0);
      const { rows } = await admin.query<{ role: string; schema: string; insert: boolean }>(
        `SELECT r.role, s.schema, has_table_privilege(r.role, format('%I."RoleNote"', s.schema), 'INSERT') AS insert
           FROM unnest($1::text[]) AS r(role) CROSS JOIN unnest($2::text[]) AS s(schema)`,
        [tenants.map(roleOf), tenants.map((t) => t.schemaName)],
      );
      const ownerOf = new Map(tenants.map((t) => [t.schemaName, roleOf(t)]));
      for (const row of rows) expect(row).toEqual({ ...row, insert: ownerOf.get(row.schema) === row.role });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("cancels a statement that runs past the plan's timeout and answers QUERY_TIMEOUT", async () => {
    const slow = await newTenant(api, { plan: 'free' });
    const schema = quoteIdentifier(slow.schemaName);
    // Every insert into the tenant's projects sleeps longer than the free plan's 2 s.
    await admin.query(`CREATE FUNCTION ${schema}.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NEW; END $$`);
    await admin.query(`CREATE TRIGGER slow BEFORE INSERT ON ${schema}."Project" FOR EACH ROW EXECUTE FUNCTION ${schema}.slow()`);
    const res = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'never' } }, { header: slow.id, token: slow.token });
    expect(codes(res.body)).toEqual(['QUERY_TIMEOUT']);
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}."Project"`);
    expect(rows[0].n).toBe(0);
    // Nothing of it lingers on the server.
    const { rows: running } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%"Project"%' AND state = 'active' AND pid <> pg_backend_pid()`, [slow.schemaName]);
    expect(running[0].n).toBe(0);
  });

  it('leaves no role, search_path or timeout on pooled connections after requests', async () => {
    for (const tenant of tenants) {
      const res = await gql(api.baseUrl, ProjectsDocument, { first: 5 }, { header: tenant.id, token: tenant.token });
      expect(codes(res.body)).toEqual([]);
    }
    // Every connection of the pool at once, so each one the requests used is inspected.
    const held = await Promise.all(Array.from({ length: POOL_MAX }, () => runtimePool.connect()));
    try {
      const { rows: defaults } = await admin.query(`SELECT current_setting('search_path') AS path`);
      for (const client of held) {
        const { rows } = await client.query(
          `SELECT current_user AS user, session_user AS session, current_setting('role') AS role,
                  current_setting('search_path') AS path, current_setting('statement_timeout') AS timeout`,
        );
        expect(rows[0]).toEqual({ user: roles.runtimeRole, session: roles.runtimeRole, role: 'none', path: defaults[0].path, timeout: '0' });
      }
    } finally {
      for (const client of held) client.release();
    }
  });

  it("caps the connections one tenant holds, so another tenant's query still gets one", async () => {
    const [a, b] = tenants;
    const connections = api.app.get(TenantConnectionService);
    const lock = await admin.connect();
    try {
      await lock.query('SELECT pg_advisory_lock(4242)');
      // More blocked statements of A than the pool has connections.
      // Prisma queries are lazy: Promise.resolve sends each one now.
      const blocked = Array.from({ length: POOL_MAX }, () =>
        Promise.resolve(connections.forSchema(a.schemaName).$queryRawUnsafe('SELECT pg_advisory_lock_shared(4242)::text AS locked')),
      );
      const waiting = await eventually(
        async () => (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_lock_shared(4242)%'`)).rows[0].n as number,
        (n) => n >= PER_TENANT,
      );
      expect(waiting).toBe(PER_TENANT);
      expect(await connections.forSchema(b.schemaName).user.count()).toBe(1);
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_lock_shared(4242)%'`);
      expect(rows[0].n).toBe(PER_TENANT);
      await lock.query('SELECT pg_advisory_unlock(4242)');
      await Promise.all(blocked);
    } finally {
      await lock.query('SELECT pg_advisory_unlock_all()');
      lock.release();
    }
  });

  it('gives a tenant without a role (one that predates roles) its role at the next ensure, and drops it on hard delete', async () => {
    const tenant = await newTenant(api);
    await roles.dropTenantRole(admin, tenant.id);
    const exists = async () => (await admin.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [roleOf(tenant)])).rowCount === 1;
    expect(await exists()).toBe(false);
    expect(await roles.ensureAll()).toEqual([tenant.id]);
    expect(await exists()).toBe(true);
    expect(await roles.ensureAll()).toEqual([]);
    const res = await gql(api.baseUrl, ProjectsDocument, { first: 5 }, { header: tenant.id, token: tenant.token });
    expect(codes(res.body)).toEqual([]);

    await api.app.get(TenantLifecycleService).hardDelete(tenant.id, 'test:roles');
    expect(await exists()).toBe(false);
  });
});
