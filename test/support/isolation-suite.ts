import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { buildSchema } from 'graphql';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp } from '../factories/app';
import { codes, gql, type GraphqlBody, type HttpResult, type Via } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  ArchiveProjectDocument,
  AuditLogDocument,
  ChangePasswordDocument,
  CreateTaskDocument,
  DeleteTaskDocument,
  IsolationTaskIdsDocument,
  TaskDocument,
  TasksDocument,
  UpdateTaskDocument,
  type TaskQuery,
  ChangeUserRoleDocument,
  CreateProjectDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DeleteProjectDocument,
  IsolationProjectIdsDocument,
  IsolationUserIdsDocument,
  LoginDocument,
  LoginSessionDocument,
  LogoutDocument,
  MeDocument,
  ProjectDocument,
  RefreshSessionDocument,
  UpdateMeDocument,
  UpdateProjectDocument,
  UserDocument,
  type ProjectQuery,
  type UserQuery,
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
  users: "B's users list holds B's users only",
  user: "B reads A's user as null, like an absent id",
  createUser: "a user B creates stays out of A's list, even with an email A already uses",
  updateMe: "updateMe on B changes B's user only",
  changeUserRole: "B changing the role of A's user is NOT_FOUND exactly like an absent id, and A's user is unchanged",
  deactivateUser: "B deactivating A's user is NOT_FOUND exactly like an absent id, and A's user can still log in",
  changePassword: "changePassword on B changes B's password only",
  tasks: "B's tasks list holds B's tasks only",
  task: "B reads A's task as null, like an absent id",
  createTask: "B creating a task in A's project, or assigning A's user, is NOT_FOUND like an absent id; B's own task stays out of A's list",
  updateTask: "B updating A's task, or assigning A's user to B's task, is NOT_FOUND like an absent id, and nothing changes",
  deleteTask: "B deleting A's task is NOT_FOUND exactly like an absent id, and A's task is unchanged",
  archiveProject: "B archiving A's project is NOT_FOUND exactly like an absent id, and A's project stays ACTIVE",
  refreshToken: "A's refresh token on B is UNAUTHENTICATED exactly like an unknown one, and still refreshes on A",
  logout: "logout on B with A's refresh token is UNAUTHENTICATED exactly like an unknown one, and A's session lives on",
  auditLog: "B's audit log holds B's entries only, and filtering by A's ids finds nothing",
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
  'Query.users': [T.users, T.foreignToken('users')],
  'Query.user': [T.user, T.foreignToken('user')],
  'Mutation.createUser': [T.createUser, T.foreignToken('createUser')],
  'Mutation.updateMe': [T.updateMe, T.foreignToken('updateMe')],
  'Mutation.changeUserRole': [T.changeUserRole, T.foreignToken('changeUserRole')],
  'Mutation.deactivateUser': [T.deactivateUser, T.foreignToken('deactivateUser')],
  'Mutation.changePassword': [T.changePassword, T.foreignToken('changePassword')],
  'Query.tasks': [T.tasks, T.foreignToken('tasks')],
  'Query.task': [T.task, T.foreignToken('task')],
  'Mutation.createTask': [T.createTask, T.foreignToken('createTask')],
  'Mutation.updateTask': [T.updateTask, T.foreignToken('updateTask')],
  'Mutation.deleteTask': [T.deleteTask, T.foreignToken('deleteTask')],
  'Mutation.archiveProject': [T.archiveProject, T.foreignToken('archiveProject')],
  'Mutation.refreshToken': [T.refreshToken, T.foreignToken('refreshToken')],
  'Mutation.logout': [T.logout, T.foreignToken('logout')],
  'Query.auditLog': [T.auditLog, T.foreignToken('auditLog')],
};

const MEMBER_PASSWORD = 'a-member-password';

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

/**
 * The cross-tenant suite: every Query and Mutation field, by subdomain and by header, against an API that `start`
 * brings up (directly on PostgreSQL in `npm test`, through PgBouncer in `npm run test:services`), with A and B
 * placed on the databases `placement` names (both on the primary by default).
 */
