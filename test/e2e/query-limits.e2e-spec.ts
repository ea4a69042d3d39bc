import { statSync } from 'node:fs';
import { request } from 'node:http';
import { MAX_BODY_BYTES } from '../../src/bootstrap';
import { startApp, type TestApp } from '../factories/app';
import { gql, headersFor, post, type GraphqlBody, type HttpResult, type Via } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument } from '../generated/graphql';

type Body = GraphqlBody<Record<string, unknown>>;

/** GETs `path` with exactly `headers` (no content-type), as a browser's simple cross-site request would. */
function get(baseUrl: string, path: string, headers: Record<string, string>): Promise<HttpResult<string>> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function parsed(res: HttpResult<string>): HttpResult<Body> {
  return { ...res, body: JSON.parse(res.body) as Body };
}

function expectAccepted(res: HttpResult<Body>): Record<string, unknown> {
  expect(res.body.errors).toBeUndefined();
  expect(res.status).toBe(200);
  return res.body.data!;
}

/** Rejected before execution: HTTP 400, no data at all, QUERY_TOO_COMPLEX with the limit and the measured value. */
function expectTooComplex(res: HttpResult<Body>, measure: string, limit: number, measured: number): void {
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors).toHaveLength(1);
  const [error] = res.body.errors!;
  expect(error.extensions).toEqual({ code: 'QUERY_TOO_COMPLEX', measure, limit, measured });
  expect(error.message).toContain(String(limit));
  expect(error.message).toContain(String(measured));
}

function expectCode(res: HttpResult<Body>, code: string, status: number): Body['errors'] {
  expect(res.status).toBe(status);
  expect(res.body.errors?.[0]?.extensions?.code).toBe(code);
  expect(JSON.stringify(res.body)).not.toMatch(/stacktrace| at /i);
  return res.body.errors;
}

// The schema's own types nest at most 5 deep (projects → edges → node → owner → id), so depth is probed through
// introspection, which counts like any other selection: __type(1) fields(2) type(3) ofType × n, name.
const depthQuery = (depth: number) => `{ __type(name: "Project") { fields { type { ${'ofType { '.repeat(depth - 4)}name ${'} '.repeat(depth - 4)}} } } }`;

const aliasQuery = (count: number, field = 'me { id }') => `{ ${Array.from({ length: count }, (_, i) => `a${i + 1}: ${field}`).join(' ')} }`;

// Cost (query-measures.ts): a field costs 1 plus its selection's cost times its page size (`first`, else 1).
// node = 1 + 4 scalars + owner (1 + 3) = 9; edges = 1 + 9 = 10; projects(first: n) = 1 + n × 10.
const page = 'edges { node { id name description createdAt owner { id email role } } }';
const costQuery = (extraTypenames: number) =>
  `{ a: projects(first: 100) { ${page} } b: projects(first: 100) { ${page} } c: projects(first: 100) { ${page} }
     d: projects(first: 100) { ${page} } e: projects(first: 99) { ${page} } me { id email role } __typename
     ${Array.from({ length: extraTypenames }, (_, i) => `t${i}: __typename`).join(' ')} }`;
const COST_AT_LIMIT = 4 * 1001 + 991 + 4 + 1;

// Tokens: `query Qn { me { id } }` is 8 tokens, so 250 operations are exactly 2,000 (one of them runs).
const tokenDocument = (extra: string) =>
  Array.from({ length: 250 }, (_, i) => `query Q${i} { me { id ${i === 0 ? extra : ''}} }`).join('\n');

