import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildSchema } from 'graphql';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql, type GraphqlBody, type HttpResult, type Via } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  CreateProjectDocument,
  DeleteProjectDocument,
  IsolationProjectIdsDocument,
  LoginDocument,
  MeDocument,
  ProjectDocument,
  UpdateProjectDocument,
  type ProjectQuery,
} from '../generated/graphql';

// Tenant A writes; tenant B, with its own valid token on its own endpoint, must never see or touch A's rows.
const T = {
  list: "B's projects list holds B's rows only",
  read: "B reads A's project as null, like an absent id",
  update: "B updating A's project is NOT_FOUND exactly like an absent id, and A's project is unchanged",
  delete: "B deleting A's project is NOT_FOUND exactly like an absent id, and A's project is unchanged",
  create: "a project B creates stays out of A's list",
  me: "me with B's token answers with B's admin only",
  login: "login on B with A's admin credentials is UNAUTHENTICATED, like an unknown email",
  foreignToken: (field: string) => `A's token on B's endpoint is UNAUTHENTICATED: ${field}`,
};

/** Every Query and Mutation field → the cross-tenant tests covering it. A new field without an entry fails the build. */
const COVERAGE: Record<string, string[]> = {
  'Query.me': [T.me, T.foreignToken('me')],
  'Query.projects': [T.list, T.foreignToken('projects')],
  'Query.project': [T.read, T.foreignToken('project')],
  'Mutation.createProject': [T.create, T.foreignToken('createProject')],
  'Mutation.updateProject': [T.update, T.foreignToken('updateProject')],
  'Mutation.deleteProject': [T.delete, T.foreignToken('deleteProject')],
  'Mutation.login': [T.login, T.foreignToken('login')],
};

const TRANSPORTS: [string, (tenant: TestTenant) => Via][] = [
  ['subdomain', (tenant) => ({ subdomain: tenant.id, token: tenant.token })],
  ['header', (tenant) => ({ header: tenant.id, token: tenant.token })],
];

const registered = new Set<string>();
const key = (transport: string, title: string) => `${transport} › ${title}`;

type Result = HttpResult<GraphqlBody<unknown>>;

/** The error as a client sees it, minus where it happened in the query. */
function errorOf(res: Result) {
  expect(res.body.errors).toHaveLength(1);
  const { path: _path, locations: _locations, ...rest } = res.body.errors![0] as Record<string, unknown>;
  return { status: res.status, data: res.body.data, error: rest };
}

