import { print } from 'graphql';
import { request } from 'node:http';
import { createApp, createLogger } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/config';
import { controlPlaneDatabaseUrl, runtimeDatabaseUrl } from '../../src/database/database-roles';
import type { TestApp } from '../factories/app';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase } from '../factories/database';
import { gql, headersFor, post, type HttpResult, type Via } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import { LoginDocument, MeDocument } from '../generated/graphql';

const ADMIN_TOKEN = 'platform-admin-token-for-the-e2e-suite';
const TOP_TENANTS = 2;

function scrape(baseUrl: string, authorization?: string): Promise<HttpResult<string>> {
  const url = new URL('/metrics', baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function metricsText(api: TestApp): Promise<string> {
  const res = await scrape(api.baseUrl, `Bearer ${ADMIN_TOKEN}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** The value of one sample, e.g. `tenantry_graphql_requests_total{operation="Me",tenant="t-1",outcome="ok"}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

function tenantLabels(text: string): Set<string> {
  return new Set([...text.matchAll(/^tenantry_graphql_requests_total\{[^}]*tenant="([^"]*)"/gm)].map((m) => m[1]));
}

/** A GraphQL call carrying an x-request-id, so its log lines can be found. */
function call(api: TestApp, document: Parameters<typeof print>[0], variables: unknown, via: Via, requestId: string) {
  const headers = { ...headersFor(via, api.port), 'x-request-id': requestId };
  return post(api.baseUrl, '/graphql', JSON.stringify({ query: print(document), variables }), headers);
}

describe('observability: /metrics and structured logs', () => {
  let api: TestApp;
  let tenants: TestTenant[];
  const lines: string[] = [];
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    const db = await newDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'debug',
      PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const app = await createApp(config, { logDestination: { write: (line: string) => void lines.push(line) }, topTenants: TOP_TENANTS });
    await app.listen(0, '127.0.0.1');
    const port = (app.getHttpServer().address() as { port: number }).port;
    api = { app, config, db, port, baseUrl: `http://127.0.0.1:${port}`, close: async () => (await app.close(), await db.drop()) };
    tenants = [];
    // Provisioned one after another: each logs in once, so the first two seen hold the two tenant labels.
    for (let i = 0; i < 5; i++) tenants.push(await newTenant(api));
  });

  afterAll(async () => {
    await api?.close();
  });

  it('refuses /metrics without the platform token, or with a wrong one', async () => {
    const missing = await scrape(api.baseUrl);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await scrape(api.baseUrl, 'Bearer not-the-platform-admin-token')).status).toBe(401);
    expect((await scrape(api.baseUrl, `Basic ${ADMIN_TOKEN}`)).status).toBe(401);
    // A tenant's JWT is not the platform token.
    expect((await scrape(api.baseUrl, `Bearer ${tenants[0].token}`)).status).toBe(401);
    const ok = await scrape(api.baseUrl, `Bearer ${ADMIN_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('counts and times requests by operation and tenant', async () => {
    const [a, b] = tenants;
    for (let i = 0; i < 3; i++) expect((await gql(api.baseUrl, MeDocument, {}, { header: a.id, token: a.token })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await gql(api.baseUrl, MeDocument, {}, { header: b.id, token: b.token })).status).toBe(200);
    const text = await metricsText(api);
    expect(sample(text, 'tenantry_graphql_requests_total', { operation: 'Me', tenant: a.id, outcome: 'ok' })).toBe(3);
    expect(sample(text, 'tenantry_graphql_requests_total', { operation: 'Me', tenant: b.id, outcome: 'ok' })).toBe(2);
    expect(sample(text, 'tenantry_graphql_requests_total', { operation: 'Login', tenant: a.id, outcome: 'ok' })).toBe(1);
    expect(sample(text, 'tenantry_graphql_request_duration_seconds_count', { operation: 'Me', tenant: a.id })).toBe(3);
    // The three later tenants' logins share one label.
    expect(sample(text, 'tenantry_graphql_requests_total', { operation: 'Login', tenant: 'other', outcome: 'ok' })).toBe(3);
  });

  it(`keeps the tenant label to the top ${TOP_TENANTS} tenants by traffic plus "other"`, async () => {
    expect(tenantLabels(await metricsText(api))).toEqual(new Set([tenants[0].id, tenants[1].id, 'other']));
    // The fifth tenant becomes the busiest: it is counted as "other" until a scrape re-ranks, then has its own label.
    const busy = tenants[4];
    for (let i = 0; i < 10; i++) await gql(api.baseUrl, MeDocument, {}, { header: busy.id, token: busy.token });
    const before = await metricsText(api);
    expect(tenantLabels(before).has(busy.id)).toBe(false);
    await gql(api.baseUrl, MeDocument, {}, { header: busy.id, token: busy.token });
    const after = await metricsText(api);
    const labels = tenantLabels(after);
    expect(labels.has(busy.id)).toBe(true);
    expect(labels.has('other')).toBe(true);
    expect(labels.size).toBeLessThanOrEqual(TOP_TENANTS + 1);
    for (const line of after.split('\n').filter((l) => l.startsWith('tenantry_graphql_request_duration_seconds_count'))) {
      expect([...labels]).toContain(/tenant="([^"]*)"/.exec(line)![1]);
    }
  });

  it('exposes pool, tenant-client LRU, registry cache and process metrics', async () => {
    const text = await metricsText(api);
    // One database configured: its request pool is the only series.
    expect(sample(text, 'tenantry_pg_pool_size', { database: 'primary' })).toBeGreaterThan(0);
    expect(sample(text, 'tenantry_pg_pool_idle', { database: 'primary' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'tenantry_pg_pool_waiting', { database: 'primary' })).toBe(0);
    expect(text.split('\n').filter((line) => line.startsWith('tenantry_pg_pool_size{'))).toHaveLength(1);
    // Every connection a tenant took, by whether its backend had served that tenant before.
    const taken = ['home', 'warm', 'cold'].map((connection) => sample(text, 'tenantry_pg_pool_acquisitions_total', { database: 'primary', connection }));
    expect(taken).not.toContain(undefined);
    expect(taken.reduce((sum, n) => sum! + n!, 0)).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'tenantry_tenant_clients_cached')).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'tenantry_tenant_client_cache_hits_total')).toBeGreaterThan(0);
    expect(sample(text, 'tenantry_tenant_client_cache_misses_total')).toBeGreaterThanOrEqual(5);
    expect(sample(text, 'tenantry_tenant_client_cache_evictions_total')).toBe(0);
    expect(sample(text, 'tenantry_tenant_registry_cache_hits_total')).toBeGreaterThan(0);
    expect(sample(text, 'tenantry_tenant_registry_cache_misses_total')).toBeGreaterThan(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('writes JSON log lines carrying the request id and tenant id, and no credentials', async () => {
    const tenant = tenants[2];
    const start = lines.length;
    const login = await call(api, LoginDocument, { email: tenant.adminEmail, password: TEST_PASSWORD }, { header: tenant.id }, 'obs-login-1');
    expect(login.status).toBe(200);
    const me = await call(api, MeDocument, {}, { header: tenant.id, token: tenant.token }, 'obs-me-1');
    expect(me.status).toBe(200);
    const during = logs().slice(start);
    expect(during.length).toBeGreaterThanOrEqual(4);
    for (const line of during) {
      expect(line).toMatchObject({ tenantId: tenant.id, requestId: expect.stringMatching(/^obs-(login|me)-1$/) });
    }
    expect(during).toContainEqual(expect.objectContaining({ msg: 'graphql request', operation: 'Me', requestId: 'obs-me-1', outcome: 'ok' }));
    expect(during).toContainEqual(
      expect.objectContaining({ msg: 'graphql request started', req: expect.objectContaining({ headers: expect.objectContaining({ authorization: '[redacted]' }) }) }),
    );
    const text = lines.join('');
    expect(text).not.toContain(tenant.token);
    expect(text).not.toContain(TEST_PASSWORD);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain(TEST_JWT_SECRET);
    // Nor the passwords derived from the admin URL's for the runtime and control-plane roles.
    const passwords = [runtimeDatabaseUrl(api.config), controlPlaneDatabaseUrl(api.config)].map((url) => decodeURIComponent(new URL(url).password));
    expect(passwords.every((password) => password.length >= 32)).toBe(true);
    for (const password of passwords) expect(text).not.toContain(password);
  });

  it('honours LOG_LEVEL: below it nothing is written', () => {
    const lines: string[] = [];
    const logger = createLogger({ ...api.config, logLevel: 'warn' }, { logDestination: { write: (line: string) => void lines.push(line) } });
    logger.log('hidden', 'Test');
    logger.debug('hidden', 'Test');
    logger.warn('shown with Bearer abc.def.ghi', 'Test');
    logger.error('failed', 'stack with password: hunter2', 'Test');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 40, msg: `shown with Bearer [redacted]`, context: 'Test' }),
      expect.objectContaining({ level: 50, msg: 'failed', context: 'Test', stack: 'stack with password: "[redacted]"' }),
    ]);
  });
});