describe('query limits and HTTP hardening', () => {
  let api: TestApp;
  let t: TestTenant;

  const as = (): Via => ({ header: t.id, token: t.token });
  const run = (query: string, variables: Record<string, unknown> = {}) => gql<Record<string, unknown>, Record<string, unknown>>(api.baseUrl, query, variables, as());
  const postBody = async (body: string, headers: Record<string, string> = {}) =>
    parsed(await post(api.baseUrl, '/graphql', body, { ...headersFor(as(), api.port), ...headers }));
  const totalCount = async () => ((await run('{ projects { totalCount } }')).body.data!.projects as { totalCount: number }).totalCount;

  beforeAll(async () => {
    api = await startApp();
    t = await newTenant(api);
    await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'Counted' } }, as());
  });
  afterAll(() => api.close());

  describe('depth 10', () => {
    it('answers a query of depth 10', async () => {
      const data = expectAccepted(await run(depthQuery(10)));
      expect(data.__type).toMatchObject({ fields: expect.any(Array) });
    });

    it('refuses depth 11 with QUERY_TOO_COMPLEX', async () => {
      expectTooComplex(await run(depthQuery(11)), 'depth', 10, 11);
    });

    it('expands fragments when measuring depth', async () => {
      const inner = `fragment Deep on __Type { ${'ofType { '.repeat(7)}name ${'} '.repeat(7)}}`;
      expectTooComplex(await run(`{ __type(name: "Project") { fields { type { ...Deep } } } } ${inner}`), 'depth', 10, 11);
    });
  });

  describe('aliases 30', () => {
    it('answers 30 aliased fields', async () => {
      const data = expectAccepted(await run(aliasQuery(30)));
      expect(Object.keys(data)).toHaveLength(30);
      expect(data.a30).toEqual({ id: t.adminId });
    });

    it('refuses 31 aliased fields with QUERY_TOO_COMPLEX', async () => {
      expectTooComplex(await run(aliasQuery(31)), 'aliases', 30, 31);
    });

    it('runs none of 31 aliased mutations', async () => {
      const before = await totalCount();
      expectTooComplex(await run(`mutation ${aliasQuery(31, 'createProject(input: { name: "alias" }) { id }')}`), 'aliases', 30, 31);
      expect(await totalCount()).toBe(before);
    });
  });

  describe('cost 5,000', () => {
    it(`answers a query costing exactly ${COST_AT_LIMIT}`, async () => {
      expect(COST_AT_LIMIT).toBe(5000);
      const data = expectAccepted(await run(costQuery(0)));
      expect((data.a as { edges: unknown[] }).edges).toHaveLength(1);
      expect(data.me).toEqual({ id: t.adminId, email: t.adminEmail, role: 'ADMIN' });
    });

    it('refuses a query costing 5,001 with QUERY_TOO_COMPLEX', async () => {
      expectTooComplex(await run(costQuery(1)), 'cost', 5000, 5001);
    });

    it('costs a variable page size at its maximum, 100, since validation runs before variables are known', async () => {
      const query = `query ($n: Int) { ${['a', 'b', 'c', 'd', 'e'].map((a) => `${a}: projects(first: $n) { ${page} }`).join(' ')} }`;
      expectTooComplex(await run(query, { n: 1 }), 'cost', 5000, 5 * 1001);
    });
  });

  describe('tokens 2,000', () => {
    it('answers a document of exactly 2,000 tokens', async () => {
      const data = expectAccepted(await postBody(JSON.stringify({ query: tokenDocument(''), operationName: 'Q0' })));
      expect(data.me).toEqual({ id: t.adminId });
    });

    it('refuses 2,001 tokens with QUERY_TOO_COMPLEX', async () => {
      const res = await postBody(JSON.stringify({ query: tokenDocument('email'), operationName: 'Q0' }));
      expectTooComplex(res, 'tokens', 2000, 2001);
    });
  });

  describe('body 100 KiB', () => {
    // Whitespace outside the JSON strings pads the body to an exact size.
    const sized = (bytes: number) => {
      const body = JSON.stringify({ query: '{ me { id } }' });
      return `${body.slice(0, -1)}${' '.repeat(bytes - body.length)}}`;
    };

    it('answers a body of exactly 100 KiB', async () => {
      expect(MAX_BODY_BYTES).toBe(100 * 1024);
      expect(Buffer.byteLength(sized(MAX_BODY_BYTES))).toBe(102_400);
      expect(expectAccepted(await postBody(sized(MAX_BODY_BYTES))).me).toEqual({ id: t.adminId });
    });

    it('refuses one byte more with PAYLOAD_TOO_LARGE (HTTP 413)', async () => {
      expectCode(await postBody(sized(MAX_BODY_BYTES + 1)), 'PAYLOAD_TOO_LARGE', 413);
    });
  });

  describe('transport', () => {
    it('refuses a batch (a JSON array) with BAD_REQUEST and runs none of it', async () => {
      const before = await totalCount();
      const op = { query: 'mutation { createProject(input: { name: "batched" }) { id } }' };
      expectCode(await postBody(JSON.stringify([op, op])), 'BAD_REQUEST', 400);
      expect(await totalCount()).toBe(before);
    });

    it('refuses a GET without a preflight header as a possible CSRF (BAD_REQUEST, HTTP 400)', async () => {
      const headers = headersFor(as(), api.port);
      const res = parsed(await get(api.baseUrl, `/graphql?query=${encodeURIComponent('{ me { id } }')}`, headers));
      const [error] = expectCode(res, 'BAD_REQUEST', 400)!;
      expect(error.message).toMatch(/Cross-Site Request Forgery/);
      expect(res.body.data).toBeUndefined();
    });

    it('answers the same GET with a preflight header (the control)', async () => {
      const headers = { ...headersFor(as(), api.port), 'apollo-require-preflight': 'true' };
      const res = parsed(await get(api.baseUrl, `/graphql?query=${encodeURIComponent('{ me { id } }')}`, headers));
      expect(expectAccepted(res).me).toEqual({ id: t.adminId });
    });

    it('refuses a text/plain POST as a possible CSRF and runs nothing', async () => {
      const before = await totalCount();
      const body = JSON.stringify({ query: 'mutation { createProject(input: { name: "csrf" }) { id } }' });
      expectCode(await postBody(body, { 'content-type': 'text/plain' }), 'BAD_REQUEST', 400);
      expect(await totalCount()).toBe(before);
    });

    it('offers introspection and field suggestions outside production', async () => {
      expect(expectAccepted(await run('{ __schema { queryType { name } } }'))).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const [error] = expectCode(await run('{ me { emial } }'), 'GRAPHQL_VALIDATION_FAILED', 400)!;
      expect(error.message).toMatch(/Did you mean "email"\?/);
      const mutation = 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }';
      const [variableError] = expectCode(await run(mutation, { input: { name: 'ok', nmae: 'x' } }), 'BAD_USER_INPUT', 400)!;
      expect(variableError.message).toMatch(/Did you mean "name"\?/);
    });
  });
});

