import { Redis } from 'ioredis';
import { request } from 'node:http';
import { startApp, type TestApp } from '../factories/app';
import { gql } from '../factories/http';
import { metricSample, scrapeMetrics } from '../factories/metrics';
import { newTenant, type TestTenant } from '../factories/tenants';
import { startRedis, type RedisProcess } from '../support/redis-server';

const ADMIN_TOKEN = 'platform-admin-token-for-redis-outage';

function readiness(baseUrl: string): Promise<string> {
  const url = new URL('/health/ready', baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status: string }).status));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, probe: () => Promise<boolean>, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Readers of `me` across tenants; every response that is not a clean 200 is a failure. */
function startReaders(api: TestApp, tenants: TestTenant[], count: number) {
  const failures: string[] = [];
  let ok = 0;
  let running = true;
  const reader = async (n: number) => {
    for (let i = n; running; i++) {
      const tenant = tenants[i % tenants.length];
      try {
        const res = await gql<{ me: { id: string } }, Record<string, never>>(api.baseUrl, '{ me { id } }', {}, { header: tenant.id, token: tenant.token });
        if (res.status === 200 && res.body.data?.me.id === tenant.adminId) ok++;
        else failures.push(`${res.status} ${JSON.stringify(res.body)}`);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
  };
  const done = Promise.all(Array.from({ length: count }, (_, n) => reader(n)));
  return {
    failures,
    ok: () => ok,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('Redis killed under load', () => {
  let redis: RedisProcess;
  let api: TestApp;
  let tenants: TestTenant[];

  beforeAll(async () => {
    redis = await startRedis();
    // A short cache TTL sends lookups to Redis all the time.
    api = await startApp({ REDIS_URL: redis.url, TENANT_CACHE_TTL_MS: '100', PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
    tenants = [];
    for (let i = 0; i < 3; i++) tenants.push(await newTenant(api, { plan: 'enterprise' }));
  });
  afterAll(async () => {
    await api?.close();
    await redis?.stop();
  });

  it('fails no request, reports degraded while Redis is away, and uses Redis again once it is back', async () => {
    expect(await readiness(api.baseUrl)).toBe('ok');
    const readers = startReaders(api, tenants, 4);
    await until('requests before the kill', async () => readers.ok() >= 30);

    await redis.stop();
    await until('readiness degraded', async () => (await readiness(api.baseUrl)) === 'degraded');
    const duringOutage = readers.ok();
    await until('requests during the outage', async () => readers.ok() >= duringOutage + 50);
    const localChecks = metricSample(await scrapeMetrics(api.baseUrl, ADMIN_TOKEN), 'tenantry_rate_limit_checks_total', { store: 'local' });
    expect(localChecks).toBeGreaterThan(0);

    await redis.start();
    await until('readiness ok', async () => (await readiness(api.baseUrl)) === 'ok');
    const redisChecks = metricSample(await scrapeMetrics(api.baseUrl, ADMIN_TOKEN), 'tenantry_rate_limit_checks_total', { store: 'redis' })!;
    // The new, empty instance fills up again: tenant lookups and rate-limit buckets land in it.
    const client = new Redis(redis.url);
    try {
      await until('tenant cache entries in the new Redis', async () => (await client.exists(...tenants.map((t) => `tenantry:tenant:v1:${t.id}`))) > 0);
      await until('rate-limit buckets in the new Redis', async () => (await client.exists(`tenantry:ratelimit:v1:${tenants[0].id}`)) === 1);
    } finally {
      client.disconnect();
    }
    await until('requests after the restart', async () => readers.ok() >= duringOutage + 100);
    // Checks right after the reconnect may still time out to the local store: wait, under load, for Redis ones.
    const redisChecksNow = async () => metricSample(await scrapeMetrics(api.baseUrl, ADMIN_TOKEN), 'tenantry_rate_limit_checks_total', { store: 'redis' })!;
    await until('rate-limit checks served by Redis again', async () => (await redisChecksNow()) > redisChecks);
    await readers.stop();

    expect(readers.failures).toEqual([]);
    expect(await redisChecksNow()).toBeGreaterThan(redisChecks);
  }, 180_000);
});
