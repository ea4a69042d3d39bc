import { startApp, type TestApp } from '../factories/app';
import { codes, gql } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  CreateProjectDocument,
  DeleteProjectDocument,
  LoginDocument,
  MeDocument,
  ProjectDocument,
  ProjectsDocument,
  UpdateProjectDocument,
  type ProjectsQuery,
} from '../generated/graphql';

describe('projects over HTTP', () => {
  let api: TestApp;
  let acme: TestTenant;

  beforeAll(async () => {
    api = await startApp();
    acme = await newTenant(api);
  });
  afterAll(() => api.close());

  it('logs in by subdomain and by header, and me answers with the admin', async () => {
    for (const via of [{ subdomain: acme.id }, { header: acme.id }]) {
      const login = await gql(api.baseUrl, LoginDocument, { email: acme.adminEmail.toUpperCase(), password: TEST_PASSWORD }, via);
      expect(login.body.errors).toBeUndefined();
      const me = await gql(api.baseUrl, MeDocument, {}, { ...via, token: login.body.data!.login.accessToken });
      expect(me.body.data?.me).toEqual({ id: acme.adminId, email: acme.adminEmail, role: 'ADMIN' });
    }
  });

  it('rejects a wrong password and an unknown email alike', async () => {
    const wrong = await gql(api.baseUrl, LoginDocument, { email: acme.adminEmail, password: 'not-the-password' }, { header: acme.id });
    const unknown = await gql(api.baseUrl, LoginDocument, { email: 'nobody@x.test', password: TEST_PASSWORD }, { header: acme.id });
    expect(codes(wrong.body)).toEqual(['UNAUTHENTICATED']);
    expect(unknown.body.errors?.[0]).toEqual(wrong.body.errors?.[0]);
  });

  it('creates, reads, updates and deletes a project', async () => {
    const via = { header: acme.id, token: acme.token };
    const created = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'Apollo', description: 'moon' } }, via);
    const project = created.body.data!.createProject;
    expect(project).toMatchObject({ name: 'Apollo', description: 'moon', owner: { id: acme.adminId, email: acme.adminEmail } });

    const read = await gql(api.baseUrl, ProjectDocument, { id: project.id }, via);
    expect(read.body.data?.project?.name).toBe('Apollo');

    const updated = await gql(api.baseUrl, UpdateProjectDocument, { id: project.id, input: { name: 'Artemis', description: null } }, via);
    expect(updated.body.data?.updateProject).toEqual({ id: project.id, name: 'Artemis', description: null });

    const deleted = await gql(api.baseUrl, DeleteProjectDocument, { id: project.id }, via);
    expect(deleted.body.data?.deleteProject).toBe(true);
    const gone = await gql(api.baseUrl, ProjectDocument, { id: project.id }, via);
    expect(gone.body.data?.project).toBeNull();
    const again = await gql(api.baseUrl, DeleteProjectDocument, { id: project.id }, via);
    expect(codes(again.body)).toEqual(['NOT_FOUND']);
  });

  it('pages newest first with opaque cursors and no gaps or repeats', async () => {
    const tenant = await newTenant(api);
    const via = { header: tenant.id, token: tenant.token };
    const names = Array.from({ length: 7 }, (_, i) => `p${i}`);
    for (const name of names) await gql(api.baseUrl, CreateProjectDocument, { input: { name } }, via);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const res = await gql(api.baseUrl, ProjectsDocument, { first: 3, after }, via);
      const connection: ProjectsQuery['projects'] = res.body.data!.projects;
      expect(connection.totalCount).toBe(7);
      seen.push(...connection.edges.map((e) => e.node.name));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual([...names].reverse());
  });

  it('defaults to 20 per page and refuses more than 100', async () => {
    const tenant = await newTenant(api);
    const via = { header: tenant.id, token: tenant.token };
    for (let i = 0; i < 21; i++) await gql(api.baseUrl, CreateProjectDocument, { input: { name: `n${i}` } }, via);
    const page = await gql(api.baseUrl, ProjectsDocument, {}, via);
    expect(page.body.data?.projects.edges).toHaveLength(20);
    expect(page.body.data?.projects.pageInfo.hasNextPage).toBe(true);
    const tooMany = await gql(api.baseUrl, ProjectsDocument, { first: 101 }, via);
    expect(codes(tooMany.body)).toEqual(['BAD_USER_INPUT']);
  });
});