describe('in production', () => {
  let api: TestApp;
  let t: TestTenant;
  let schemaWrittenAt: number;

  const as = (): Via => ({ header: t.id, token: t.token });
  const run = (query: string) => gql<Record<string, unknown>, Record<string, unknown>>(api.baseUrl, query, {}, as());

  beforeAll(async () => {
    const schemaFile = `${__dirname}/../../schema.gql`;
    schemaWrittenAt = statSync(schemaFile).mtimeMs;
    api = await startApp({ NODE_ENV: 'production' });
    t = await newTenant(api);
  });
  afterAll(() => api.close());

  it('serves ordinary queries and leaves schema.gql alone', async () => {
    expect(api.config.nodeEnv).toBe('production');
    expect(expectAccepted(await run('{ me { id } }')).me).toEqual({ id: t.adminId });
    expect(statSync(api.config.paths.schemaFile).mtimeMs).toBe(schemaWrittenAt);
  });

  it.each(['{ __schema { queryType { name } } }', '{ __type(name: "Project") { name } }'])('refuses introspection: %s', async (query) => {
    expectCode(await run(query), 'GRAPHQL_VALIDATION_FAILED', 400);
  });

  it('names no field suggestions', async () => {
    const [error] = expectCode(await run('{ me { emial } }'), 'GRAPHQL_VALIDATION_FAILED', 400)!;
    expect(error.message).toBe('Cannot query field "emial" on type "User".');
  });

  it('names no suggestions for a misspelled input field given as a variable', async () => {
    const query = 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }';
    const res = await gql<Record<string, unknown>, Record<string, unknown>>(api.baseUrl, query, { input: { name: 'ok', nmae: 'x' } }, as());
    const [error] = expectCode(res, 'BAD_USER_INPUT', 400)!;
    expect(error.message).toMatch(/Field "nmae" is not defined by type "CreateProjectInput"\.$/);
  });

  it('shows no landing page', async () => {
    const res = await get(api.baseUrl, '/graphql', { ...headersFor(as(), api.port), accept: 'text/html' });
    expect(res.headers['content-type']).not.toMatch(/html/);
    expect(res.body).not.toMatch(/<html|<!doctype/i);
    expect(res.status).toBe(400);
  });

  it('still enforces the query limits', async () => {
    expectTooComplex(await run(aliasQuery(31)), 'aliases', 30, 31);
  });
});
