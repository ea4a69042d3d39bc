import { Client, Pool } from 'pg';
import { CONTROL_SCHEMA } from '../../src/control-plane/control-plane-migrator';
import type { TenantRecord } from '../../src/control-plane/tenant-record';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { SHARED_POOL } from '../../src/database/database-tokens';
import { OrderDirection, type Sort } from '../../src/graphql/ordering';
import { ProjectsRepository } from '../../src/modules/projects/projects.repository';
import { TasksRepository } from '../../src/modules/tasks/tasks.repository';
import { UsersRepository } from '../../src/modules/users/users.repository';
import { applyMigrationsInTransaction, LEDGER_TABLE, loadMigrations } from '../../src/tenancy/migration-runner';
import { MissingTenantContextError, TenantContext } from '../../src/tenancy/tenant-context';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { startApp, type TestApp } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { codes, gql } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  AuditLogDocument,
  CreateProjectDocument,
  LoginDocument,
  LoginSessionDocument,
  LogoutDocument,
  MeDocument,
  ProjectsDocument,
  RefreshSessionDocument,
} from '../generated/graphql';

// Every connection of this database starts with search_path = decoy, a schema holding the same tables as a
// tenant. A statement that relied on search_path instead of naming the tenant's schema would land there.
const DECOY = 'decoy';
const TENANT_TABLES = ['User', 'Project', 'Task', 'RefreshToken', 'AuditEntry', LEDGER_TABLE];
const NEWEST: Sort = { name: 'CREATED_AT', spec: { column: 'createdAt', kind: 'date' }, direction: OrderDirection.DESC };

interface Statement {
  operation: string;
  sql: string;
}

// Table references in what Prisma and the registry send: `FROM x`, `JOIN x`, `INTO x`, `UPDATE x`.
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const TABLE_REFERENCE = new RegExp(String.raw`\b(?:FROM|JOIN|INTO|UPDATE)\s+(?:ONLY\s+)?(${IDENT}(?:\.${IDENT})?)`, 'gi');
const unquote = (ident: string) => (ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase());

/** The tables `sql` reads or writes, each as [schema | undefined, table]. */
function tablesIn(sql: string): [string | undefined, string][] {
  return [...sql.matchAll(TABLE_REFERENCE)]
    .map((match) => match[1])
    .filter((ref) => !/^(LATERAL|SELECT)$/i.test(ref))
    .map((ref) => {
      const parts: string[] = (ref.match(new RegExp(IDENT, 'g')) ?? [ref]).map(unquote);
      return parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
    });
}

/** Why `sql` could reach another schema than `tenantSchema`; empty when every table it names is qualified correctly. */
function misqualified(sql: string, tenantSchema: string): string[] {
  const problems = tablesIn(sql)
    .filter(([schema, table]) => schema !== (TENANT_TABLES.includes(table) ? tenantSchema : CONTROL_SCHEMA))
    .map(([schema, table]) => `${schema ?? '(search_path)'}.${table}`);
  // A tenant table named anywhere (a column reference, a RETURNING) without its schema in front of it.
  for (const match of sql.matchAll(/(?<!\.)"(User|Project|Task|RefreshToken|AuditEntry)"/g)) problems.push(`unqualified "${match[1]}"`);
  return problems;
}