describe('tenant isolation over HTTP', () => {
  let api: TestApp;
  let a: TestTenant;
  let b: TestTenant;
  let aProject: NonNullable<ProjectQuery['project']>;
  let bProject: NonNullable<ProjectQuery['project']>;
  const bIds: string[] = [];
  const aIds: string[] = [];

  const run = <D, V>(document: TypedDocumentNode<D, V>, variables: V, via: Via) => gql(api.baseUrl, document, variables, via);

  async function createAs(tenant: TestTenant, name: string, ids: string[]) {
    const created = await run(CreateProjectDocument, { input: { name, description: `${name} secret` } }, { header: tenant.id, token: tenant.token });
    const id = created.body.data!.createProject.id;
    ids.push(id);
    return (await run(ProjectDocument, { id }, { header: tenant.id, token: tenant.token })).body.data!.project!;
  }

  const readAs = async (tenant: TestTenant, id: string) => (await run(ProjectDocument, { id }, { header: tenant.id, token: tenant.token })).body.data?.project;
  const idsAs = async (tenant: TestTenant) => {
    const res = await run(IsolationProjectIdsDocument, {}, { header: tenant.id, token: tenant.token });
    return { totalCount: res.body.data!.projects.totalCount, ids: res.body.data!.projects.edges.map((e) => e.node.id).sort() };
  };

  beforeAll(async () => {
    api = await startApp();
    [a, b] = await Promise.all([newTenant(api), newTenant(api)]);
    aProject = await createAs(a, 'Area 51', aIds);
    bProject = await createAs(b, 'Bravo', bIds);
  });
  afterAll(() => api.close());

  describe.each(TRANSPORTS)('by %s', (transport, viaOf) => {
    const crossTenant = (title: string, fn: () => Promise<void>) => {
      registered.add(key(transport, title));
      it(title, fn);
    };

    crossTenant(T.list, async () => {
      const res = await run(IsolationProjectIdsDocument, {}, viaOf(b));
      expect(res.body.errors).toBeUndefined();
      const ids = res.body.data!.projects.edges.map((e) => e.node.id).sort();
      expect(ids).toEqual([...bIds].sort());
      expect(res.body.data!.projects.totalCount).toBe(bIds.length);
      expect(ids).not.toContain(aProject.id);
    });

    crossTenant(T.read, async () => {
      const foreign = await run(ProjectDocument, { id: aProject.id }, viaOf(b));
      const absent = await run(ProjectDocument, { id: randomUUID() }, viaOf(b));
      expect(foreign.body).toEqual({ data: { project: null } });
      expect(foreign.body).toEqual(absent.body);
      expect(foreign.status).toBe(absent.status);
    });

    crossTenant(T.update, async () => {
      const input = { name: 'pwned', description: null };
      const foreign = await run(UpdateProjectDocument, { id: aProject.id, input }, viaOf(b));
      const absent = await run(UpdateProjectDocument, { id: randomUUID(), input }, viaOf(b));
      expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
      expect(errorOf(foreign)).toEqual(errorOf(absent));
      expect(await readAs(a, aProject.id)).toEqual(aProject);
    });

    crossTenant(T.delete, async () => {
      const foreign = await run(DeleteProjectDocument, { id: aProject.id }, viaOf(b));
      const absent = await run(DeleteProjectDocument, { id: randomUUID() }, viaOf(b));
      expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
      expect(errorOf(foreign)).toEqual(errorOf(absent));
      expect(await readAs(a, aProject.id)).toEqual(aProject);
    });

    crossTenant(T.create, async () => {
      const aBefore = await idsAs(a);
      const created = await run(CreateProjectDocument, { input: { name: `B via ${transport}` } }, viaOf(b));
      const id = created.body.data!.createProject.id;
      bIds.push(id);
      expect(created.body.data!.createProject.owner.id).toBe(b.adminId);
      expect(await idsAs(a)).toEqual(aBefore);
      expect(await readAs(a, id)).toBeNull();
      expect((await idsAs(b)).ids).toContain(id);
    });

    crossTenant(T.me, async () => {
      const res = await run(MeDocument, {}, viaOf(b));
      expect(res.body).toEqual({ data: { me: { id: b.adminId, email: b.adminEmail, role: 'ADMIN' } } });
    });

    crossTenant(T.login, async () => {
      const { token: _token, ...endpoint } = viaOf(b);
      const foreign = await run(LoginDocument, { email: a.adminEmail, password: TEST_PASSWORD }, endpoint);
      const unknown = await run(LoginDocument, { email: `nobody@${b.id}.test`, password: TEST_PASSWORD }, endpoint);
      expect(codes(foreign.body)).toEqual(['UNAUTHENTICATED']);
      expect(errorOf(foreign)).toEqual(errorOf(unknown));
    });

    // A's genuine token, sent to B's endpoint, aimed at B's data.
    const foreignTokenCalls: Record<string, () => Promise<Result>> = {
      me: () => run(MeDocument, {}, { ...viaOf(b), token: a.token }),
      projects: () => run(IsolationProjectIdsDocument, {}, { ...viaOf(b), token: a.token }),
      project: () => run(ProjectDocument, { id: bProject.id }, { ...viaOf(b), token: a.token }),
      createProject: () => run(CreateProjectDocument, { input: { name: 'from A' } }, { ...viaOf(b), token: a.token }),
      updateProject: () => run(UpdateProjectDocument, { id: bProject.id, input: { name: 'from A' } }, { ...viaOf(b), token: a.token }),
      deleteProject: () => run(DeleteProjectDocument, { id: bProject.id }, { ...viaOf(b), token: a.token }),
      login: () => run(LoginDocument, { email: a.adminEmail, password: TEST_PASSWORD }, { ...viaOf(b), token: a.token }),
    };
    for (const [field, call] of Object.entries(foreignTokenCalls)) {
      crossTenant(T.foreignToken(field), async () => {
        const before = await idsAs(b);
        const res = await call();
        expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
        // Nothing of B's comes back: `data` is null, or holds only a nulled nullable field.
        expect(Object.values(res.body.data ?? {}).filter((value) => value !== null)).toEqual([]);
        expect(await idsAs(b)).toEqual(before);
        expect(await readAs(b, bProject.id)).toEqual(bProject);
      });
    }
  });

  it('every Query and Mutation field in schema.gql has cross-tenant tests, registered for every transport', () => {
    const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.gql'), 'utf8'));
    const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : [],
    );
    expect(fields.length).toBeGreaterThan(0);
    expect(fields.filter((field) => !COVERAGE[field]?.length)).toEqual([]);
    expect(Object.keys(COVERAGE).filter((field) => !fields.includes(field))).toEqual([]);
    const unregistered = Object.values(COVERAGE)
      .flat()
      .flatMap((title) => TRANSPORTS.map(([transport]) => key(transport, title)))
      .filter((title) => !registered.has(title));
    expect(unregistered).toEqual([]);
  });
});
