import { startApp, type TestApp } from '../factories/app';
import { codes, gql, type GraphqlBody, type HttpResult } from '../factories/http';
import { metricSample, scrapeMetrics } from '../factories/metrics';
import { newTenant, type TestTenant } from '../factories/tenants';

const ADMIN_TOKEN = 'platform-admin-token-for-rate-limits';
// Free plan: 600 operations/minute × 0.01 = a bucket of 6, refilled by one every 10 s.
const SCALE = '0.01';
const ME = '{ me { id } }';
const FOUR_ALIASES = '{ a: me { id } b: me { id } c: me { id } d: me { id } }';

/** Sends `query` until it is refused (at most `max` times); returns how many succeeded and the refusal. */
async function exhaust(api: TestApp, tenant: TestTenant, query: string, max = 30) {
  for (let accepted = 0; accepted < max; accepted++) {
    const res = await gql<unknown, Record<string, never>>(api.baseUrl, query, {}, { header: tenant.id, token: tenant.token });
    if (res.body.errors) return { accepted, refusal: res };
  }
  throw new Error(`${max} requests of ${tenant.id} were all accepted`);
}

function expectRateLimited(res: HttpResult<GraphqlBody<unknown>>): number {
  expect(res.status).toBe(429);
  expect(codes(res.body)).toEqual(['RATE_LIMITED']);
  expect(res.body.data).toBeUndefined();
  const retryAfterSeconds = res.body.errors![0].extensions!.retryAfterSeconds as number;
  expect(Number.isInteger(retryAfterSeconds)).toBe(true);
  expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(retryAfterSeconds).toBeLessThanOrEqual(60);
  expect(res.headers['retry-after']).toBe(String(retryAfterSeconds));
  return retryAfterSeconds;
}

describe('rate limits per tenant by plan (in-process buckets)', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp({ RATE_LIMIT_SCALE: SCALE, PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses a free tenant past its operations per minute with RATE_LIMITED, retryAfterSeconds and Retry-After', async () => {
    const tenant = await newTenant(api, { plan: 'free' });
    // Its login spent one of the six tokens.
    const { accepted, refusal } = await exhaust(api, tenant, ME);
    expect(accepted).toBeGreaterThanOrEqual(5);
    expect(accepted).toBeLessThan(10);
    expectRateLimited(refusal);
    // Refused requests spend nothing, and keep being refused until the bucket refills.
    expectRateLimited((await gql(api.baseUrl, ME, {}, { header: tenant.id, token: tenant.token })));
  });

  it('counts every aliased root field, and refuses an operation it cannot afford whole', async () => {
    const tenant = await newTenant(api, { plan: 'free' });
    const first = await gql<Record<string, { id: string }>, Record<string, never>>(api.baseUrl, FOUR_ALIASES, {}, { header: tenant.id, token: tenant.token });
    expect(first.body.errors).toBeUndefined();
    expect(Object.keys(first.body.data!)).toEqual(['a', 'b', 'c', 'd']);
    // 6 − 1 (login) − 4 leaves about one token: four more aliases are refused, one field still fits.
    expectRateLimited(await gql(api.baseUrl, FOUR_ALIASES, {}, { header: tenant.id, token: tenant.token }));
    const single = await gql<{ me: { id: string } }, Record<string, never>>(api.baseUrl, ME, {}, { header: tenant.id, token: tenant.token });
    expect(single.body.errors).toBeUndefined();
    expect(single.body.data?.me.id).toBe(tenant.adminId);
  });

  it('leaves other tenants unaffected while one is limited', async () => {
    const noisy = await newTenant(api, { plan: 'free' });
    const quiet = await newTenant(api, { plan: 'free' });
    expectRateLimited((await exhaust(api, noisy, ME)).refusal);
    for (let i = 0; i < 3; i++) {
      const res = await gql<{ me: { id: string } }, Record<string, never>>(api.baseUrl, ME, {}, { header: quiet.id, token: quiet.token });
      expect(res.status).toBe(200);
      expect(res.body.data?.me.id).toBe(quiet.adminId);
    }
  });

  it('gives bigger plans bigger buckets', async () => {
    const free = await newTenant(api, { plan: 'free' });
    const starter = await newTenant(api, { plan: 'starter' });
    // starter: 3,000 × 0.01 = 30 operations; the free tenant is refused after about 5.
    const freeRun = await exhaust(api, free, FOUR_ALIASES);
    const starterRun = await exhaust(api, starter, FOUR_ALIASES);
    expect(freeRun.accepted).toBe(1);
    expect(starterRun.accepted).toBeGreaterThanOrEqual(7);
    expectRateLimited(starterRun.refusal);
  });

  it('counts rejections per tenant in tenantry_rate_limited_total', async () => {
    const tenant = await newTenant(api, { plan: 'free' });
    const before = metricSample(await scrapeMetrics(api.baseUrl, ADMIN_TOKEN), 'tenantry_rate_limited_total', { tenant: tenant.id }) ?? 0;
    await exhaust(api, tenant, ME);
    await gql(api.baseUrl, ME, {}, { header: tenant.id, token: tenant.token });
    const after = metricSample(await scrapeMetrics(api.baseUrl, ADMIN_TOKEN), 'tenantry_rate_limited_total', { tenant: tenant.id });
    expect(after).toBe(before + 2);
  });
});
