import { randomBytes } from 'node:crypto';
import { startApp, type TestApp } from '../factories/app';
import { codes, fieldPaths, gql, type Via } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  ArchiveProjectDocument,
  AuditLogDocument,
  CreateTaskDocument,
  DeleteTaskDocument,
  UpdateTaskDocument,
  ChangePasswordDocument,
  ChangeUserRoleDocument,
  CreateProjectDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  DeleteProjectDocument,
  LoginSessionDocument,
  LogoutDocument,
  RefreshSessionDocument,
  UpdateMeDocument,
  UpdateProjectDocument,
  type AuditFilter,
  type AuditLogQuery,
} from '../generated/graphql';

type Entry = AuditLogQuery['auditLog']['edges'][number]['node'];

const MEMBER_PASSWORD = 'member-password-1';
const NEW_PASSWORD = 'member-password-2';

describe('audit log over HTTP', () => {
  let api: TestApp;
  let acme: TestTenant;
  let admin: Via;
  let memberId: string;
  let memberEmail: string;
  let projectId: string;
  const secrets: string[] = [MEMBER_PASSWORD, NEW_PASSWORD, TEST_PASSWORD];

  const run = <D, V>(document: Parameters<typeof gql<D, V>>[1], variables: V, via: Via) => gql(api.baseUrl, document, variables, via);
  const ok = <T extends { body: { errors?: unknown; data?: unknown } }>(res: T): T => {
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    return res;
  };

  async function entries(filter?: AuditFilter): Promise<Entry[]> {
    const res = ok(await run(AuditLogDocument, { first: 100, filter }, admin));
    return res.body.data!.auditLog.edges.map((edge) => edge.node);
  }
  const one = async (action: string, entityId?: string) => {
    const found = await entries({ action, ...(entityId && { entityId }) });
    expect(found).toHaveLength(1);
    return found[0];
  };

  // One tenant, one story: every audited mutation once, then the log is read back.
  beforeAll(async () => {
    api = await startApp();
    acme = await newTenant(api);
    admin = { header: acme.id, token: acme.token };
    memberEmail = `member-${randomBytes(3).toString('hex')}@${acme.id}.test`;

    memberId = ok(await run(CreateUserDocument, { input: { email: memberEmail, name: 'Mem', role: 'MEMBER', password: MEMBER_PASSWORD } }, admin)).body
      .data!.createUser.id;
    ok(await run(ChangeUserRoleDocument, { id: memberId, role: 'ADMIN' }, admin));
    ok(await run(UpdateMeDocument, { input: { name: 'The Admin' } }, admin));
    projectId = ok(await run(CreateProjectDocument, { input: { name: 'Audited', description: 'v1' } }, admin)).body.data!.createProject.id;
    ok(await run(UpdateProjectDocument, { id: projectId, input: { name: 'Audited v2' } }, admin));
    ok(await run(DeleteProjectDocument, { id: projectId }, admin));

    const session = ok(await run(LoginSessionDocument, { email: memberEmail, password: MEMBER_PASSWORD }, { header: acme.id })).body.data!.login;
    secrets.push(session.accessToken, session.refreshToken);
    const member: Via = { header: acme.id, token: session.accessToken };
    ok(await run(ChangePasswordDocument, { currentPassword: MEMBER_PASSWORD, newPassword: NEW_PASSWORD }, member));
    expect(codes((await run(LoginSessionDocument, { email: memberEmail, password: 'not-the-password' }, { header: acme.id })).body)).toEqual([
      'UNAUTHENTICATED',
    ]);

    const again = ok(await run(LoginSessionDocument, { email: memberEmail, password: NEW_PASSWORD }, { header: acme.id })).body.data!.login;
    const rotated = ok(await run(RefreshSessionDocument, { token: again.refreshToken }, { header: acme.id })).body.data!.refreshToken;
    secrets.push(again.refreshToken, rotated.refreshToken, rotated.accessToken);
    // Presenting the spent token again: reuse.
    await run(RefreshSessionDocument, { token: again.refreshToken }, { header: acme.id });
    const third = ok(await run(LoginSessionDocument, { email: memberEmail, password: NEW_PASSWORD }, { header: acme.id })).body.data!.login;
    secrets.push(third.refreshToken);
    ok(await run(LogoutDocument, { refreshToken: third.refreshToken }, { header: acme.id }));
    ok(await run(ChangeUserRoleDocument, { id: memberId, role: 'MEMBER' }, admin));
    ok(await run(DeactivateUserDocument, { id: memberId }, admin));
  });
  afterAll(() => api.close());

  it('records user mutations with the acting admin and redacted before/after snapshots', async () => {
    const created = await one('user.create', memberId);
    expect(created).toMatchObject({ actor: { id: acme.adminId, email: acme.adminEmail }, entityType: 'User', before: null });
    expect(created.after).toMatchObject({ id: memberId, email: memberEmail, role: 'MEMBER', status: 'ACTIVE' });

    const roles = await entries({ action: 'user.role.change', entityId: memberId });
    expect(roles.map((entry) => [(entry.before as { role: string }).role, (entry.after as { role: string }).role])).toEqual([
      ['ADMIN', 'MEMBER'],
      ['MEMBER', 'ADMIN'],
    ]);

    const renamed = await one('user.update', acme.adminId);
    expect([(renamed.before as { name: string }).name, (renamed.after as { name: string }).name]).toEqual(['', 'The Admin']);

    const deactivated = await one('user.deactivate', memberId);
    expect([(deactivated.before as { status: string }).status, (deactivated.after as { status: string }).status]).toEqual(['ACTIVE', 'DEACTIVATED']);
  });

  it('records project create, update and delete', async () => {
    const log = await entries({ entityType: 'Project', entityId: projectId });
    expect(log.map((entry) => entry.action)).toEqual(['project.delete', 'project.update', 'project.create']);
    expect(log.every((entry) => entry.actor?.id === acme.adminId)).toBe(true);
    expect(log[1].before).toMatchObject({ name: 'Audited', description: 'v1' });
    expect(log[1].after).toMatchObject({ name: 'Audited v2', description: 'v1' });
    expect(log[0].after).toBeNull();
  });

  it('records task create, update and delete, and project archiving', async () => {
    const project = ok(await run(CreateProjectDocument, { input: { name: 'With tasks' } }, admin)).body.data!.createProject.id;
    const task = ok(await run(CreateTaskDocument, { input: { projectId: project, title: 'Draft' } }, admin)).body.data!.createTask.id;
    ok(await run(UpdateTaskDocument, { id: task, input: { title: 'Final', status: 'DONE' } }, admin));
    ok(await run(DeleteTaskDocument, { id: task }, admin));
    ok(await run(ArchiveProjectDocument, { id: project }, admin));

    const log = await entries({ entityType: 'Task', entityId: task });
    expect(log.map((entry) => entry.action)).toEqual(['task.delete', 'task.update', 'task.create']);
    expect(log[1].before).toMatchObject({ title: 'Draft', status: 'TODO' });
    expect(log[1].after).toMatchObject({ title: 'Final', status: 'DONE' });
    const archived = await one('project.archive', project);
    expect([(archived.before as { status: string }).status, (archived.after as { status: string }).status]).toEqual(['ACTIVE', 'ARCHIVED']);
  });

  it('records password changes, logins, failed logins, refresh-token reuse and logout', async () => {
    const password = await one('user.password.change', memberId);
    expect(password.actor?.id).toBe(memberId);
    expect(password.after).toEqual({ sessionsRevoked: 1 });
    const failed = await one('auth.login.fail', memberId);
    expect(failed.actor).toBeNull();
    expect((await entries({ action: 'auth.login', entityId: memberId })).length).toBe(3);
    const reuse = await one('auth.refresh.reuse');
    expect(reuse).toMatchObject({ actor: null, entityType: 'RefreshTokenFamily', after: { userId: memberId, revoked: true } });
    const logout = await one('auth.logout');
    expect(logout).toMatchObject({ actor: { id: memberId }, entityType: 'RefreshTokenFamily' });
    expect(logout.entityId).not.toBe(reuse.entityId);
  });

  it('never stores a password, a password hash or a token', async () => {
    const res = await run(AuditLogDocument, { first: 100 }, admin);
    const text = JSON.stringify(res.body);
    expect(res.body.data!.auditLog.totalCount).toBeGreaterThan(10);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/argon2|passwordHash|tokenHash/);
  });

  it('filters by actor, action, entity type and entity id together', async () => {
    const byMember = await entries({ actor: memberId });
    expect(byMember.length).toBeGreaterThan(0);
    expect(byMember.every((entry) => entry.actor?.id === memberId)).toBe(true);
    const combined = await entries({ actor: acme.adminId, action: 'user.role.change', entityType: 'User', entityId: memberId });
    expect(combined).toHaveLength(2);
    expect(await entries({ actor: memberId, action: 'user.create' })).toEqual([]);
  });

  it('pages newest first without gaps or repeats', async () => {
    const all = await entries();
    const seen: Entry[] = [];
    let after: string | null | undefined;
    do {
      const page = ok(await run(AuditLogDocument, { first: 4, after }, admin)).body.data!.auditLog;
      expect(page.totalCount).toBe(all.length);
      seen.push(...page.edges.map((edge) => edge.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
    } while (after);
    expect(seen.map((entry) => entry.id)).toEqual(all.map((entry) => entry.id));
    const times = all.map((entry) => Date.parse(entry.at));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it('is FORBIDDEN to a MEMBER, UNAUTHENTICATED without a token, and refuses a malformed actor id', async () => {
    const email = `reader-${randomBytes(3).toString('hex')}@${acme.id}.test`;
    ok(await run(CreateUserDocument, { input: { email, name: 'Reader', role: 'MEMBER', password: MEMBER_PASSWORD } }, admin));
    const token = ok(await run(LoginSessionDocument, { email, password: MEMBER_PASSWORD }, { header: acme.id })).body.data!.login.accessToken;
    const forbidden = await run(AuditLogDocument, {}, { header: acme.id, token });
    expect(codes(forbidden.body)).toEqual(['FORBIDDEN']);
    expect(forbidden.body.data).toBeNull();
    expect(codes((await run(AuditLogDocument, {}, { header: acme.id })).body)).toEqual(['UNAUTHENTICATED']);
    const malformed = await run(AuditLogDocument, { filter: { actor: 'nope' } }, admin);
    expect(codes(malformed.body)).toEqual(['BAD_USER_INPUT']);
    expect(fieldPaths(malformed.body.errors![0])).toEqual(['filter.actor']);
  });
});