export function describeIsolation(title: string, start: () => Promise<TestApp>, placement: { a?: string; b?: string } = {}): void {
  describe(title, () => {
    let api: TestApp;
    let a: TestTenant;
    let b: TestTenant;
    let aProject: NonNullable<ProjectQuery['project']>;
    let bProject: NonNullable<ProjectQuery['project']>;
    let aUser: NonNullable<UserQuery['user']>;
    let bUser: NonNullable<UserQuery['user']>;
    let aTask: NonNullable<TaskQuery['task']>;
    let bTask: NonNullable<TaskQuery['task']>;
    const bTaskIds: string[] = [];
    const bIds: string[] = [];
    const aIds: string[] = [];
    const bUserIds: string[] = [];

    const run = <D, V>(document: TypedDocumentNode<D, V>, variables: V, via: Via) => gql(api.baseUrl, document, variables, via);

    async function createAs(tenant: TestTenant, name: string, ids: string[]) {
      const created = await run(CreateProjectDocument, { input: { name, description: `${name} secret` } }, { header: tenant.id, token: tenant.token });
      const id = created.body.data!.createProject.id;
      ids.push(id);
      return (await run(ProjectDocument, { id }, { header: tenant.id, token: tenant.token })).body.data!.project!;
    }

    async function createUserAs(tenant: TestTenant, email: string) {
      const created = await run(CreateUserDocument, { input: { email, name: `Member of ${tenant.id}`, role: 'MEMBER', password: MEMBER_PASSWORD } }, { header: tenant.id, token: tenant.token });
      if (!created.body.data) throw new Error(JSON.stringify(created.body));
      return created.body.data.createUser;
    }

    const readUserAs = async (tenant: TestTenant, id: string) => (await run(UserDocument, { id }, { header: tenant.id, token: tenant.token })).body.data?.user;
    const userIdsAs = async (tenant: TestTenant) => {
      const res = await run(IsolationUserIdsDocument, {}, { header: tenant.id, token: tenant.token });
      return { totalCount: res.body.data!.users.totalCount, ids: res.body.data!.users.edges.map((e) => e.node.id).sort() };
    };
    const canLogIn = async (tenant: TestTenant, email: string, password: string) =>
      (await run(LoginDocument, { email, password }, { header: tenant.id })).body.data?.login.user.email === email;

    /** A fresh refresh token of the tenant's admin. */
    const sessionOf = async (tenant: TestTenant) =>
      (await run(LoginSessionDocument, { email: tenant.adminEmail, password: TEST_PASSWORD }, { header: tenant.id })).body.data!.login.refreshToken;
    const stillRefreshes = async (tenant: TestTenant, token: string) =>
      (await run(RefreshSessionDocument, { token }, { header: tenant.id })).body.data?.refreshToken.user.id === tenant.adminId;

    const readAs = async (tenant: TestTenant, id: string) => (await run(ProjectDocument, { id }, { header: tenant.id, token: tenant.token })).body.data?.project;
    const idsAs = async (tenant: TestTenant) => {
      const res = await run(IsolationProjectIdsDocument, {}, { header: tenant.id, token: tenant.token });
      return { totalCount: res.body.data!.projects.totalCount, ids: res.body.data!.projects.edges.map((e) => e.node.id).sort() };
    };

    const readTaskAs = async (tenant: TestTenant, id: string) => (await run(TaskDocument, { id }, { header: tenant.id, token: tenant.token })).body.data?.task;
    const taskIdsAs = async (tenant: TestTenant) => {
      const res = await run(IsolationTaskIdsDocument, {}, { header: tenant.id, token: tenant.token });
      return { totalCount: res.body.data!.tasks.totalCount, ids: res.body.data!.tasks.edges.map((e) => e.node.id).sort() };
    };
    async function createTaskAs(tenant: TestTenant, projectId: string, assigneeId: string) {
      const created = await run(CreateTaskDocument, { input: { projectId, title: `Task of ${tenant.id}`, assigneeId } }, { header: tenant.id, token: tenant.token });
      if (!created.body.data) throw new Error(JSON.stringify(created.body));
      return created.body.data.createTask;
    }

    beforeAll(async () => {
      api = await start();
      // Room for every project and user these tests create.
      [a, b] = await Promise.all([
        newTenant(api, { plan: 'pro', database: placement.a }),
        newTenant(api, { plan: 'pro', database: placement.b }),
      ]);
      aProject = await createAs(a, 'Area 51', aIds);
      bProject = await createAs(b, 'Bravo', bIds);
      aUser = await createUserAs(a, `alpha-member@${a.id}.test`);
      bUser = await createUserAs(b, `bravo-member@${b.id}.test`);
      bUserIds.push(b.adminId, bUser.id);
      aTask = await createTaskAs(a, aProject.id, aUser.id);
      bTask = await createTaskAs(b, bProject.id, bUser.id);
      bTaskIds.push(bTask.id);
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

      crossTenant(T.users, async () => {
        const res = await run(IsolationUserIdsDocument, {}, viaOf(b));
        expect(res.body.errors).toBeUndefined();
        const ids = res.body.data!.users.edges.map((e) => e.node.id).sort();
        expect(ids).toEqual([...bUserIds].sort());
        expect(res.body.data!.users.totalCount).toBe(bUserIds.length);
        expect(ids).not.toContain(aUser.id);
        expect(ids).not.toContain(a.adminId);
      });

      crossTenant(T.user, async () => {
        const foreign = await run(UserDocument, { id: aUser.id }, viaOf(b));
        const absent = await run(UserDocument, { id: randomUUID() }, viaOf(b));
        expect(foreign.body).toEqual({ data: { user: null } });
        expect(foreign.body).toEqual(absent.body);
        expect(foreign.status).toBe(absent.status);
      });

      crossTenant(T.createUser, async () => {
        const email = `shared-${transport}@both.test`;
        const inA = await createUserAs(a, email);
        const aBefore = await userIdsAs(a);
        const created = await run(CreateUserDocument, { input: { email, name: 'B twin', role: 'MEMBER', password: MEMBER_PASSWORD } }, viaOf(b));
        expect(created.body.errors).toBeUndefined();
        const id = created.body.data!.createUser.id;
        bUserIds.push(id);
        expect(id).not.toBe(inA.id);
        expect(await userIdsAs(a)).toEqual(aBefore);
        expect(await readUserAs(a, id)).toBeNull();
        expect(await readUserAs(a, inA.id)).toEqual(inA);
        expect((await userIdsAs(b)).ids).toContain(id);
      });

      crossTenant(T.updateMe, async () => {
        const aAdminBefore = await readUserAs(a, a.adminId);
        const res = await run(UpdateMeDocument, { input: { name: `B admin via ${transport}` } }, viaOf(b));
        expect(res.body.data?.updateMe).toMatchObject({ id: b.adminId, email: b.adminEmail, name: `B admin via ${transport}` });
        expect(await readUserAs(a, a.adminId)).toEqual(aAdminBefore);
        expect(await readUserAs(a, aUser.id)).toEqual(aUser);
      });

      crossTenant(T.changeUserRole, async () => {
        const foreign = await run(ChangeUserRoleDocument, { id: aUser.id, role: 'ADMIN' }, viaOf(b));
        const absent = await run(ChangeUserRoleDocument, { id: randomUUID(), role: 'ADMIN' }, viaOf(b));
        expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreign)).toEqual(errorOf(absent));
        const foreignAdmin = await run(ChangeUserRoleDocument, { id: a.adminId, role: 'MEMBER' }, viaOf(b));
        expect(errorOf(foreignAdmin)).toEqual(errorOf(absent));
        expect(await readUserAs(a, aUser.id)).toEqual(aUser);
        expect((await readUserAs(a, a.adminId))?.role).toBe('ADMIN');
      });

      crossTenant(T.deactivateUser, async () => {
        const foreign = await run(DeactivateUserDocument, { id: aUser.id }, viaOf(b));
        const absent = await run(DeactivateUserDocument, { id: randomUUID() }, viaOf(b));
        expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreign)).toEqual(errorOf(absent));
        expect(await readUserAs(a, aUser.id)).toEqual(aUser);
        expect(await canLogIn(a, aUser.email, MEMBER_PASSWORD)).toBe(true);
      });

      crossTenant(T.changePassword, async () => {
        const changed = await run(ChangePasswordDocument, { currentPassword: TEST_PASSWORD, newPassword: `b-only-${transport}-password` }, viaOf(b));
        expect(changed.body).toEqual({ data: { changePassword: true } });
        expect(await canLogIn(a, a.adminEmail, TEST_PASSWORD)).toBe(true);
        expect(await canLogIn(b, b.adminEmail, `b-only-${transport}-password`)).toBe(true);
        const restored = await run(ChangePasswordDocument, { currentPassword: `b-only-${transport}-password`, newPassword: TEST_PASSWORD }, viaOf(b));
        expect(restored.body).toEqual({ data: { changePassword: true } });
      });

      crossTenant(T.tasks, async () => {
        const res = await run(IsolationTaskIdsDocument, {}, viaOf(b));
        expect(res.body.errors).toBeUndefined();
        const ids = res.body.data!.tasks.edges.map((e) => e.node.id).sort();
        expect(ids).toEqual([...bTaskIds].sort());
        expect(res.body.data!.tasks.totalCount).toBe(bTaskIds.length);
        expect(ids).not.toContain(aTask.id);
        for (const filter of [{ projectId: aProject.id }, { assigneeId: aUser.id }]) {
          const filtered = await run(TasksDocument, { filter }, viaOf(b));
          expect(filtered.body.data!.tasks).toMatchObject({ totalCount: 0, edges: [] });
        }
      });

      crossTenant(T.task, async () => {
        const foreign = await run(TaskDocument, { id: aTask.id }, viaOf(b));
        const absent = await run(TaskDocument, { id: randomUUID() }, viaOf(b));
        expect(foreign.body).toEqual({ data: { task: null } });
        expect(foreign.body).toEqual(absent.body);
        expect(foreign.status).toBe(absent.status);
      });

      crossTenant(T.createTask, async () => {
        const aBefore = await taskIdsAs(a);
        const inForeign = await run(CreateTaskDocument, { input: { projectId: aProject.id, title: 'pwned' } }, viaOf(b));
        const inAbsent = await run(CreateTaskDocument, { input: { projectId: randomUUID(), title: 'pwned' } }, viaOf(b));
        expect(codes(inForeign.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(inForeign)).toEqual(errorOf(inAbsent));
        const foreignAssignee = await run(CreateTaskDocument, { input: { projectId: bProject.id, title: 'x', assigneeId: aUser.id } }, viaOf(b));
        const absentAssignee = await run(CreateTaskDocument, { input: { projectId: bProject.id, title: 'x', assigneeId: randomUUID() } }, viaOf(b));
        expect(codes(foreignAssignee.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreignAssignee)).toEqual(errorOf(absentAssignee));
        expect(await taskIdsAs(a)).toEqual(aBefore);
        const created = await run(CreateTaskDocument, { input: { projectId: bProject.id, title: `B via ${transport}` } }, viaOf(b));
        const id = created.body.data!.createTask.id;
        bTaskIds.push(id);
        expect(await taskIdsAs(a)).toEqual(aBefore);
        expect(await readTaskAs(a, id)).toBeNull();
        expect((await taskIdsAs(b)).ids).toContain(id);
      });

      crossTenant(T.updateTask, async () => {
        const input = { title: 'pwned', status: 'DONE' as const };
        const foreign = await run(UpdateTaskDocument, { id: aTask.id, input }, viaOf(b));
        const absent = await run(UpdateTaskDocument, { id: randomUUID(), input }, viaOf(b));
        expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreign)).toEqual(errorOf(absent));
        const foreignAssignee = await run(UpdateTaskDocument, { id: bTask.id, input: { assigneeId: aUser.id } }, viaOf(b));
        const absentAssignee = await run(UpdateTaskDocument, { id: bTask.id, input: { assigneeId: randomUUID() } }, viaOf(b));
        expect(codes(foreignAssignee.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreignAssignee)).toEqual(errorOf(absentAssignee));
        expect(await readTaskAs(a, aTask.id)).toEqual(aTask);
        expect(await readTaskAs(b, bTask.id)).toEqual(bTask);
      });

      crossTenant(T.deleteTask, async () => {
        const foreign = await run(DeleteTaskDocument, { id: aTask.id }, viaOf(b));
        const absent = await run(DeleteTaskDocument, { id: randomUUID() }, viaOf(b));
        expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreign)).toEqual(errorOf(absent));
        expect(await readTaskAs(a, aTask.id)).toEqual(aTask);
      });

      crossTenant(T.archiveProject, async () => {
        const foreign = await run(ArchiveProjectDocument, { id: aProject.id }, viaOf(b));
        const absent = await run(ArchiveProjectDocument, { id: randomUUID() }, viaOf(b));
        expect(codes(foreign.body)).toEqual(['NOT_FOUND']);
        expect(errorOf(foreign)).toEqual(errorOf(absent));
        expect(await readAs(a, aProject.id)).toEqual(aProject);
      });

      crossTenant(T.refreshToken, async () => {
        const { token: _token, ...endpoint } = viaOf(b);
        const aToken = await sessionOf(a);
        const foreign = await run(RefreshSessionDocument, { token: aToken }, endpoint);
        const unknown = await run(RefreshSessionDocument, { token: randomUUID() }, endpoint);
        expect(codes(foreign.body)).toEqual(['UNAUTHENTICATED']);
        expect(errorOf(foreign)).toEqual(errorOf(unknown));
        expect(await stillRefreshes(a, aToken)).toBe(true);
      });

      crossTenant(T.logout, async () => {
        const { token: _token, ...endpoint } = viaOf(b);
        const aToken = await sessionOf(a);
        const foreign = await run(LogoutDocument, { refreshToken: aToken }, endpoint);
        const unknown = await run(LogoutDocument, { refreshToken: randomUUID() }, endpoint);
        expect(codes(foreign.body)).toEqual(['UNAUTHENTICATED']);
        expect(errorOf(foreign)).toEqual(errorOf(unknown));
        expect(await stillRefreshes(a, aToken)).toBe(true);
      });

      crossTenant(T.auditLog, async () => {
        const res = await run(AuditLogDocument, { first: 100 }, viaOf(b));
        expect(res.body.errors).toBeUndefined();
        const entries = res.body.data!.auditLog.edges.map((e) => e.node);
        expect(entries.length).toBeGreaterThan(0);
        const aIdsAll = [a.adminId, aUser.id, aProject.id, ...aIds];
        expect(entries.filter((entry) => aIdsAll.includes(entry.entityId ?? ''))).toEqual([]);
        expect(entries.filter((entry) => entry.actor && !bUserIds.includes(entry.actor.id))).toEqual([]);
        for (const filter of [{ entityId: aProject.id }, { actor: a.adminId }, { entityId: aUser.id }]) {
          const found = await run(AuditLogDocument, { filter }, viaOf(b));
          expect(found.body).toEqual((await run(AuditLogDocument, { filter: { entityId: randomUUID() } }, viaOf(b))).body);
          expect(found.body.data?.auditLog.totalCount).toBe(0);
        }
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
        users: () => run(IsolationUserIdsDocument, {}, { ...viaOf(b), token: a.token }),
        user: () => run(UserDocument, { id: bUser.id }, { ...viaOf(b), token: a.token }),
        createUser: () =>
          run(CreateUserDocument, { input: { email: `from-a@${b.id}.test`, name: 'A', role: 'ADMIN', password: MEMBER_PASSWORD } }, { ...viaOf(b), token: a.token }),
        updateMe: () => run(UpdateMeDocument, { input: { name: 'from A' } }, { ...viaOf(b), token: a.token }),
        changeUserRole: () => run(ChangeUserRoleDocument, { id: bUser.id, role: 'ADMIN' }, { ...viaOf(b), token: a.token }),
        deactivateUser: () => run(DeactivateUserDocument, { id: bUser.id }, { ...viaOf(b), token: a.token }),
        changePassword: () =>
          run(ChangePasswordDocument, { currentPassword: TEST_PASSWORD, newPassword: 'from-a-password' }, { ...viaOf(b), token: a.token }),
        tasks: () => run(IsolationTaskIdsDocument, {}, { ...viaOf(b), token: a.token }),
        task: () => run(TaskDocument, { id: bTask.id }, { ...viaOf(b), token: a.token }),
        createTask: () => run(CreateTaskDocument, { input: { projectId: bProject.id, title: 'from A' } }, { ...viaOf(b), token: a.token }),
        updateTask: () => run(UpdateTaskDocument, { id: bTask.id, input: { title: 'from A' } }, { ...viaOf(b), token: a.token }),
        deleteTask: () => run(DeleteTaskDocument, { id: bTask.id }, { ...viaOf(b), token: a.token }),
        archiveProject: () => run(ArchiveProjectDocument, { id: bProject.id }, { ...viaOf(b), token: a.token }),
        refreshToken: async () => run(RefreshSessionDocument, { token: await sessionOf(a) }, { ...viaOf(b), token: a.token }),
        logout: async () => run(LogoutDocument, { refreshToken: await sessionOf(a) }, { ...viaOf(b), token: a.token }),
        auditLog: () => run(AuditLogDocument, { first: 100 }, { ...viaOf(b), token: a.token }),
      };
      for (const [field, call] of Object.entries(foreignTokenCalls)) {
        crossTenant(T.foreignToken(field), async () => {
          const before = await idsAs(b);
          const usersBefore = await userIdsAs(b);
          const bAdminBefore = await readUserAs(b, b.adminId);
          const tasksBefore = await taskIdsAs(b);
          const bTaskBefore = await readTaskAs(b, bTask.id);
          const res = await call();
          expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
          // Nothing of B's comes back: `data` is null, or holds only a nulled nullable field.
          expect(Object.values(res.body.data ?? {}).filter((value) => value !== null)).toEqual([]);
          expect(await idsAs(b)).toEqual(before);
          expect(await readAs(b, bProject.id)).toEqual(bProject);
          expect(await userIdsAs(b)).toEqual(usersBefore);
          expect(await readUserAs(b, bUser.id)).toEqual(bUser);
          expect(await readUserAs(b, b.adminId)).toEqual(bAdminBefore);
          expect(await taskIdsAs(b)).toEqual(tasksBefore);
          expect(await readTaskAs(b, bTask.id)).toEqual(bTaskBefore);
          expect(await canLogIn(b, b.adminEmail, TEST_PASSWORD)).toBe(true);
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
}
