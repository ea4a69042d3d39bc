import { startApp, type TestApp } from '../factories/app';
import { codes, fieldPaths, gql, type Via } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  ArchiveProjectDocument,
  CreateProjectDocument,
  CreateTaskDocument,
  CreateUserDocument,
  ProjectsPageDocument,
  type ProjectOrder,
  type ProjectsPageQuery,
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
    const tenant = await newTenant(api, { plan: 'pro' });
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
    const tenant = await newTenant(api, { plan: 'pro' });
    const via = { header: tenant.id, token: tenant.token };
    for (let i = 0; i < 21; i++) await gql(api.baseUrl, CreateProjectDocument, { input: { name: `n${i}` } }, via);
    const page = await gql(api.baseUrl, ProjectsDocument, {}, via);
    expect(page.body.data?.projects.edges).toHaveLength(20);
    expect(page.body.data?.projects.pageInfo.hasNextPage).toBe(true);
    const tooMany = await gql(api.baseUrl, ProjectsDocument, { first: 101 }, via);
    expect(codes(tooMany.body)).toEqual(['BAD_USER_INPUT']);
  });

  describe('names, status, filters and orders', () => {
    let via: Via;
    let member: Via;
    const ids: Record<string, string> = {};
    const create = (name: string, as: Via = via) => gql(api.baseUrl, CreateProjectDocument, { input: { name } }, as);
    const names = async (variables: { filter?: object; orderBy?: ProjectOrder }, first = 2) => {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res = await gql(api.baseUrl, ProjectsPageDocument, { ...variables, first, after }, via);
        expect(res.body.errors).toBeUndefined();
        const connection: ProjectsPageQuery['projects'] = res.body.data!.projects;
        seen.push(...connection.edges.map((e) => e.node.name));
        if (!connection.pageInfo.hasNextPage) return seen;
        after = connection.pageInfo.endCursor;
      }
      throw new Error('too many pages');
    };

    beforeAll(async () => {
      const tenant = await newTenant(api, { plan: 'pro' });
      via = { header: tenant.id, token: tenant.token };
      const email = `member@${tenant.id}.test`;
      await gql(api.baseUrl, CreateUserDocument, { input: { email, name: 'M', role: 'MEMBER', password: 'a-member-password' } }, via);
      const login = await gql(api.baseUrl, LoginDocument, { email, password: 'a-member-password' }, { header: tenant.id });
      member = { header: tenant.id, token: login.body.data!.login.accessToken };
      for (const name of ['Beta', 'alpha', 'Gamma 100%', 'delta']) ids[name] = (await create(name)).body.data!.createProject.id;
    });

    it('refuses a duplicate name with CONFLICT on create and on rename, changing nothing', async () => {
      const before = await names({}, 100);
      expect(codes((await create('Beta')).body)).toEqual(['CONFLICT']);
      expect(codes((await create('  Beta  ')).body)).toEqual(['CONFLICT']);
      const rename = await gql(api.baseUrl, UpdateProjectDocument, { id: ids.alpha, input: { name: 'Beta' } }, via);
      expect(codes(rename.body)).toEqual(['CONFLICT']);
      expect(await names({}, 100)).toEqual(before);
      // Renaming a project to its own name is no conflict.
      expect(codes((await gql(api.baseUrl, UpdateProjectDocument, { id: ids.alpha, input: { name: 'alpha' } }, via)).body)).toEqual([]);
    });

    it('refuses blank and overlong names with the field named', async () => {
      for (const name of ['', '   ', 'x'.repeat(201)]) {
        const res = await create(name);
        expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
        expect(fieldPaths(res.body.errors![0])).toEqual(['name']);
      }
    });

    it('archives for the owner or an admin only, and an archived project takes no tasks', async () => {
      const mine = (await create('Member owned', member)).body.data!.createProject.id;
      expect(codes((await gql(api.baseUrl, ArchiveProjectDocument, { id: ids.delta }, member)).body)).toEqual(['FORBIDDEN']);
      const archived = await gql(api.baseUrl, ArchiveProjectDocument, { id: mine }, member);
      expect(archived.body.data?.archiveProject).toMatchObject({ id: mine, status: 'ARCHIVED' });
      expect((await gql(api.baseUrl, ArchiveProjectDocument, { id: ids.delta }, via)).body.data?.archiveProject.status).toBe('ARCHIVED');
      // Archiving twice is harmless.
      expect((await gql(api.baseUrl, ArchiveProjectDocument, { id: ids.delta }, via)).body.data?.archiveProject.status).toBe('ARCHIVED');
      expect(codes((await gql(api.baseUrl, ArchiveProjectDocument, { id: 'nope' }, via)).body)).toEqual(['NOT_FOUND']);
      expect(codes((await gql(api.baseUrl, CreateTaskDocument, { input: { projectId: ids.delta, title: 't' } }, via)).body)).toEqual(['CONFLICT']);
      expect(await names({ filter: { status: 'ARCHIVED' } })).toEqual(['Member owned', 'delta']);
    });

    it('filters by status and by a case-insensitive name substring, taking % literally', async () => {
      expect(await names({ filter: { status: 'ACTIVE' }, orderBy: { field: 'NAME', direction: 'ASC' } }, 100)).not.toContain('delta');
      expect(await names({ filter: { nameContains: 'ALP' } })).toEqual(['alpha']);
      expect(await names({ filter: { nameContains: '0%' } })).toEqual(['Gamma 100%']);
      expect(await names({ filter: { nameContains: '%' } })).toEqual(['Gamma 100%']);
      expect(await names({ filter: { nameContains: 'a', status: 'ARCHIVED' } })).toEqual(['delta']);
      const total = await gql(api.baseUrl, ProjectsPageDocument, { first: 0, filter: { nameContains: 'a' } }, via);
      expect(total.body.data?.projects.totalCount).toBe(4);
    });

    it('orders by NAME, CREATED_AT and UPDATED_AT in both directions across pages', async () => {
      const all = ['alpha', 'Beta', 'Gamma 100%', 'delta'];
      const byName = await names({ orderBy: { field: 'NAME', direction: 'ASC' }, filter: { nameContains: 'a' } }, 1);
      expect([...byName].sort()).toEqual([...all].sort());
      expect(await names({ orderBy: { field: 'NAME', direction: 'DESC' }, filter: { nameContains: 'a' } }, 3)).toEqual([...byName].reverse());
      expect(await names({ orderBy: { field: 'CREATED_AT', direction: 'ASC' }, filter: { nameContains: 'a' } })).toEqual(['Beta', 'alpha', 'Gamma 100%', 'delta']);
      await gql(api.baseUrl, UpdateProjectDocument, { id: ids.Beta, input: { description: 'touched' } }, via);
      expect((await names({ orderBy: { field: 'UPDATED_AT', direction: 'DESC' } }))[0]).toBe('Beta');
    });

    it('refuses a cursor issued for another order', async () => {
      const page = await gql(api.baseUrl, ProjectsPageDocument, { first: 1, orderBy: { field: 'NAME', direction: 'ASC' } }, via);
      const after = page.body.data!.projects.pageInfo.endCursor;
      const res = await gql(api.baseUrl, ProjectsPageDocument, { first: 1, after, orderBy: { field: 'UPDATED_AT', direction: 'ASC' } }, via);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(fieldPaths(res.body.errors![0])).toEqual(['after']);
    });
  });
});
