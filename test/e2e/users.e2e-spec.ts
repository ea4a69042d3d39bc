import { randomBytes, randomUUID } from 'node:crypto';
import { startApp, type TestApp } from '../factories/app';
import { codes, fieldPaths, gql, type Via } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import {
  ChangePasswordDocument,
  ChangeUserRoleDocument,
  CreateProjectDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  LoginDocument,
  MeProfileDocument,
  UpdateMeDocument,
  UserDocument,
  UsersDocument,
  type Role,
  type UsersQuery,
} from '../generated/graphql';

const PASSWORD = 'a-member-password';

interface Account {
  id: string;
  email: string;
  via: Via;
}

describe('users over HTTP', () => {
  let api: TestApp;
  let acme: TestTenant;
  let admin: Via;

  const run = <D, V>(document: Parameters<typeof gql<D, V>>[1], variables: V, via: Via) => gql(api.baseUrl, document, variables, via);

  /** Creates a user in `tenant` as its admin and logs them in. */
  async function newUser(tenant: TestTenant, role: Role = 'MEMBER', name = 'Someone'): Promise<Account> {
    const email = `user-${randomBytes(4).toString('hex')}@${tenant.id}.test`;
    const created = await run(CreateUserDocument, { input: { email, name, role, password: PASSWORD } }, { header: tenant.id, token: tenant.token });
    if (!created.body.data) throw new Error(JSON.stringify(created.body));
    const login = await run(LoginDocument, { email, password: PASSWORD }, { header: tenant.id });
    return { id: created.body.data.createUser.id, email, via: { header: tenant.id, token: login.body.data!.login.accessToken } };
  }

  beforeAll(async () => {
    api = await startApp();
    acme = await newTenant(api);
    admin = { header: acme.id, token: acme.token };
  });
  afterAll(() => api.close());

  describe('createUser', () => {
    it('creates an active user with a lower-cased email who can then log in', async () => {
      const email = `New.Person-${randomBytes(3).toString('hex')}@Acme.TEST`;
      const res = await run(CreateUserDocument, { input: { email, name: ' Ada ', role: 'MEMBER', password: PASSWORD } }, admin);
      expect(res.body.errors).toBeUndefined();
      const user = res.body.data!.createUser;
      expect(user).toMatchObject({ email: email.toLowerCase(), name: 'Ada', role: 'MEMBER', status: 'ACTIVE' });
      expect(Number.isNaN(Date.parse(user.createdAt))).toBe(false);

      const login = await run(LoginDocument, { email, password: PASSWORD }, { header: acme.id });
      expect(login.body.data?.login.user).toEqual({ id: user.id, email: email.toLowerCase(), role: 'MEMBER' });
      const read = await run(UserDocument, { id: user.id }, admin);
      expect(read.body.data?.user).toEqual(user);
    });

    it('refuses an email that differs from an existing one only in case with CONFLICT', async () => {
      const { email } = await newUser(acme);
      const res = await run(CreateUserDocument, { input: { email: email.toUpperCase(), name: 'Twin', role: 'MEMBER', password: PASSWORD } }, admin);
      expect(codes(res.body)).toEqual(['CONFLICT']);
      const admins = await run(CreateUserDocument, { input: { email: acme.adminEmail, name: 'Twin', role: 'ADMIN', password: PASSWORD } }, admin);
      expect(codes(admins.body)).toEqual(['CONFLICT']);
    });

    it('accepts passwords of 12 and 128 characters and refuses 11 and 129 with BAD_USER_INPUT', async () => {
      const attempt = (password: string) =>
        run(CreateUserDocument, { input: { email: `p-${randomBytes(4).toString('hex')}@x.test`, name: 'P', role: 'MEMBER', password } }, admin);
      for (const length of [12, 128]) expect((await attempt('x'.repeat(length))).body.errors).toBeUndefined();
      for (const length of [11, 129]) {
        const res = await attempt('x'.repeat(length));
        expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
        expect(fieldPaths(res.body.errors![0])).toEqual(['password']);
      }
    });

    it('refuses a malformed email and a blank name with BAD_USER_INPUT naming both fields', async () => {
      const res = await run(CreateUserDocument, { input: { email: 'not-an-email', name: '   ', role: 'MEMBER', password: PASSWORD } }, admin);
      expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      expect(fieldPaths(res.body.errors![0]).sort()).toEqual(['email', 'name']);
    });
  });

  describe('permissions', () => {
    it('gives a MEMBER FORBIDDEN on createUser, changeUserRole and deactivateUser, and changes nothing', async () => {
      const member = await newUser(acme);
      const created = await run(CreateUserDocument, { input: { email: `m-${randomUUID()}@x.test`, name: 'M', role: 'ADMIN', password: PASSWORD } }, member.via);
      const promoted = await run(ChangeUserRoleDocument, { id: member.id, role: 'ADMIN' }, member.via);
      const demoted = await run(ChangeUserRoleDocument, { id: acme.adminId, role: 'MEMBER' }, member.via);
      const deactivated = await run(DeactivateUserDocument, { id: acme.adminId }, member.via);
      const absent = await run(DeactivateUserDocument, { id: randomUUID() }, member.via);
      for (const res of [created, promoted, demoted, deactivated, absent]) {
        expect(codes(res.body)).toEqual(['FORBIDDEN']);
        expect(res.body.data).toBeNull();
      }
      expect((await run(UserDocument, { id: acme.adminId }, admin)).body.data?.user).toMatchObject({ role: 'ADMIN', status: 'ACTIVE' });
      expect((await run(UserDocument, { id: member.id }, admin)).body.data?.user?.role).toBe('MEMBER');
    });

    it('lets a MEMBER read users and a user', async () => {
      const member = await newUser(acme);
      const list = await run(UsersDocument, { first: 100 }, member.via);
      expect(list.body.errors).toBeUndefined();
      expect(list.body.data!.users.edges.map((e) => e.node.id)).toEqual(expect.arrayContaining([member.id, acme.adminId]));
      expect((await run(UserDocument, { id: acme.adminId }, member.via)).body.data?.user?.email).toBe(acme.adminEmail);
    });

    it('requires an access token for every users operation', async () => {
      const res = await run(UsersDocument, {}, { header: acme.id });
      expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe('users and user', () => {
    it('pages newest first without gaps or repeats, and filters by role, status and email substring', async () => {
      const tenant = await newTenant(api);
      const via = { header: tenant.id, token: tenant.token };
      const made: Account[] = [];
      for (let i = 0; i < 5; i++) made.push(await newUser(tenant, i % 2 === 0 ? 'MEMBER' : 'ADMIN'));

      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 5; page++) {
        const res = await run(UsersDocument, { first: 2, after }, via);
        const connection: UsersQuery['users'] = res.body.data!.users;
        expect(connection.totalCount).toBe(6);
        seen.push(...connection.edges.map((e) => e.node.id));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      expect(seen).toEqual([...made.map((u) => u.id)].reverse().concat(tenant.adminId));

      const ids = async (filter: object) => {
        const res = await run(UsersDocument, { first: 100, filter }, via);
        expect(res.body.errors).toBeUndefined();
        return { total: res.body.data!.users.totalCount, ids: res.body.data!.users.edges.map((e) => e.node.id).sort() };
      };
      expect(await ids({ role: 'MEMBER' })).toEqual({ total: 3, ids: [made[0].id, made[2].id, made[4].id].sort() });
      expect(await ids({ role: 'ADMIN' })).toEqual({ total: 3, ids: [tenant.adminId, made[1].id, made[3].id].sort() });
      await run(DeactivateUserDocument, { id: made[2].id }, via);
      expect(await ids({ status: 'DEACTIVATED' })).toEqual({ total: 1, ids: [made[2].id] });
      expect(await ids({ status: 'ACTIVE', role: 'MEMBER' })).toEqual({ total: 2, ids: [made[0].id, made[4].id].sort() });
      expect(await ids({ emailContains: made[3].email.split('@')[0].toUpperCase() })).toEqual({ total: 1, ids: [made[3].id] });
      expect(await ids({ emailContains: 'nobody-has-this' })).toEqual({ total: 0, ids: [] });
      // LIKE wildcards are matched literally.
      expect(await ids({ emailContains: '%' })).toEqual({ total: 0, ids: [] });
      expect(await ids({ emailContains: 'user_' })).toEqual({ total: 0, ids: [] });
    });

    it('reads absent and malformed ids as null', async () => {
      expect((await run(UserDocument, { id: randomUUID() }, admin)).body).toEqual({ data: { user: null } });
      expect((await run(UserDocument, { id: 'not-a-uuid' }, admin)).body).toEqual({ data: { user: null } });
    });

    it('refuses a cursor it did not issue and more than 100 per page', async () => {
      expect(codes((await run(UsersDocument, { after: 'bogus' }, admin)).body)).toEqual(['BAD_USER_INPUT']);
      expect(codes((await run(UsersDocument, { first: 101 }, admin)).body)).toEqual(['BAD_USER_INPUT']);
    });

    it('shows the full user as a project owner', async () => {
      const member = await newUser(acme, 'MEMBER', 'Owner Name');
      const res = await run(CreateProjectDocument, { input: { name: 'owned' } }, member.via);
      expect(res.body.data?.createProject.owner).toEqual({ id: member.id, email: member.email });
    });
  });

  describe('updateMe', () => {
    it("changes only the caller's name", async () => {
      const member = await newUser(acme, 'MEMBER', 'Before');
      const res = await run(UpdateMeDocument, { input: { name: 'After' } }, member.via);
      expect(res.body.data?.updateMe).toMatchObject({ id: member.id, name: 'After', role: 'MEMBER', status: 'ACTIVE' });
      expect((await run(MeProfileDocument, {}, member.via)).body.data?.me.name).toBe('After');
      expect((await run(UserDocument, { id: acme.adminId }, admin)).body.data?.user?.name).not.toBe('After');
    });

    it('refuses a blank or overlong name with BAD_USER_INPUT', async () => {
      for (const name of ['', '  ', 'x'.repeat(201)]) {
        const res = await run(UpdateMeDocument, { input: { name } }, admin);
        expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
      }
    });
  });

  describe('changeUserRole', () => {
    it('promotes and demotes, and the role applies to tokens already issued', async () => {
      const member = await newUser(acme);
      const promoted = await run(ChangeUserRoleDocument, { id: member.id, role: 'ADMIN' }, admin);
      expect(promoted.body.data?.changeUserRole).toMatchObject({ id: member.id, role: 'ADMIN' });
      // The token was issued to a MEMBER; the guard reads the role from the database.
      const byPromoted = await run(CreateUserDocument, { input: { email: `by-${randomUUID()}@x.test`, name: 'X', role: 'MEMBER', password: PASSWORD } }, member.via);
      expect(byPromoted.body.errors).toBeUndefined();

      const demoted = await run(ChangeUserRoleDocument, { id: member.id, role: 'MEMBER' }, admin);
      expect(demoted.body.data?.changeUserRole.role).toBe('MEMBER');
      const byDemoted = await run(DeactivateUserDocument, { id: acme.adminId }, member.via);
      expect(codes(byDemoted.body)).toEqual(['FORBIDDEN']);
    });

    it('never demotes the last active ADMIN (LAST_ADMIN), even when deactivated admins exist', async () => {
      const tenant = await newTenant(api);
      const via = { header: tenant.id, token: tenant.token };
      const other = await newUser(tenant, 'ADMIN');
      expect((await run(DeactivateUserDocument, { id: other.id }, via)).body.errors).toBeUndefined();

      const res = await run(ChangeUserRoleDocument, { id: tenant.adminId, role: 'MEMBER' }, via);
      expect(codes(res.body)).toEqual(['LAST_ADMIN']);
      expect((await run(UserDocument, { id: tenant.adminId }, via)).body.data?.user?.role).toBe('ADMIN');
      // Confirming the role an admin already has is not a demotion.
      expect((await run(ChangeUserRoleDocument, { id: tenant.adminId, role: 'ADMIN' }, via)).body.errors).toBeUndefined();
    });

    it('lets exactly one of two admins demoting each other at once succeed', async () => {
      const tenant = await newTenant(api);
      const first = { id: tenant.adminId, via: { header: tenant.id, token: tenant.token } };
      const second = await newUser(tenant, 'ADMIN');
      const results = await Promise.all([
        run(ChangeUserRoleDocument, { id: second.id, role: 'MEMBER' }, first.via),
        run(ChangeUserRoleDocument, { id: first.id, role: 'MEMBER' }, second.via),
      ]);
      const outcomes = results.map((res) => (res.body.errors ? codes(res.body)[0] : 'ok')).sort();
      expect(['FORBIDDEN', 'LAST_ADMIN']).toContain(outcomes[0]);
      expect(outcomes[1]).toBe('ok');
      // Both are still active, so either may read: one admin is left.
      const admins = await run(UsersDocument, { filter: { role: 'ADMIN', status: 'ACTIVE' } }, first.via);
      expect(admins.body.data?.users.totalCount).toBe(1);
    });

    it('is NOT_FOUND for absent and malformed ids', async () => {
      for (const id of [randomUUID(), 'nope']) {
        expect(codes((await run(ChangeUserRoleDocument, { id, role: 'ADMIN' }, admin)).body)).toEqual(['NOT_FOUND']);
      }
    });
  });

  describe('deactivateUser', () => {
    it('stops the user logging in, like a wrong password, and rejects their existing tokens', async () => {
      const member = await newUser(acme);
      expect((await run(MeProfileDocument, {}, member.via)).body.data?.me.id).toBe(member.id);

      const res = await run(DeactivateUserDocument, { id: member.id }, admin);
      expect(res.body.data?.deactivateUser).toMatchObject({ id: member.id, status: 'DEACTIVATED' });

      const login = await run(LoginDocument, { email: member.email, password: PASSWORD }, { header: acme.id });
      const wrong = await run(LoginDocument, { email: acme.adminEmail, password: 'wrong-password!' }, { header: acme.id });
      expect(codes(login.body)).toEqual(['UNAUTHENTICATED']);
      expect(login.body.errors![0]).toEqual(wrong.body.errors![0]);
      expect(codes((await run(MeProfileDocument, {}, member.via)).body)).toEqual(['UNAUTHENTICATED']);
      expect(codes((await run(UsersDocument, {}, member.via)).body)).toEqual(['UNAUTHENTICATED']);
      expect(codes((await run(UpdateMeDocument, { input: { name: 'still here' } }, member.via)).body)).toEqual(['UNAUTHENTICATED']);
    });

    it('never deactivates the last active ADMIN, itself included (LAST_ADMIN)', async () => {
      const tenant = await newTenant(api);
      const via = { header: tenant.id, token: tenant.token };
      const res = await run(DeactivateUserDocument, { id: tenant.adminId }, via);
      expect(codes(res.body)).toEqual(['LAST_ADMIN']);
      expect((await run(MeProfileDocument, {}, via)).body.data?.me.status).toBe('ACTIVE');

      const other = await newUser(tenant, 'ADMIN');
      expect((await run(DeactivateUserDocument, { id: tenant.adminId }, other.via)).body.data?.deactivateUser.status).toBe('DEACTIVATED');
      expect(codes((await run(MeProfileDocument, {}, via)).body)).toEqual(['UNAUTHENTICATED']);
    });

    it('is NOT_FOUND for absent and malformed ids', async () => {
      for (const id of [randomUUID(), 'nope']) expect(codes((await run(DeactivateUserDocument, { id }, admin)).body)).toEqual(['NOT_FOUND']);
    });
  });

  describe('changePassword', () => {
    it('verifies the current password and replaces it', async () => {
      const member = await newUser(acme);
      const wrong = await run(ChangePasswordDocument, { currentPassword: 'not-my-password', newPassword: 'a-brand-new-password' }, member.via);
      expect(codes(wrong.body)).toEqual(['BAD_USER_INPUT']);
      expect(wrong.body.errors![0].extensions!.fields).toEqual([{ path: 'currentPassword', message: 'is incorrect' }]);

      const res = await run(ChangePasswordDocument, { currentPassword: PASSWORD, newPassword: 'a-brand-new-password' }, member.via);
      expect(res.body).toEqual({ data: { changePassword: true } });
      expect(codes((await run(LoginDocument, { email: member.email, password: PASSWORD }, { header: acme.id })).body)).toEqual(['UNAUTHENTICATED']);
      const login = await run(LoginDocument, { email: member.email, password: 'a-brand-new-password' }, { header: acme.id });
      expect(login.body.data?.login.user.id).toBe(member.id);
    });

    it('refuses a new password shorter than 12 or longer than 128 characters', async () => {
      for (const newPassword of ['x'.repeat(11), 'x'.repeat(129)]) {
        const res = await run(ChangePasswordDocument, { currentPassword: TEST_PASSWORD, newPassword }, admin);
        expect(codes(res.body)).toEqual(['BAD_USER_INPUT']);
        expect(fieldPaths(res.body.errors![0])).toEqual(['newPassword']);
      }
    });
  });
});
