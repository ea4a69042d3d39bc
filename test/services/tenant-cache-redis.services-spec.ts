import { Redis } from 'ioredis';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { startApp, type TestApp } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { codes, gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { MeDocument } from '../generated/graphql';
import { startRedis, type RedisProcess } from '../support/redis-server';

describe('tenant lookups cached in Redis across two API instances', () => {
  let redis: RedisProcess;
  let db: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    redis = await startRedis();
    db = await newDatabase();
    // A long TTL: only LISTEN/NOTIFY can explain a change seen quickly.
    const env = { REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '600000' };
    first = await startApp(env, db);
    second = await startApp(env, db);
    tenant = await newTenant(first);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await db?.drop();
    await redis?.stop();
  });

  it('stores a looked-up tenant in Redis', async () => {
    const me = await gql(second.baseUrl, MeDocument, {}, { header: tenant.id, token: tenant.token });
    expect(me.body.data?.me.email).toBe(tenant.adminEmail);
    const client = new Redis(redis.url);
    const cached = await client.get(`tenantry:tenant:v1:${tenant.id}`);
    client.disconnect();
    expect(JSON.parse(cached!).tenant).toMatchObject({ id: tenant.id, status: 'ACTIVE' });
  });

  it('a suspension made through one instance reaches the other before the cache TTL', async () => {
    await gql(second.baseUrl, MeDocument, {}, { header: tenant.id, token: tenant.token });
    await first.app.get(TenantRegistryRepository).updateStatus(tenant.id, 'SUSPENDED');
    let seen: string[] = [];
    for (let attempt = 0; attempt < 50 && !seen.includes('TENANT_SUSPENDED'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      seen = codes((await gql(second.baseUrl, MeDocument, {}, { header: tenant.id, token: tenant.token })).body);
    }
    expect(seen).toEqual(['TENANT_SUSPENDED']);
    await first.app.get(TenantRegistryRepository).updateStatus(tenant.id, 'ACTIVE');
  });

  it('keeps serving from the database when Redis goes away', async () => {
    await redis.stop();
    const other = await newTenant(first);
    for (let i = 0; i < 5; i++) {
      const me = await gql(second.baseUrl, MeDocument, {}, { header: other.id, token: other.token });
      expect(me.body.data?.me.email).toBe(other.adminEmail);
    }
  });
});