describe('schema qualification of tenant SQL', () => {
  let db: TestDatabase;
  let api: TestApp;
  let acme: TestTenant;
  let tenant: TenantRecord;
  let users: UsersRepository;
  let projects: ProjectsRepository;
  let tasks: TasksRepository;
  let admin: Pool;

  const captured: Statement[] = [];
  let operation: string | undefined;
  const originalQuery = Client.prototype.query;

  beforeAll(async () => {
    db = await newDatabase();
    admin = new Pool({ connectionString: db.url, max: 1 });
    const client = await admin.connect();
    try {
      await client.query(`CREATE SCHEMA ${DECOY}`);
      await client.query('BEGIN');
      await applyMigrationsInTransaction(client, DECOY, loadMigrations(`${__dirname}/../../prisma/tenant/migrations`));
      await client.query('COMMIT');
      await client.query(`ALTER DATABASE ${quoteIdentifier(db.name)} SET search_path TO ${DECOY}`);
    } finally {
      client.release();
    }

    // No registry cache: every request's tenant lookup is captured and checked too.
    api = await startApp({ TENANT_CACHE_TTL_MS: '0' }, db);
    acme = await newTenant(api);
    tenant = (await api.app.get(TenantRegistryRepository).getById(acme.id))!;
    users = api.app.get(UsersRepository);
    projects = api.app.get(ProjectsRepository);
    tasks = api.app.get(TasksRepository);

    // Records the text of every statement any pg Client of this process sends while an operation is named.
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string } | undefined;
      const sql = typeof config === 'string' ? config : config?.text;
      if (operation !== undefined && sql !== undefined) captured.push({ operation, sql });
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof originalQuery;
  });

  afterAll(async () => {
    Client.prototype.query = originalQuery;
    await api?.close();
    await admin?.end();
    await db?.drop();
  });

  async function record<T>(name: string, run: () => Promise<T>): Promise<T> {
    operation = name;
    try {
      return await run();
    } finally {
      operation = undefined;
    }
  }

  const inTenant = <T>(run: () => Promise<T>) => TenantContext.run({ tenant, requestId: 'schema-qualification' }, run);

  it('flags statements that rely on search_path or name another schema', () => {
    const schema = tenant.schemaName;
    expect(misqualified(`SELECT "${schema}"."User"."id" FROM "${schema}"."User" JOIN tenantry_control.tenants t ON true`, schema)).toEqual([]);
    expect(misqualified('SELECT "User"."id" FROM "User"', schema)).toEqual(['(search_path).User', 'unqualified "User"', 'unqualified "User"']);
    expect(misqualified(`DELETE FROM decoy."Project" WHERE id = $1`, schema)).toEqual(['decoy.Project']);
    expect(misqualified(`INSERT INTO "tenant_other"."Project" (id) VALUES ($1)`, schema)).toEqual(['tenant_other.Project']);
    expect(misqualified('UPDATE tenants SET name = $1', schema)).toEqual(['(search_path).tenants']);
  });

  it('runs on connections whose search_path is the decoy schema', async () => {
    const { rows } = await api.app.get<Pool>(SHARED_POOL).query('SHOW search_path');
    expect(rows[0].search_path).toBe(DECOY);
  });

  it('names the tenant schema in every statement of every repository method, and leaves the decoy empty', async () => {
    await inTenant(async () => {
      expect(await record('UsersRepository.getById', () => users.getById(acme.adminId))).toMatchObject({ email: acme.adminEmail });
      expect(await record('UsersRepository.getByEmailWithHash', () => users.getByEmailWithHash(acme.adminEmail))).toMatchObject({
        id: acme.adminId,
        passwordHash: expect.stringMatching(/^\$argon2id\$/),
      });
      const kept = await record('ProjectsRepository.create', () => projects.create({ name: 'kept', description: 'stays', ownerId: acme.adminId }));
      const doomed = await projects.create({ name: 'doomed', description: null, ownerId: acme.adminId });
      expect(await record('ProjectsRepository.list', () => projects.list({}, NEWEST, 10))).toHaveLength(2);
      expect(await record('ProjectsRepository.list after a cursor', () => projects.list({}, NEWEST, 10, { value: doomed.createdAt, id: doomed.id }))).toEqual([
        expect.objectContaining({ id: kept.id }),
      ]);
      expect(await record('ProjectsRepository.count', () => projects.count({ nameContains: 'e' }))).toBe(2);
      expect(await record('ProjectsRepository.getById', () => projects.getById(kept.id))).toMatchObject({ name: 'kept' });
      expect(await record('ProjectsRepository.listByIds', () => projects.listByIds([kept.id]))).toHaveLength(1);
      const task = await record('TasksRepository.create', () => tasks.create({ projectId: doomed.id, title: 't', assigneeId: acme.adminId, dueDate: new Date('2026-12-01') }));
      expect(await record('TasksRepository.list', () => tasks.list({ projectId: doomed.id }, NEWEST, 10))).toHaveLength(1);
      expect(await record('TasksRepository.count', () => tasks.count({ assigneeId: acme.adminId }))).toBe(1);
      expect(await record('TasksRepository.getById', () => tasks.getById(task.id))).toMatchObject({ title: 't' });
      expect(await record('TasksRepository.listByIds', () => tasks.listByIds([task.id]))).toHaveLength(1);
      expect((await record('TasksRepository.listPerProject', () => tasks.listPerProject([doomed.id, kept.id], 5))).get(doomed.id)).toHaveLength(1);
      expect((await record('TasksRepository.countPerProject', () => tasks.countPerProject([doomed.id]))).get(doomed.id)).toBe(1);
      expect(await record('TasksRepository.update', () => tasks.update(task.id, { title: 'u' }))).toMatchObject({ title: 'u' });
      expect(await record('UsersRepository.listByIds', () => users.listByIds([acme.adminId]))).toHaveLength(1);
      expect(await record('ProjectsRepository.update', () => projects.update(kept.id, { name: 'renamed' }))).toMatchObject({ name: 'renamed' });
      expect(await record('TasksRepository.delete', () => tasks.delete(task.id))).toBe(true);
      expect(await record('ProjectsRepository.delete', () => projects.delete(doomed.id))).toBe(true);
    });

    // The request path too: middleware, registry, login, JWT guard, resolvers.
    const login = await record('login over HTTP', () =>
      gql(api.baseUrl, LoginDocument, { email: acme.adminEmail, password: TEST_PASSWORD }, { header: acme.id }),
    );
    const token = login.body.data!.login.accessToken;
    const me = await record('me over HTTP', () => gql(api.baseUrl, MeDocument, {}, { header: acme.id, token }));
    expect(me.body.data?.me?.id).toBe(acme.adminId);
    const created = await record('createProject over HTTP', () =>
      gql(api.baseUrl, CreateProjectDocument, { input: { name: 'over http' } }, { header: acme.id, token }),
    );
    expect(codes(created.body)).toEqual([]);
    const page = await record('projects over HTTP', () => gql(api.baseUrl, ProjectsDocument, { first: 5 }, { header: acme.id, token }));
    expect(page.body.data?.projects.totalCount).toBe(2);
    const session = (await gql(api.baseUrl, LoginSessionDocument, { email: acme.adminEmail, password: TEST_PASSWORD }, { header: acme.id })).body.data!.login;
    const refreshed = await record('refreshToken over HTTP', () =>
      gql(api.baseUrl, RefreshSessionDocument, { token: session.refreshToken }, { header: acme.id }),
    );
    expect(codes(refreshed.body)).toEqual([]);
    const reused = await record('refreshToken reuse over HTTP', () =>
      gql(api.baseUrl, RefreshSessionDocument, { token: session.refreshToken }, { header: acme.id }),
    );
    expect(codes(reused.body)).toEqual(['UNAUTHENTICATED']);
    const loggedOut = await record('logout over HTTP', () =>
      gql(api.baseUrl, LogoutDocument, { refreshToken: session.refreshToken }, { header: acme.id }),
    );
    expect(loggedOut.body.data?.logout).toBe(true);
    const audit = await record('auditLog over HTTP', () =>
      gql(api.baseUrl, AuditLogDocument, { first: 5, filter: { actor: acme.adminId } }, { header: acme.id, token }),
    );
    expect(audit.body.data?.auditLog.totalCount).toBeGreaterThan(0);

    const operations = [...new Set(captured.map((s) => s.operation))];
    const touching = (name: string) => captured.filter((s) => s.operation === name && tablesIn(s.sql).length > 0);
    expect(operations.filter((name) => touching(name).length === 0)).toEqual([]);

    // Every table is schema-qualified, and a tenant table only ever with this tenant's schema.
    const offenders = captured
      .map((s) => ({ ...s, problems: misqualified(s.sql, tenant.schemaName) }))
      .filter((s) => s.problems.length > 0);
    expect(offenders).toEqual([]);
    expect(captured.filter((s) => s.sql.includes(`"${tenant.schemaName}"."Project"`)).length).toBeGreaterThan(0);

    const count = async (schema: string, table: string) =>
      (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`)).rows[0].n;
    expect({ users: await count(DECOY, 'User'), projects: await count(DECOY, 'Project') }).toEqual({ users: 0, projects: 0 });
    expect({ users: await count(tenant.schemaName, 'User'), projects: await count(tenant.schemaName, 'Project') }).toEqual({ users: 1, projects: 2 });
    const { rows } = await admin.query(`SELECT name FROM ${quoteIdentifier(tenant.schemaName)}."Project" ORDER BY name`);
    expect(rows.map((r) => r.name)).toEqual(['over http', 'renamed']);
  });

  it('refuses every repository method outside a tenant context, without sending any SQL', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const calls: [string, () => Promise<unknown>][] = [
      ['UsersRepository.getById', () => users.getById(id)],
      ['UsersRepository.getByEmailWithHash', () => users.getByEmailWithHash(acme.adminEmail)],
      ['ProjectsRepository.list', () => projects.list({}, NEWEST, 10)],
      ['ProjectsRepository.list after a cursor', () => projects.list({}, NEWEST, 10, { value: new Date(), id })],
      ['ProjectsRepository.count', () => projects.count({})],
      ['ProjectsRepository.listByIds', () => projects.listByIds([id])],
      ['TasksRepository.list', () => tasks.list({}, NEWEST, 10)],
      ['TasksRepository.count', () => tasks.count({})],
      ['TasksRepository.getById', () => tasks.getById(id)],
      ['TasksRepository.listByIds', () => tasks.listByIds([id])],
      ['TasksRepository.listPerProject', () => tasks.listPerProject([id], 5)],
      ['TasksRepository.countPerProject', () => tasks.countPerProject([id])],
      ['TasksRepository.create', () => tasks.create({ projectId: id, title: 'nowhere' })],
      ['TasksRepository.update', () => tasks.update(id, { title: 'nowhere' })],
      ['TasksRepository.delete', () => tasks.delete(id)],
      ['UsersRepository.listByIds', () => users.listByIds([id])],
      ['ProjectsRepository.getById', () => projects.getById(id)],
      ['ProjectsRepository.create', () => projects.create({ name: 'nowhere', description: null, ownerId: acme.adminId })],
      ['ProjectsRepository.update', () => projects.update(id, { name: 'nowhere' })],
      ['ProjectsRepository.delete', () => projects.delete(id)],
    ];
    const before = captured.length;
    for (const [name, call] of calls) {
      // A thrown error or a rejected promise both count; falling back to any schema does not.
      await expect(record(`${name} without a tenant`, async () => call())).rejects.toBeInstanceOf(MissingTenantContextError);
    }
    expect(captured.slice(before)).toEqual([]);
  });
});
