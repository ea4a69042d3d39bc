import { Client } from 'pg';
import { startApp, type TestApp } from '../factories/app';
import { adminGql, TEST_ADMIN_TOKEN } from '../factories/admin';
import { codes, fieldPaths, gql, post, type Via } from '../factories/http';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { LoginDocument, ProjectsDocument } from '../generated/graphql';

const TENANT_FIELDS = 'id name status plan schemaName domains deletedAt';
const CREATE = `mutation Create($input: CreateTenantInput!) { createTenant(input: $input) { ${TENANT_FIELDS} } }`;

interface AuditRow {
  action: string;
  actor: string;
  result: string;
  details: Record<string, any>;
}

describe('admin API (/admin/graphql)', () => {
  let api: TestApp;
  let observer: Client;

  async function createTenant(id = randomTenantId('adm'), extra: Record<string, unknown> = {}) {
    const input = { id, name: `Tenant ${id}`, adminEmail: `boss@${id}.test`, adminPassword: TEST_PASSWORD, ...extra };
    return adminGql(api, CREATE, { input });
  }

  /** `ok` when the tenant's admin can log in and list projects over /graphql, else the first error code. */
  async function tenantOutcome(id: string, via: Via = { header: id }): Promise<string> {
    const login = await gql(api.baseUrl, LoginDocument, { email: `boss@${id}.test`, password: TEST_PASSWORD }, via);
    if (!login.body.data) return codes(login.body)[0] ?? `HTTP ${login.status}`;
    const res = await gql(api.baseUrl, ProjectsDocument, { first: 5 }, { ...via, token: login.body.data.login.accessToken });
    return res.body.data ? 'ok' : (codes(res.body)[0] ?? `HTTP ${res.status}`);
  }

  async function registryRow(id: string) {
    const { rows } = await observer.query('SELECT id, name, status, plan FROM tenantry_control.tenants WHERE id = $1', [id]);
    return rows[0];
  }

  async function schemaExists(id: string): Promise<boolean> {
    const { rows } = await observer.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [`tenant_${id.replace(/-/g, '_')}`]);
    return rows.length > 0;
  }

  async function audit(id: string): Promise<AuditRow[]> {
    const { rows } = await observer.query<AuditRow>(
      'SELECT action, actor, result, details FROM tenantry_control.tenant_audit WHERE tenant_id = $1 ORDER BY id',
      [id],
    );
    return rows;
  }

  beforeAll(async () => {
    // No registry cache: every request sees the registry as it is, so no test waits for a NOTIFY.
    api = await startApp({ PLATFORM_ADMIN_TOKEN: TEST_ADMIN_TOKEN, TENANT_CACHE_TTL_MS: '0', BASE_DOMAIN: 'localhost' });
    observer = new Client({ connectionString: api.db.url });
    await observer.connect();
  });

  afterAll(async () => {
    await observer?.end();
    await api?.close();
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', null],
      ['a wrong token', 'not-the-platform-admin-token'],
      ['the right token with one character changed', TEST_ADMIN_TOKEN.slice(0, -1) + 'X'],
      ['an empty bearer', ''],
    ])('answers 401 UNAUTHENTICATED to %s, and runs nothing', async (_what, token) => {
      const id = randomTenantId('noauth');
      const input = { id, name: 'x', adminEmail: `a@${id}.test`, adminPassword: TEST_PASSWORD };
      const res = await adminGql(api, CREATE, { input }, { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
      expect(await registryRow(id)).toBeUndefined();
      expect(JSON.stringify(res.body)).not.toContain(TEST_ADMIN_TOKEN);
    });

    it('serves no introspection without the token', async () => {
      const schema = await adminGql(api, '{ __schema { queryType { name } } }', {}, { token: null });
      expect(schema.status).toBe(401);
      expect(schema.body.data).toBeUndefined();
    });

    it('accepts the token whatever the Host and without x-tenant-id: no tenant middleware runs here', async () => {
      const res = await adminGql(api, '{ tenants(first: 1) { totalCount } }', {}, { headers: { host: `nosuch-tenant.localhost:${api.port}` } });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.tenants.totalCount).toEqual(expect.any(Number));
    });

    it('keeps the admin operations out of the tenant API', async () => {
      const id = randomTenantId('adm');
      await createTenant(id);
      const login = await gql(api.baseUrl, LoginDocument, { email: `boss@${id}.test`, password: TEST_PASSWORD }, { header: id });
      const res = await post(api.baseUrl, '/graphql', JSON.stringify({ query: '{ tenants { totalCount } }' }), {
        host: `localhost:${api.port}`,
        'x-tenant-id': id,
        authorization: `Bearer ${login.body.data!.login.accessToken}`,
      });
      expect(JSON.parse(res.body).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('serves no introspection in production, even with the token, and refuses batched bodies', async () => {
      const production = await startApp({ NODE_ENV: 'production', PLATFORM_ADMIN_TOKEN: TEST_ADMIN_TOKEN }, api.db);
      try {
        const schema = await adminGql(production, '{ __schema { queryType { name } } }');
        expect(codes(schema.body)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
        const batched = await post(production.baseUrl, '/admin/graphql', JSON.stringify([{ query: '{ tenants { totalCount } }' }]), {
          host: `localhost:${production.port}`,
          authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        });
        expect(batched.status).toBe(400);
        const works = await adminGql(production, '{ tenants(first: 1) { totalCount } }');
        expect(works.body.errors).toBeUndefined();
      } finally {
        await production.close();
      }
    });

    it('does not exist when PLATFORM_ADMIN_TOKEN is unset', async () => {
      const disabled = await startApp({}, api.db);
      try {
        const res = await post(disabled.baseUrl, '/admin/graphql', JSON.stringify({ query: '{ tenants { totalCount } }' }), {
          host: `localhost:${disabled.port}`,
          authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        });
        expect(res.status).toBe(404);
      } finally {
        await disabled.close();
      }
    });
  });

  describe('operations', () => {
    it('creates a tenant whose admin can log in over /graphql, and reads it back', async () => {
      const id = randomTenantId('adm');
      const created = await createTenant(id, { plan: 'PRO' });
      expect(created.body.errors).toBeUndefined();
      expect(created.body.data?.createTenant).toEqual({
        id, name: `Tenant ${id}`, status: 'ACTIVE', plan: 'PRO', schemaName: `tenant_${id.replace(/-/g, '_')}`, domains: [], deletedAt: null,
      });
      expect(await tenantOutcome(id)).toBe('ok');
      const read = await adminGql(api, `query ($id: ID!) { tenant(id: $id) { id status plan } }`, { id });
      expect(read.body.data?.tenant).toEqual({ id, status: 'ACTIVE', plan: 'PRO' });
      const absent = await adminGql(api, `query ($id: ID!) { tenant(id: $id) { id } }`, { id: randomTenantId('none') });
      expect(absent.body).toEqual({ data: { tenant: null } });
    });

    it('lists tenants in id order, page by page, filtered by status', async () => {
      const prefix = randomTenantId('page');
      const ids = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
      for (const id of ids) await createTenant(id);
      await adminGql(api, `mutation ($id: ID!) { suspendTenant(id: $id) { id } }`, { id: ids[1] });

      const LIST = `query ($first: Int, $after: String, $status: TenantStatus) {
        tenants(first: $first, after: $after, status: $status) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status } } } }`;
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await adminGql(api, LIST, { first: 2, after });
        expect(page.body.errors).toBeUndefined();
        const { edges, pageInfo } = page.body.data!.tenants;
        seen.push(...edges.map((edge: { node: { id: string } }) => edge.node.id));
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor;
      }
      expect(seen).toEqual([...seen].sort());
      expect(seen).toEqual(expect.arrayContaining(ids));

      const suspended = await adminGql(api, LIST, { status: 'SUSPENDED', first: 100 });
      expect(suspended.body.data!.tenants.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([ids[1]]);
      expect(suspended.body.data!.tenants.totalCount).toBe(1);

      const badCursor = await adminGql(api, LIST, { after: 'bm90LWEtY3Vyc29y!' });
      expect(codes(badCursor.body)).toEqual(['BAD_USER_INPUT']);
    });

    it('suspends, resumes, soft-deletes, restores and hard-deletes, each visible on the tenant API at once', async () => {
      const id = randomTenantId('adm');
      await createTenant(id);
      const run = async (mutation: string, selection = '{ status }') => {
        const res = await adminGql(api, `mutation ($id: ID!) { result: ${mutation}(id: $id) ${selection} }`, { id });
        expect(res.body.errors).toBeUndefined();
        return res.body.data!.result;
      };

      expect(await run('suspendTenant')).toEqual({ status: 'SUSPENDED' });
      expect(await tenantOutcome(id)).toBe('TENANT_SUSPENDED');
      expect(await run('resumeTenant')).toEqual({ status: 'ACTIVE' });
      expect(await tenantOutcome(id)).toBe('ok');
      expect(await run('deleteTenant', '{ id hard tenant { status deletedAt } }')).toEqual({
        id, hard: false, tenant: { status: 'DELETED', deletedAt: expect.any(String) },
      });
      expect(await tenantOutcome(id)).toBe('TENANT_NOT_FOUND');
      expect(await schemaExists(id)).toBe(true);
      expect(await run('restoreTenant')).toEqual({ status: 'ACTIVE' });
      expect(await tenantOutcome(id)).toBe('ok');

      const hard = await adminGql(api, `mutation ($id: ID!) { deleteTenant(id: $id, hard: true) { id hard tenant { id } } }`, { id });
      expect(hard.body.data?.deleteTenant).toEqual({ id, hard: true, tenant: null });
      expect(await schemaExists(id)).toBe(false);
      expect(await registryRow(id)).toBeUndefined();
      expect(await tenantOutcome(id)).toBe('TENANT_NOT_FOUND');
    });

    it('adds a custom domain that then resolves to the tenant, and removes it', async () => {
      const id = randomTenantId('adm');
      await createTenant(id);
      const host = `shop.${id}.example.com`;
      const added = await adminGql(api, `mutation ($id: ID!, $host: String!) { addTenantDomain(tenantId: $id, hostname: $host) { domains } }`, {
        id, host: host.toUpperCase(),
      });
      expect(added.body.data?.addTenantDomain).toEqual({ domains: [host] });
      expect(await tenantOutcome(id, { host })).toBe('ok');

      const removed = await adminGql(api, `mutation ($id: ID!, $host: String!) { removeTenantDomain(tenantId: $id, hostname: $host) { domains } }`, { id, host });
      expect(removed.body.data?.removeTenantDomain).toEqual({ domains: [] });
      expect(await tenantOutcome(id, { host })).toBe('TENANT_NOT_FOUND');
    });

    it('updates name and plan', async () => {
      const id = randomTenantId('adm');
      await createTenant(id);
      const res = await adminGql(api, `mutation ($id: ID!) { updateTenant(id: $id, input: { name: "Renamed", plan: STARTER }) { name plan } }`, { id });
      expect(res.body.data?.updateTenant).toEqual({ name: 'Renamed', plan: 'STARTER' });
      expect(await registryRow(id)).toMatchObject({ name: 'Renamed', plan: 'starter' });
    });
  });

  describe('bad input: a typed error, and nothing changes', () => {
    it('rejects a malformed id with BAD_USER_INPUT naming the field, creating nothing', async () => {
      const res = await adminGql(api, CREATE, {
        input: { id: 'Bad_Id', name: ' ', adminEmail: 'not-an-email', adminPassword: 'short' },
      });
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(fieldPaths(res.body.errors![0]).sort()).toEqual(['adminEmail', 'adminPassword', 'id', 'name']);
      expect(await registryRow('Bad_Id')).toBeUndefined();
      const { rows } = await observer.query(`SELECT 1 FROM pg_namespace WHERE nspname ILIKE 'tenant_bad_id'`);
      expect(rows).toEqual([]);
    });

    it('answers CONFLICT to a duplicate id and leaves the existing tenant as it was', async () => {
      const id = randomTenantId('adm');
      await createTenant(id);
      const res = await adminGql(api, CREATE, { input: { id, name: 'Usurper', adminEmail: `other@${id}.test`, adminPassword: TEST_PASSWORD } });
      expect(res.status).toBe(200);
      expect(codes(res.body)).toEqual(['CONFLICT']);
      expect(await registryRow(id)).toMatchObject({ name: `Tenant ${id}`, status: 'ACTIVE' });
      expect(await tenantOutcome(id)).toBe('ok');
    });

    it('answers CONFLICT to a domain another tenant has, which keeps it', async () => {
      const [a, b] = [randomTenantId('adm'), randomTenantId('adm')];
      await createTenant(a);
      await createTenant(b);
      const host = `taken.${a}.example.org`;
      const ADD = `mutation ($id: ID!, $host: String!) { addTenantDomain(tenantId: $id, hostname: $host) { domains } }`;
      await adminGql(api, ADD, { id: a, host });
      const res = await adminGql(api, ADD, { id: b, host });
      expect(codes(res.body)).toEqual(['CONFLICT']);
      expect(await tenantOutcome(a, { host })).toBe('ok');
      const read = await adminGql(api, `query ($id: ID!) { tenant(id: $id) { domains } }`, { id: b });
      expect(read.body.data?.tenant).toEqual({ domains: [] });
    });

    it.each([
      ['an unknown tenant', `mutation { suspendTenant(id: "${randomTenantId('none')}") { id } }`, 'TENANT_NOT_FOUND'],
      ['a malformed id', `mutation { suspendTenant(id: "x'; DROP SCHEMA tenantry_control; --") { id } }`, 'BAD_USER_INPUT'],
      ['an unknown plan', `mutation { updateTenant(id: "whatever", input: { plan: PLATINUM }) { id } }`, 'GRAPHQL_VALIDATION_FAILED'],
      ['a page over 100', `{ tenants(first: 101) { totalCount } }`, 'BAD_USER_INPUT'],
      ['an invalid domain', `mutation { addTenantDomain(tenantId: "whatever", hostname: "10.0.0.1") { id } }`, 'BAD_USER_INPUT'],
    ])('answers %s with a typed error', async (_what, query, code) => {
      const res = await adminGql(api, query);
      expect(codes(res.body)).toEqual([code]);
    });
  });

  describe('audit', () => {
    it('records every admin action as admin-api, failures with their error code, never the password', async () => {
      const id = randomTenantId('aud');
      await createTenant(id);
      await adminGql(api, `mutation ($id: ID!) { suspendTenant(id: $id) { id } }`, { id });
      await adminGql(api, `mutation ($id: ID!) { suspendTenant(id: $id) { id } }`, { id });
      await adminGql(api, `mutation ($id: ID!) { updateTenant(id: $id, input: { name: " " }) { id } }`, { id });
      await adminGql(api, `mutation ($id: ID!) { addTenantDomain(tenantId: $id, hostname: "not a host") { id } }`, { id });
      await adminGql(api, `mutation ($id: ID!) { deleteTenant(id: $id, hard: true) { id } }`, { id });

      const rows = await audit(id);
      expect(rows.map((row) => [row.action, row.actor, row.result, row.details.error?.code ?? null])).toEqual([
        ['create', 'admin-api', 'ok', null],
        ['suspend', 'admin-api', 'ok', null],
        ['suspend', 'admin-api', 'error', 'CONFLICT'],
        ['update', 'admin-api', 'error', 'BAD_USER_INPUT'],
        ['domain-add', 'admin-api', 'error', 'BAD_USER_INPUT'],
        ['hard-delete', 'admin-api', 'ok', null],
      ]);
      expect(JSON.stringify(rows)).not.toContain(TEST_PASSWORD);
      expect(JSON.stringify(rows)).not.toContain(TEST_ADMIN_TOKEN);
    });
  });
});
