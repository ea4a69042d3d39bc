import { randomBytes, randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../factories/app';
import { codes, fieldPaths, gql, type Via } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import {
  ArchiveProjectDocument,
  CreateProjectDocument,
  CreateTaskDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DeleteProjectDocument,
  DeleteTaskDocument,
  LoginDocument,
  ProjectTasksDocument,
  TaskDocument,
  TasksDocument,
  UpdateTaskDocument,
  type CreateTaskInput,
  type TaskOrder,
  type TasksQuery,
} from '../generated/graphql';

const MEMBER_PASSWORD = 'a-member-password';

describe('tasks over HTTP', () => {
  let api: TestApp;
  let t: TestTenant;
  let admin: Via;
  let member: { id: string; via: Via };
  let other: { id: string; via: Via };
  let projectId: string;

  const run = <D, V>(document: Parameters<typeof gql<D, V>>[1], variables: V, via: Via) => gql(api.baseUrl, document, variables, via);

  async function newMember(tenant: TestTenant): Promise<{ id: string; via: Via }> {
    const email = `m-${randomBytes(4).toString('hex')}@${tenant.id}.test`;
    const created = await run(CreateUserDocument, { input: { email, name: 'Member', role: 'MEMBER', password: MEMBER_PASSWORD } }, { header: tenant.id, token: tenant.token });
    const login = await run(LoginDocument, { email, password: MEMBER_PASSWORD }, { header: tenant.id });
    return { id: created.body.data!.createUser.id, via: { header: tenant.id, token: login.body.data!.login.accessToken } };
  }
  async function newProject(via: Via, name = `P ${randomUUID()}`): Promise<string> {
    const res = await run(CreateProjectDocument, { input: { name } }, via);
    if (!res.body.data) throw new Error(JSON.stringify(res.body));
    return res.body.data.createProject.id;
  }
  async function newTask(via: Via, input: Partial<CreateTaskInput> & { projectId: string }) {
    const res = await run(CreateTaskDocument, { input: { title: `T ${randomUUID()}`, ...input } }, via);
    if (!res.body.data) throw new Error(JSON.stringify(res.body));
    return res.body.data.createTask;
  }
  const taskCount = async (via: Via) => (await run(TasksDocument, { first: 0 }, via)).body.data!.tasks.totalCount;

  beforeAll(async () => {
    api = await startApp();
    t = await newTenant(api, { plan: 'enterprise' });
    admin = { header: t.id, token: t.token };
    member = await newMember(t);
    other = await newMember(t);
    projectId = await newProject(admin, 'Admin project');
  });
  afterAll(() => api.close());

  it('creates, reads, updates and deletes a task with every field', async () => {
    const created = await newTask(admin, { projectId, title: '  Write docs ', description: 'all of them', status: 'IN_PROGRESS', dueDate: '2026-12-24', assigneeId: member.id });
    expect(created).toMatchObject({
      title: 'Write docs',
      description: 'all of them',
      status: 'IN_PROGRESS',
      dueDate: '2026-12-24',
      project: { id: projectId, name: 'Admin project' },
      assignee: { id: member.id },
    });
    expect((await run(TaskDocument, { id: created.id }, admin)).body.data?.task).toEqual(created);

    const updated = await run(UpdateTaskDocument, { id: created.id, input: { status: 'DONE', dueDate: null, assigneeId: null, description: null } }, admin);
    expect(updated.body.data?.updateTask).toMatchObject({ title: 'Write docs', status: 'DONE', dueDate: null, assignee: null, description: null });
    expect(new Date(updated.body.data!.updateTask.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.updatedAt).getTime());

    expect((await run(DeleteTaskDocument, { id: created.id }, admin)).body).toEqual({ data: { deleteTask: true } });
    expect((await run(TaskDocument, { id: created.id }, admin)).body).toEqual({ data: { task: null } });
    expect(codes((await run(DeleteTaskDocument, { id: created.id }, admin)).body)).toEqual(['NOT_FOUND']);
  });

  it.each<[string, Partial<CreateTaskInput>, string[]]>([
    ['a blank title', { title: '   ' }, ['title']],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, ['title']],
    ['a day that does not exist', { dueDate: '2026-02-30' }, ['dueDate']],
    ['a date that is not YYYY-MM-DD', { dueDate: 'tomorrow' }, ['dueDate']],
    ['a timestamp instead of a day', { dueDate: '2026-12-24T10:00:00Z' }, ['dueDate']],
    ['a description over 10,000 characters', { description: 'x'.repeat(10_001) }, ['description']],
  ])('refuses %s with BAD_USER_INPUT and creates nothing', async (_case, input, fields) => {
    const before = await taskCount(admin);
    const res = await run(CreateTaskDocument, { input: { projectId, title: 'ok', ...input } }, admin);
    expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
    expect(fieldPaths(res.body.errors![0])).toEqual(fields);
    expect(await taskCount(admin)).toBe(before);
  });

  it('refuses null title or status and an impossible dueDate on update, changing nothing', async () => {
    const task = await newTask(admin, { projectId, dueDate: '2026-01-31' });
    for (const [input, field] of [[{ title: null }, 'title'], [{ status: null }, 'status'], [{ dueDate: '2026-13-01' }, 'dueDate'], [{ title: '' }, 'title']] as const) {
      const res = await run(UpdateTaskDocument, { id: task.id, input }, admin);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(fieldPaths(res.body.errors![0])).toEqual([field]);
    }
    expect((await run(TaskDocument, { id: task.id }, admin)).body.data?.task).toEqual(task);
  });

  it('answers NOT_FOUND for an absent or malformed project, and for an unknown assignee', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      expect(codes((await run(CreateTaskDocument, { input: { projectId: id, title: 'x' } }, admin)).body)).toEqual(['NOT_FOUND']);
      expect(codes((await run(CreateTaskDocument, { input: { projectId, title: 'x', assigneeId: id } }, admin)).body)).toEqual(['NOT_FOUND']);
      expect(codes((await run(UpdateTaskDocument, { id, input: { title: 'x' } }, admin)).body)).toEqual(['NOT_FOUND']);
      expect((await run(TaskDocument, { id }, admin)).body).toEqual({ data: { task: null } });
    }
  });

  it('refuses to assign a deactivated user, on create and on update', async () => {
    const gone = await newMember(t);
    expect(codes((await run(DeactivateUserDocument, { id: gone.id }, admin)).body)).toEqual([]);
    const before = await taskCount(admin);
    const created = await run(CreateTaskDocument, { input: { projectId, title: 'x', assigneeId: gone.id } }, admin);
    expect(codes(created.body)).toEqual(['BAD_USER_INPUT']);
    expect(fieldPaths(created.body.errors![0])).toEqual(['assigneeId']);
    expect(await taskCount(admin)).toBe(before);
    const task = await newTask(admin, { projectId });
    const updated = await run(UpdateTaskDocument, { id: task.id, input: { assigneeId: gone.id } }, admin);
    expect(fieldPaths(updated.body.errors![0])).toEqual(['assigneeId']);
    expect((await run(TaskDocument, { id: task.id }, admin)).body.data?.task?.assignee).toBeNull();
  });

  it('lets a MEMBER manage tasks of their own project only; the assignee may update but not delete', async () => {
    const before = await taskCount(admin);
    const refused = await run(CreateTaskDocument, { input: { projectId, title: 'not mine' } }, member.via);
    expect(codes(refused.body)).toEqual(['FORBIDDEN']);
    expect(await taskCount(admin)).toBe(before);

    const own = await newProject(member.via);
    const mine = await newTask(member.via, { projectId: own, assigneeId: other.id });
    expect(mine.project.id).toBe(own);

    const adminsTask = await newTask(admin, { projectId, assigneeId: member.id });
    const byAssignee = await run(UpdateTaskDocument, { id: adminsTask.id, input: { status: 'IN_PROGRESS' } }, member.via);
    expect(byAssignee.body.data?.updateTask.status).toBe('IN_PROGRESS');
    const byStranger = await run(UpdateTaskDocument, { id: adminsTask.id, input: { status: 'DONE' } }, other.via);
    expect(codes(byStranger.body)).toEqual(['FORBIDDEN']);
    expect(codes((await run(DeleteTaskDocument, { id: adminsTask.id }, member.via)).body)).toEqual(['FORBIDDEN']);
    expect((await run(TaskDocument, { id: adminsTask.id }, admin)).body.data?.task?.status).toBe('IN_PROGRESS');

    // An admin may change and delete anyone's task.
    expect((await run(UpdateTaskDocument, { id: mine.id, input: { title: 'by admin' } }, admin)).body.data?.updateTask.title).toBe('by admin');
    expect((await run(DeleteTaskDocument, { id: mine.id }, admin)).body).toEqual({ data: { deleteTask: true } });
  });

  it('takes no new or changed tasks in an archived project, and deleting a project deletes its tasks', async () => {
    const archived = await newProject(admin);
    const task = await newTask(admin, { projectId: archived });
    expect((await run(ArchiveProjectDocument, { id: archived }, admin)).body.data?.archiveProject.status).toBe('ARCHIVED');
    expect(codes((await run(CreateTaskDocument, { input: { projectId: archived, title: 'late' } }, admin)).body)).toEqual(['CONFLICT']);
    expect(codes((await run(UpdateTaskDocument, { id: task.id, input: { title: 'late' } }, admin)).body)).toEqual(['CONFLICT']);

    const doomed = await newProject(admin);
    const doomedTask = await newTask(admin, { projectId: doomed });
    expect((await run(DeleteProjectDocument, { id: doomed }, admin)).body).toEqual({ data: { deleteProject: true } });
    expect((await run(TaskDocument, { id: doomedTask.id }, admin)).body).toEqual({ data: { task: null } });
  });

  describe('lists', () => {
    let via: Via;
    const ids: Record<string, string> = {};

    // A tenant of its own, so totals and orders are exact.
    beforeAll(async () => {
      const tenant = await newTenant(api, { plan: 'enterprise' });
      via = { header: tenant.id, token: tenant.token };
      const m = await newMember(tenant);
      const [p1, p2] = [await newProject(via, 'One'), await newProject(via, 'Two')];
      Object.assign(ids, { p1, p2, m: m.id, admin: tenant.adminId });
      const specs: [string, string, string | null, 'TODO' | 'DONE', string | null][] = [
        ['b', p1, '2026-03-01', 'TODO', m.id],
        ['a', p1, null, 'DONE', null],
        ['d', p2, '2026-01-15', 'TODO', m.id],
        ['c', p2, '2026-03-01', 'DONE', tenant.adminId],
        ['e', p1, null, 'TODO', null],
      ];
      for (const [title, projectId, dueDate, status, assigneeId] of specs) {
        ids[title] = (await newTask(via, { projectId, title, dueDate, status, assigneeId })).id;
      }
    });

    /** Every title, walking `first`-sized pages with endCursor. */
    async function walk(variables: { filter?: object; orderBy?: TaskOrder }, first = 2): Promise<string[]> {
      const titles: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res = await run(TasksDocument, { ...variables, first, after }, via);
        expect(res.body.errors).toBeUndefined();
        const connection: TasksQuery['tasks'] = res.body.data!.tasks;
        expect(connection.pageInfo.hasPreviousPage).toBe(after !== null);
        titles.push(...connection.edges.map((e) => e.node.title));
        if (!connection.pageInfo.hasNextPage) return titles;
        after = connection.pageInfo.endCursor;
      }
      throw new Error('too many pages');
    }

    it('pages newest first by default, with totalCount and no gaps or repeats', async () => {
      expect(await walk({})).toEqual(['e', 'c', 'd', 'a', 'b']);
      expect((await run(TasksDocument, { first: 1 }, via)).body.data?.tasks).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: true } });
    });

    // Equal due dates (b and c) fall back to id order; tasks without a due date (a and e) come last either way.
    const byId = (dir: 1 | -1) => (x: string, y: string) => (ids[x] < ids[y] ? -dir : dir);
    it.each<[string, TaskOrder, () => string[]]>([
      ['TITLE ASC', { field: 'TITLE', direction: 'ASC' }, () => ['a', 'b', 'c', 'd', 'e']],
      ['TITLE DESC', { field: 'TITLE', direction: 'DESC' }, () => ['e', 'd', 'c', 'b', 'a']],
      ['CREATED_AT ASC', { field: 'CREATED_AT', direction: 'ASC' }, () => ['b', 'a', 'd', 'c', 'e']],
      ['DUE_DATE ASC', { field: 'DUE_DATE', direction: 'ASC' }, () => ['d', ...['b', 'c'].sort(byId(1)), ...['a', 'e'].sort(byId(1))]],
      ['DUE_DATE DESC', { field: 'DUE_DATE', direction: 'DESC' }, () => [...['b', 'c'].sort(byId(-1)), 'd', ...['a', 'e'].sort(byId(-1))]],
    ])('orders by %s across pages', async (_name, orderBy, expected) => {
      expect(await walk({ orderBy })).toEqual(expected());
      expect(await walk({ orderBy }, 1)).toEqual(expected());
    });

    it('orders by UPDATED_AT, so a changed task moves to the front', async () => {
      expect((await run(UpdateTaskDocument, { id: ids.b, input: { description: 'touched' } }, via)).body.errors).toBeUndefined();
      expect((await walk({ orderBy: { field: 'UPDATED_AT', direction: 'DESC' } }))[0]).toBe('b');
    });

    it('filters by project, status and assignee, with matching totals', async () => {
      const cases: [object, string[]][] = [
        [{ projectId: ids.p1 }, ['e', 'a', 'b']],
        [{ status: 'DONE' }, ['c', 'a']],
        [{ assigneeId: ids.m }, ['d', 'b']],
        [{ projectId: ids.p2, status: 'TODO', assigneeId: ids.m }, ['d']],
        [{ projectId: randomUUID() }, []],
        [{ assigneeId: 'not-a-uuid' }, []],
      ];
      for (const [filter, titles] of cases) {
        expect(await walk({ filter })).toEqual(titles);
        expect((await run(TasksDocument, { filter, first: 0 }, via)).body.data?.tasks.totalCount).toBe(titles.length);
      }
    });

    it('refuses a cursor of another order, a forged cursor, and more than 100 per page', async () => {
      const byTitle = await run(TasksDocument, { first: 1, orderBy: { field: 'TITLE', direction: 'ASC' } }, via);
      const cursor = byTitle.body.data!.tasks.pageInfo.endCursor;
      for (const variables of [
        { after: cursor, orderBy: { field: 'DUE_DATE' as const, direction: 'ASC' as const } },
        { after: cursor, orderBy: { field: 'TITLE' as const, direction: 'DESC' as const } },
        { after: 'bm90IGEgY3Vyc29y' },
        { first: 101 },
      ]) {
        const res = await run(TasksDocument, variables, via);
        expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      }
    });

    it("pages a project's own tasks through Project.tasks", async () => {
      const first = await run(ProjectTasksDocument, { id: ids.p1, first: 2 }, via);
      const page = first.body.data!.project!.tasks;
      expect(page).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true, hasPreviousPage: false } });
      expect(page.edges.map((e) => e.node.title)).toEqual(['e', 'a']);
      const second = await run(ProjectTasksDocument, { id: ids.p1, first: 2, after: page.pageInfo.endCursor }, via);
      expect(second.body.data!.project!.tasks.edges.map((e) => e.node.title)).toEqual(['b']);
      expect(second.body.data!.project!.tasks.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    });
  });
});
