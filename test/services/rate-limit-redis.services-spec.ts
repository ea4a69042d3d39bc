import { Redis } from 'ioredis';
import { startApp, type TestApp } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { codes, gql } from '../factories/http';
import { newTenant } from '../factories/tenants';
import { startRedis, type RedisProcess } from '../support/redis-server';

const ME = '{ me { id } }';

describe('rate limits shared through Redis by every API instance', () => {
  let redis: RedisProcess;
  let db: TestDatabase;
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    db = await newDatabase();
    // Free plan: a bucket of 6 operations.
    const env = { REDIS_URL: redis.url, RATE_LIMIT_SCALE: '0.01' };
    first = await startApp(env, db);
    second = await startApp(env, db);
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await db?.drop();
    await redis?.stop();
  });

  it('keeps one bucket per tenant in Redis, so a tenant limited on one instance is limited on the other', async () => {
    const tenant = await newTenant(first, { plan: 'free' });
    const apis = [first, second];
    let accepted = 0;
    let refusal: Awaited<ReturnType<typeof gql>> | undefined;
    // Alternate instances: in-process buckets would allow 2 × 6 before refusing.
    for (let i = 0; i < 20 && !refusal; i++) {
      const res = await gql(apis[i % 2].baseUrl, ME, {}, { header: tenant.id, token: tenant.token });
      if (res.body.errors) refusal = res;
      else accepted++;
    }
    expect(accepted).toBeGreaterThanOrEqual(5);
    expect(accepted).toBeLessThan(8);
    expect(refusal!.status).toBe(429);
    expect(codes(refusal!.body)).toEqual(['RATE_LIMITED']);
    expect(refusal!.headers['retry-after']).toBe(String(refusal!.body.errors![0].extensions!.retryAfterSeconds));

    const client = new Redis(redis.url);
    const bucket = await client.hgetall(`tenantry:ratelimit:v1:${tenant.id}`);
    const ttl = await client.pttl(`tenantry:ratelimit:v1:${tenant.id}`);
    client.disconnect();
    expect(Number(bucket.tokens)).toBeLessThan(1);
    expect(ttl).toBeGreaterThan(0);
  });

  it('falls back to in-process buckets when Redis is away: requests still succeed and are still limited', async () => {
    const tenant = await newTenant(first, { plan: 'free' });
    await redis.stop();
    let accepted = 0;
    let refused: string[] = [];
    for (let i = 0; i < 20 && refused.length === 0; i++) {
      const res = await gql(first.baseUrl, ME, {}, { header: tenant.id, token: tenant.token });
      if (res.body.errors) refused = codes(res.body);
      else accepted++;
    }
    // The in-process bucket starts full: its login was charged in Redis.
    expect(accepted).toBeGreaterThanOrEqual(6);
    expect(accepted).toBeLessThan(9);
    expect(refused).toEqual(['RATE_LIMITED']);
  });
});
