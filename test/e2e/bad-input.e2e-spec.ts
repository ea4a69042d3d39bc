import { JwtService } from '@nestjs/jwt';
import { keyIdOf } from '../../src/auth/jwt-keys.service';
import { randomUUID } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { TenantRegistry } from '../../src/control-plane/tenant-registry.service';
import { CONTROL_PLANE_POOL } from '../../src/database/database-tokens';
import { startApp, TEST_JWT_SECRET, type TestApp } from '../factories/app';
import { gql, headersFor, post, type HttpResult, type Via } from '../factories/http';
import { newTenant, randomTenantId, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  BadInputProjectTotalDocument,
  CreateProjectDocument,
  DeleteProjectDocument,
  LoginDocument,
  MeDocument,
  ProjectDocument,
  ProjectsDocument,
  UpdateProjectDocument,
} from '../generated/graphql';

interface TypedError {
  message: string;
  extensions: { code: string; fields?: { path: string; message: string }[] };
}

/** Every rejection: GraphQL-shaped with a code, no stack trace anywhere, never a 500. */
function expectRejected(res: HttpResult<unknown>, code: string, status?: number): TypedError {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  expect(text.toLowerCase()).not.toContain('stacktrace');
  expect(text).not.toContain(' at ');
  expect(res.status).not.toBe(500);
  if (status !== undefined) expect(res.status).toBe(status);
  const body = JSON.parse(text) as { errors?: TypedError[] };
  expect(body.errors?.[0]?.extensions?.code).toBe(code);
  return body.errors![0];
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('bad input over HTTP', () => {
  let api: TestApp;
  let t: TestTenant;
  let other: TestTenant;
  let projectId: string;
  let totalBefore: number;

  const as = (tenant: TestTenant, extra: Via = {}): Via => ({ header: tenant.id, token: tenant.token, ...extra });
  const total = async (tenant: TestTenant) =>
    (await gql(api.baseUrl, BadInputProjectTotalDocument, {}, as(tenant))).body.data!.projects.totalCount;
  const createAs = (via: Via, name = 'should not exist') => gql(api.baseUrl, CreateProjectDocument, { input: { name } }, via);
  const readProject = async () => (await gql(api.baseUrl, ProjectDocument, { id: projectId }, as(t))).body.data?.project;

  beforeAll(async () => {
    // A registry cache entry lives for 10 minutes here: only the NOTIFY invalidation can make a suspension visible.
    api = await startApp({ TENANT_CACHE_TTL_MS: '600000' });
    [t, other] = await Promise.all([newTenant(api), newTenant(api)]);
    projectId = (await createAs(as(t), 'Keeper')).body.data!.createProject.id;
  });
  afterAll(() => api.close());

  beforeEach(async () => {
    totalBefore = await total(t);
  });
  // Nothing a rejected request sent was written, and the server still serves a normal request.
  afterEach(async () => {
    const me = await gql(api.baseUrl, MeDocument, {}, { subdomain: t.id, token: t.token });
    expect(me.body.data?.me.id).toBe(t.adminId);
    expect(await total(t)).toBe(totalBefore);
    expect(await readProject()).toMatchObject({ id: projectId, name: 'Keeper' });
  });

  describe('tenant resolution', () => {
    const injection = 'acme"; drop schema x; --';
    it.each<[string, () => Via, string, number]>([
      ['an unknown id in the header', () => as(t, { header: randomTenantId('nobody') }), 'TENANT_NOT_FOUND', 404],
      ['an unknown subdomain', () => ({ subdomain: randomTenantId('nobody'), token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['a nested subdomain', () => ({ host: `a.${t.id}.localhost:${api.port}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['a.b.localhost', () => ({ host: `a.b.localhost:${api.port}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['a foreign host', () => ({ host: 'evil.example.com', header: t.id, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['a tenant under a foreign host', () => ({ host: `${t.id}.evil.example.com`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['an empty label (.localhost)', () => ({ host: `.localhost:${api.port}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['a trailing dot', () => ({ host: `${t.id}.localhost.:${api.port}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['a bare host without a header', () => ({ host: `localhost:${api.port}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['an empty Host without a header', () => ({ host: '', token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['SQL in the header', () => as(t, { header: injection }), 'TENANT_NOT_FOUND', 404],
      ['SQL as the subdomain', () => ({ host: `${injection}.localhost:${api.port}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['the id upper-cased in the header (matched exactly)', () => as(t, { header: t.id.toUpperCase() }), 'TENANT_NOT_FOUND', 404],
      ['a 70-character id in the header', () => as(t, { header: `a${'b'.repeat(69)}` }), 'TENANT_NOT_FOUND', 404],
      ['a 70-character subdomain', () => ({ subdomain: `a${'b'.repeat(69)}`, token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['reserved www in the header', () => as(t, { header: 'www' }), 'TENANT_NOT_FOUND', 404],
      ['reserved www as the subdomain', () => ({ subdomain: 'www', token: t.token }), 'TENANT_NOT_FOUND', 404],
      ['an empty header', () => as(t, { header: '' }), 'TENANT_NOT_FOUND', 404],
      ['a header naming another tenant than the subdomain', () => ({ subdomain: t.id, header: other.id, token: t.token }), 'TENANT_MISMATCH', 400],
    ])('rejects %s', async (_case, via, code, status) => {
      expectRejected(await createAs(via()), code, status);
    });

    it('answers TENANT_SUSPENDED for a suspended tenant on every path, and serves it again once reactivated', async () => {
      const sleepy = await newTenant(api);
      await createAs(as(sleepy), 'dormant');
      const registry = api.app.get(TenantRegistryRepository);
      await registry.updateStatus(sleepy.id, 'SUSPENDED');
      try {
        const me = () => gql(api.baseUrl, MeDocument, {}, as(sleepy));
        expectRejected(await eventually(me, (res) => res.status === 403), 'TENANT_SUSPENDED', 403);
        for (const via of [as(sleepy), { subdomain: sleepy.id, token: sleepy.token }]) {
          expectRejected(await createAs(via), 'TENANT_SUSPENDED', 403);
          const login = await gql(api.baseUrl, LoginDocument, { email: sleepy.adminEmail, password: TEST_PASSWORD }, { ...via, token: undefined });
          expectRejected(login, 'TENANT_SUSPENDED', 403);
        }
      } finally {
        await registry.updateStatus(sleepy.id, 'ACTIVE');
      }
      const back = await eventually(() => gql(api.baseUrl, BadInputProjectTotalDocument, {}, as(sleepy)), (res) => res.status === 200);
      expect(back.body.data?.projects.totalCount).toBe(1);
    });

    it('answers a request whose tenant lookup races a suspension with TENANT_SUSPENDED, not a 500', async () => {
      const racer = await newTenant(api);
      const pool = api.app.get<Pool>(CONTROL_PLANE_POOL);
      const registry = api.app.get(TenantRegistry);
      const invalidate = registry.invalidate.bind(registry);
      const notified = new Promise<void>((resolve) => {
        jest.spyOn(registry, 'invalidate').mockImplementation(async (id) => {
          await invalidate(id);
          if (id === racer.id) resolve();
        });
      });
      // Every pool connection held: the lookup stays in flight until the NOTIFY of the change has landed.
      const held: PoolClient[] = [];
      const side = new Pool({ connectionString: api.db.url, max: 1 });
      try {
        for (let i = 0; i < api.config.pgPoolMax; i++) held.push(await pool.connect());
        await invalidate(racer.id);
        const pending = gql(api.baseUrl, MeDocument, {}, as(racer));
        await eventually(async () => pool.waitingCount, (waiting) => waiting > 0);
        await api.app.get(TenantRegistryRepository).updateStatus(racer.id, 'SUSPENDED', side);
        await notified;
        held.splice(0).forEach((client) => client.release());
        expectRejected(await pending, 'TENANT_SUSPENDED', 403);
      } finally {
        held.forEach((client) => client.release());
        jest.restoreAllMocks();
        await side.end();
      }
    });
  });

  describe('access tokens', () => {
    // Signed with the current key's kid, as the API signs.
    const jwt = new JwtService({ secret: TEST_JWT_SECRET, signOptions: { keyid: keyIdOf(TEST_JWT_SECRET) } });
    const claims = () => ({ sub: t.adminId, tid: t.id, role: 'ADMIN' });
    const valid = { issuer: 'tenantry', audience: 'tenantry-api' };

    it('accepts a hand-signed token with every required claim (the control for the cases below)', async () => {
      const token = jwt.sign(claims(), { ...valid, expiresIn: 60 });
      const me = await gql(api.baseUrl, MeDocument, {}, as(t, { token }));
      expect(me.body).toEqual({ data: { me: { id: t.adminId, email: t.adminEmail, role: 'ADMIN' } } });
    });

    it.each<[string, () => string | undefined]>([
      ['no token', () => undefined],
      ['a garbage token', () => 'garbage'],
      ['a token that is not base64url', () => 'a.b.c!'],
      ['an expired token', () => jwt.sign({ ...claims(), exp: now() - 60 }, valid)],
      ["another tenant's token", () => other.token],
      ['an alg none token', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims(), iss: 'tenantry', aud: 'tenantry-api', iat: now(), exp: now() + 600 })}.`],
      ['a token without exp', () => jwt.sign(claims(), valid)],
      ['a token with the wrong issuer', () => jwt.sign(claims(), { ...valid, issuer: 'someone-else', expiresIn: 60 })],
      ['a token with the wrong audience', () => jwt.sign(claims(), { ...valid, audience: 'another-api', expiresIn: 60 })],
      ['a token without iss and aud', () => jwt.sign(claims(), { expiresIn: 60 })],
      ['a token signed with another secret', () => jwt.sign(claims(), { ...valid, expiresIn: 60, secret: 'x'.repeat(40) })],
      ['an HS512 token', () => jwt.sign(claims(), { ...valid, expiresIn: 60, algorithm: 'HS512' })],
      ['a token with an unknown role', () => jwt.sign({ ...claims(), role: 'OWNER' }, { ...valid, expiresIn: 60 })],
    ])('rejects %s as UNAUTHENTICATED', async (_case, token) => {
      expectRejected(await createAs(as(t, { token: token() })), 'UNAUTHENTICATED');
      expectRejected(await gql(api.baseUrl, MeDocument, {}, as(t, { token: token() })), 'UNAUTHENTICATED');
    });
  });

  describe('input limits', () => {
    it.each<[string, Record<string, string>, string]>([
      ['a 201-character name', { name: 'n'.repeat(201) }, 'name'],
      ['a blank name', { name: '   ' }, 'name'],
      ['a 10,001-character description', { name: 'ok', description: 'd'.repeat(10_001) }, 'description'],
    ])('refuses %s on create and on update with BAD_USER_INPUT naming the field', async (_case, input, field) => {
      const created = expectRejected(await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'ok', ...input } }, as(t)), 'BAD_USER_INPUT');
      expect(created.extensions.fields?.map((f) => f.path)).toEqual([field]);
      const updated = expectRejected(await gql(api.baseUrl, UpdateProjectDocument, { id: projectId, input }, as(t)), 'BAD_USER_INPUT');
      expect(updated.extensions.fields?.map((f) => f.path)).toEqual([field]);
    });

    it('accepts a 200-character name and a 10,000-character description (the limits are exact)', async () => {
      const roomy = await newTenant(api);
      const input = { name: 'n'.repeat(200), description: 'd'.repeat(10_000) };
      const created = await gql(api.baseUrl, CreateProjectDocument, { input }, as(roomy));
      expect(created.body.data?.createProject).toMatchObject(input);
    });

    it('answers a body over 100 KiB with PAYLOAD_TOO_LARGE (HTTP 413)', async () => {
      const body = JSON.stringify({
        query: 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }',
        variables: { input: { name: 'big', description: 'x'.repeat(100 * 1024) } },
      });
      expectRejected(await post(api.baseUrl, '/graphql', body, headersFor(as(t), api.port)), 'PAYLOAD_TOO_LARGE', 413);
    });

    it.each([
      ['invalid JSON', '{"query": "{ me { id } }"'],
      ['a JSON null', 'null'],
      ['a JSON array (batching is off)', '[{"query": "{ me { id } }"}]'],
      ['an object without a query', '{}'],
      ['a query that is not a string', '{"query": 5}'],
    ])('answers %s with BAD_REQUEST (HTTP 400)', async (_case, body) => {
      expectRejected(await post(api.baseUrl, '/graphql', body, headersFor(as(t), api.port)), 'BAD_REQUEST', 400);
    });
  });

  describe('ids, cursors and page sizes', () => {
    it.each(['not-a-uuid', "' OR 1=1 --", `${randomUUID()}x`, ''])('reads the malformed id %j as null', async (id) => {
      const res = await gql(api.baseUrl, ProjectDocument, { id }, as(t));
      expect(res.body).toEqual({ data: { project: null } });
    });

    it.each(['not-a-uuid', "' OR 1=1 --", `${randomUUID()}x`])('answers update and delete of the malformed id %j with NOT_FOUND', async (id) => {
      expectRejected(await gql(api.baseUrl, UpdateProjectDocument, { id, input: { name: 'x' } }, as(t)), 'NOT_FOUND');
      expectRejected(await gql(api.baseUrl, DeleteProjectDocument, { id }, as(t)), 'NOT_FOUND');
    });

    it.each([
      ['garbage', 'garbage'],
      ['base64 of another JSON object', b64({ a: 1 })],
      ['base64 of a pair that is no keyset', b64(['x', 'y'])],
      ['base64 of a keyset with a malformed id', b64([new Date().toISOString(), 'not-a-uuid'])],
      ['base64 of plain text', b64('hello')],
    ])('refuses the cursor %s with BAD_USER_INPUT on after', async (_case, after) => {
      const error = expectRejected(await gql(api.baseUrl, ProjectsDocument, { first: 5, after }, as(t)), 'BAD_USER_INPUT');
      expect(error.extensions.fields?.map((f) => f.path)).toEqual(['after']);
    });

    it.each([101, -1])('refuses first: %d with BAD_USER_INPUT on first', async (first) => {
      const error = expectRejected(await gql(api.baseUrl, ProjectsDocument, { first }, as(t)), 'BAD_USER_INPUT');
      expect(error.extensions.fields?.map((f) => f.path)).toEqual(['first']);
    });
  });

  describe('GraphQL documents', () => {
    it.each([
      ['a syntax error', 'GRAPHQL_PARSE_FAILED', 'mutation { createProject(input: { name: "x" }) { id }'],
      ['an unknown field', 'GRAPHQL_VALIDATION_FAILED', 'mutation { createProject(input: { name: "x" }) { id secret } }'],
      ['an unknown argument', 'GRAPHQL_VALIDATION_FAILED', 'mutation { createProject(input: { name: "x", owner: "y" }) { id } }'],
    ])('answers %s with %s (HTTP 400)', async (_case, code, query) => {
      expectRejected(await gql(api.baseUrl, query, {}, as(t)), code, 400);
    });

    it('answers a variable of the wrong type with BAD_USER_INPUT', async () => {
      const query = 'query ($first: Int) { projects(first: $first) { totalCount } }';
      expectRejected(await gql(api.baseUrl, query, { first: 'ten' }, as(t)), 'BAD_USER_INPUT');
    });
  });
});
