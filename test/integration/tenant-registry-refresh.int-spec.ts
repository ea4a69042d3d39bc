import { Client } from 'pg';
import { CONTROL_SCHEMA } from '../../src/control-plane/control-plane-migrator';
import { TenantRegistry } from '../../src/control-plane/tenant-registry.service';
import { startApp, type TestApp } from '../factories/app';
import { newTenant } from '../factories/tenants';

// Refreshes run every TTL/4 for entries past half their TTL, so a refresh may come TTL/4 late before a lookup misses:
// 1 s here, room for the timer slips of a worker starved of CPU on a busy two-core CI machine (1.6 s gave 0.4 s, and
// one run missed).
const TTL_MS = 4_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tenant cache refresh', () => {
  let api: TestApp;
  let registry: TenantRegistry;
  let owner: Client;

  beforeAll(async () => {
    api = await startApp({ TENANT_CACHE_TTL_MS: String(TTL_MS) });
    registry = api.app.get(TenantRegistry);
    owner = new Client({ connectionString: api.db.url });
    await owner.connect();
  });

  afterAll(async () => {
    await owner?.end();
    await api?.close();
  });

  // A change whose NOTIFY never arrives: triggers do not fire for a session replicating changes.
  async function renameSilently(id: string, name: string): Promise<void> {
    await owner.query(`SET session_replication_role = replica`);
    try {
      await owner.query(`UPDATE ${CONTROL_SCHEMA}.tenants SET name = $2 WHERE id = $1`, [id, name]);
    } finally {
      await owner.query(`SET session_replication_role = origin`);
    }
  }

  it('keeps a tenant in use cached past its TTL, re-read in the background instead of on a request', async () => {
    const tenant = await newTenant(api);
    // Past the notifications of its creation, which drop the entry.
    await sleep(1_000);
    await registry.resolve(tenant.id);
    const misses = registry.stats.misses;
    // Lookups every 200 ms for one and a half TTLs: the entry read above would have expired within them.
    for (let i = 0; i < (1.5 * TTL_MS) / 200; i++) {
      expect((await registry.resolve(tenant.id))?.id).toBe(tenant.id);
      await sleep(200);
    }
    expect(registry.stats.misses).toBe(misses);
  });

  it('still brings a change whose notification was missed to a tenant in use', async () => {
    const tenant = await newTenant(api);
    await registry.resolve(tenant.id);
    await renameSilently(tenant.id, 'renamed without a notification');
    let name = (await registry.resolve(tenant.id))?.name;
    for (let i = 0; i < 100 && name !== 'renamed without a notification'; i++) {
      await sleep(TTL_MS / 8);
      name = (await registry.resolve(tenant.id))?.name;
    }
    expect(name).toBe('renamed without a notification');
  });

  it('forgets a tenant whose registry row is gone without a notification', async () => {
    const tenant = await newTenant(api);
    await registry.resolve(tenant.id);
    await owner.query(`SET session_replication_role = replica`);
    try {
      await owner.query(`DELETE FROM ${CONTROL_SCHEMA}.tenants WHERE id = $1`, [tenant.id]);
    } finally {
      await owner.query(`SET session_replication_role = origin`);
    }
    let found = await registry.resolve(tenant.id);
    for (let i = 0; i < 100 && found; i++) {
      await sleep(TTL_MS / 8);
      found = await registry.resolve(tenant.id);
    }
    expect(found).toBeNull();
  });

  it('leaves an entry invalidated during a refresh to the next lookup, which reads the new row', async () => {
    const tenant = await newTenant(api);
    await registry.resolve(tenant.id);
    await sleep(TTL_MS / 2 + 20);
    await registry.resolve(tenant.id);
    const refreshing = registry.refresh();
    await owner.query(`UPDATE ${CONTROL_SCHEMA}.tenants SET name = 'changed during a refresh' WHERE id = $1`, [tenant.id]);
    await registry.invalidate(tenant.id);
    await refreshing;
    expect((await registry.resolve(tenant.id))?.name).toBe('changed during a refresh');
  });
});
