import { Client } from 'pg';
import { TenantLifecycleService } from '../../src/control-plane/tenant-lifecycle.service';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql, type Via } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument, ProjectsDocument } from '../generated/graphql';

const ACTOR = 'test:e2e';
// Far longer than any wait below: a change that shows up can only have come through NOTIFY.
const CACHE_TTL_MS = '600000';
const NOTIFY_WITHIN_MS = 2_000;

describe('tenant lifecycle as API instances see it', () => {
  let api: TestApp;
  let lifecycle: TenantLifecycleService;
  let observer: Client;

  /** `ok` when the tenant's projects can be listed, else the error code. */
  async function outcome(tenant: TestTenant, via: Via = { subdomain: tenant.id }): Promise<string> {
    const res = await gql(api.baseUrl, ProjectsDocument, { first: 10 }, { ...via, token: tenant.token });
    return res.body.data ? 'ok' : (codes(res.body)[0] ?? `HTTP ${res.status}`);
  }

  /** Polls until `tenant` answers `expected`, failing after NOTIFY_WITHIN_MS with the last answer. */
  async function expectSoon(tenant: TestTenant, expected: string, via?: Via): Promise<void> {
    const deadline = Date.now() + NOTIFY_WITHIN_MS;
    let last = await outcome(tenant, via);
    while (last !== expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      last = await outcome(tenant, via);
    }
    expect(last).toBe(expected);
  }

  async function projectNames(tenant: TestTenant): Promise<string[]> {
    const res = await gql(api.baseUrl, ProjectsDocument, { first: 10 }, { subdomain: tenant.id, token: tenant.token });
    return res.body.data!.projects.edges.map((edge) => edge.node.name);
  }

  beforeAll(async () => {
    api = await startApp({ TENANT_CACHE_TTL_MS: CACHE_TTL_MS });
    lifecycle = api.app.get(TenantLifecycleService);
    observer = new Client({ connectionString: api.db.url });
    await observer.connect();
  });

  afterAll(async () => {
    await observer?.end();
    await api?.close();
  });

  it('suspends, soft-deletes and restores a tenant on a running instance, keeping its data', async () => {
    const tenant = await newTenant(api);
    const created = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'kept' } }, { subdomain: tenant.id, token: tenant.token });
    expect(created.body.errors).toBeUndefined();
    // Warm the cache with the ACTIVE record.
    expect(await outcome(tenant)).toBe('ok');

    await lifecycle.suspend(tenant.id, ACTOR);
    await expectSoon(tenant, 'TENANT_SUSPENDED');
    await lifecycle.resume(tenant.id, ACTOR);
    await expectSoon(tenant, 'ok');

    await lifecycle.softDelete(tenant.id, ACTOR);
    await expectSoon(tenant, 'TENANT_NOT_FOUND');
    expect(await outcome(tenant, { header: tenant.id })).toBe('TENANT_NOT_FOUND');

    await lifecycle.restore(tenant.id, ACTOR);
    await expectSoon(tenant, 'ok');
    expect(await projectNames(tenant)).toEqual(['kept']);
  });

  it('hard-deletes a tenant: requests get TENANT_NOT_FOUND and the schema is gone', async () => {
    const tenant = await newTenant(api);
    expect(await outcome(tenant)).toBe('ok');

    await lifecycle.hardDelete(tenant.id, ACTOR);
    await expectSoon(tenant, 'TENANT_NOT_FOUND');
    const { rows } = await observer.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenant.schemaName]);
    expect(rows).toEqual([]);
  });

  it('answers TENANT_NOT_FOUND, not a 500, when a schema vanishes while the instance still holds its tenant', async () => {
    const tenant = await newTenant(api);
    expect(await outcome(tenant)).toBe('ok');
    // The window a hard delete leaves before its NOTIFY lands: the registry row is untouched, the schema gone.
    await observer.query(`DROP SCHEMA "${tenant.schemaName}" CASCADE`);
    const res = await gql(api.baseUrl, ProjectsDocument, { first: 10 }, { subdomain: tenant.id, token: tenant.token });
    expect(res.status).not.toBe(500);
    expect(codes(res.body)).toContain('TENANT_NOT_FOUND');
    expect(codes(res.body)).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('serves a tenant on its custom domain once added, follows its status, and stops once removed', async () => {
    const tenant = await newTenant(api);
    const other = await newTenant(api);
    const shop: Via = { host: 'shop.example.org' };
    // Cache the negative answer first: only the domain NOTIFY can make the domain work.
    expect(await outcome(tenant, shop)).toBe('TENANT_NOT_FOUND');

    await lifecycle.addDomain(tenant.id, 'Shop.Example.org', ACTOR);
    await expectSoon(tenant, 'ok', shop);
    expect(await outcome(tenant, { host: 'SHOP.example.org:443' })).toBe('ok');
    expect(await outcome(tenant, { ...shop, header: tenant.id })).toBe('ok');
    expect(await outcome(other, { ...shop, header: other.id })).toBe('TENANT_MISMATCH');
    // The other tenant's token is for another tenant than the domain names.
    expect(await outcome(other, shop)).toBe('UNAUTHENTICATED');

    await lifecycle.suspend(tenant.id, ACTOR);
    await expectSoon(tenant, 'TENANT_SUSPENDED', shop);
    await lifecycle.resume(tenant.id, ACTOR);
    await expectSoon(tenant, 'ok', shop);

    await lifecycle.removeDomain(tenant.id, 'shop.example.org', ACTOR);
    await expectSoon(tenant, 'TENANT_NOT_FOUND', shop);
    expect(await outcome(tenant)).toBe('ok');
  });

  it('stops serving a custom domain when its tenant is hard-deleted', async () => {
    const tenant = await newTenant(api);
    const via: Via = { host: 'gone.example.net' };
    await lifecycle.addDomain(tenant.id, 'gone.example.net', ACTOR);
    await expectSoon(tenant, 'ok', via);
    await lifecycle.hardDelete(tenant.id, ACTOR);
    await expectSoon(tenant, 'TENANT_NOT_FOUND', via);
  });
});
