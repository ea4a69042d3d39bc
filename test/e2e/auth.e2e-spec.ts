import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql, type Via } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import {
  ChangePasswordDocument,
  CreateUserDocument,
  DeactivateUserDocument,
  LoginSessionDocument,
  LogoutDocument,
  MeDocument,
  RefreshSessionDocument,
} from '../generated/graphql';

const PASSWORD = 'a-member-password';

interface Member {
  id: string;
  email: string;
}

describe('sessions: login, refresh, logout and throttling over HTTP', () => {
  let api: TestApp;
  let acme: TestTenant;

  const run = <D, V>(document: Parameters<typeof gql<D, V>>[1], variables: V, via: Via) => gql(api.baseUrl, document, variables, via);
  const login = (email: string, password: string, via: Via = { header: acme.id }) => run(LoginSessionDocument, { email, password }, via);
  const refresh = (token: string, tenant = acme) => run(RefreshSessionDocument, { token }, { header: tenant.id });

  async function newMember(tenant = acme): Promise<Member> {
    const email = `member-${randomBytes(4).toString('hex')}@${tenant.id}.test`;
    const created = await run(CreateUserDocument, { input: { email, name: 'Member', role: 'MEMBER', password: PASSWORD } }, { header: tenant.id, token: tenant.token });
    if (!created.body.data) throw new Error(JSON.stringify(created.body));
    return { id: created.body.data.createUser.id, email };
  }

  /** A fresh session of `member`: its refresh token. */
  async function sessionOf(member: Member, tenant = acme): Promise<string> {
    const res = await login(member.email, PASSWORD, { header: tenant.id });
    if (!res.body.data) throw new Error(JSON.stringify(res.body));
    return res.body.data.login.refreshToken;
  }

  beforeAll(async () => {
    api = await startApp();
    acme = await newTenant(api);
  });
  afterAll(() => api.close());

  describe('login', () => {
    it('returns an access token that expires when accessTokenExpiresAt says (15 minutes after issue) and a refresh token', async () => {
      const member = await newMember();
      const res = await login(member.email, PASSWORD);
      expect(res.body.errors).toBeUndefined();
      const session = res.body.data!.login;
      const claims = JSON.parse(Buffer.from(session.accessToken.split('.')[1], 'base64url').toString()) as { exp: number; iat: number };
      expect(claims.exp - claims.iat).toBe(15 * 60);
      expect(new Date(session.accessTokenExpiresAt).getTime()).toBe(claims.exp * 1000);
      expect(session.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(session.user).toEqual({ id: member.id, email: member.email, role: 'MEMBER' });
    });

    it('stores only the sha256 of a refresh token, in the tenant schema', async () => {
      const member = await newMember();
      const token = await sessionOf(member);
      const db = new Client({ connectionString: api.db.url });
      await db.connect();
      try {
        const { rows } = await db.query<{ tokenHash: string; familyId: string }>(
          `SELECT "tokenHash", "familyId" FROM "${acme.schemaName}"."RefreshToken" WHERE "userId" = $1`,
          [member.id],
        );
        expect(rows.map((row) => row.tokenHash)).toEqual([createHash('sha256').update(token).digest('hex')]);
        const dump = await db.query(`SELECT row_to_json(t)::text AS row FROM "${acme.schemaName}"."RefreshToken" t`);
        expect(dump.rows.map((row: { row: string }) => row.row).join('\n')).not.toContain(token);
      } finally {
        await db.end();
      }
    });

    it('refuses passwords outside 12–128 characters like a wrong password, without naming the policy', async () => {
      const member = await newMember();
      const wrong = await login(member.email, 'wrong-but-long-enough', { header: acme.id, from: '127.0.0.40' });
      for (const password of ['x'.repeat(11), 'x'.repeat(129), 'x'.repeat(20_000)]) {
        const res = await login(member.email, password, { header: acme.id, from: '127.0.0.41' });
        expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
        expect(res.body.errors![0]).toEqual(wrong.body.errors![0]);
      }
    });
  });

  describe('refreshToken', () => {
    it('rotates: returns a new pair whose access token works, and the presented token is spent', async () => {
      const member = await newMember();
      const first = await sessionOf(member);
      const res = await refresh(first);
      expect(res.body.errors).toBeUndefined();
      const next = res.body.data!.refreshToken;
      expect(next.refreshToken).not.toBe(first);
      expect(next.user.id).toBe(member.id);
      const me = await run(MeDocument, {}, { header: acme.id, token: next.accessToken });
      expect(me.body.data?.me.id).toBe(member.id);
      // The rotated token again works once more: the chain continues.
      expect((await refresh(next.refreshToken)).body.data?.refreshToken.user.id).toBe(member.id);
    });

    it('revokes the whole family when a rotated token is presented again (reuse detection)', async () => {
      const member = await newMember();
      const stolen = await sessionOf(member);
      const legit = (await refresh(stolen)).body.data!.refreshToken.refreshToken;
      const other = await sessionOf(member);

      const replay = await refresh(stolen);
      expect(codes(replay.body)).toEqual(['UNAUTHENTICATED']);
      expect(replay.body.data).toBeNull();
      // The family's newest token dies with it; the user's other session does not.
      expect(codes((await refresh(legit)).body)).toEqual(['UNAUTHENTICATED']);
      expect((await refresh(other)).body.data?.refreshToken.user.id).toBe(member.id);
    });

    it('lets exactly one of two simultaneous uses of the same token succeed, and then revokes the family', async () => {
      const member = await newMember();
      const token = await sessionOf(member);
      const results = await Promise.all([refresh(token), refresh(token)]);
      const winners = results.filter((res) => res.body.data?.refreshToken);
      expect(winners).toHaveLength(1);
      expect(results.flatMap((res) => codes(res.body))).toEqual(['UNAUTHENTICATED']);
      expect(codes((await refresh(winners[0].body.data!.refreshToken.refreshToken)).body)).toEqual(['UNAUTHENTICATED']);
    });

    it('refuses unknown tokens and garbage with UNAUTHENTICATED, and overlong input with BAD_USER_INPUT', async () => {
      for (const token of [randomBytes(32).toString('base64url'), '', 'not a token']) {
        expect(codes((await refresh(token)).body)).toEqual(['UNAUTHENTICATED']);
      }
      expect(codes((await refresh('x'.repeat(201))).body)).toEqual(['BAD_USER_INPUT']);
    });

    it("is bound to the tenant: A's refresh token is UNAUTHENTICATED on B and still works on A", async () => {
      const globex = await newTenant(api);
      const member = await newMember();
      const token = await sessionOf(member);
      expect(codes((await refresh(token, globex)).body)).toEqual(['UNAUTHENTICATED']);
      expect(codes((await run(LogoutDocument, { refreshToken: token }, { header: globex.id })).body)).toEqual(['UNAUTHENTICATED']);
      expect((await refresh(token)).body.data?.refreshToken.user.id).toBe(member.id);
    });
  });

  describe('logout', () => {
    it("revokes the token's whole family, leaves the user's other sessions alone, and is idempotent", async () => {
      const member = await newMember();
      const first = await sessionOf(member);
      const current = (await refresh(first)).body.data!.refreshToken.refreshToken;
      const other = await sessionOf(member);

      expect((await run(LogoutDocument, { refreshToken: current }, { header: acme.id })).body).toEqual({ data: { logout: true } });
      expect(codes((await refresh(current)).body)).toEqual(['UNAUTHENTICATED']);
      expect((await run(LogoutDocument, { refreshToken: first }, { header: acme.id })).body).toEqual({ data: { logout: true } });
      expect((await refresh(other)).body.data?.refreshToken.user.id).toBe(member.id);
    });

    it('is UNAUTHENTICATED for a token this tenant never issued', async () => {
      const res = await run(LogoutDocument, { refreshToken: randomBytes(32).toString('base64url') }, { header: acme.id });
      expect(codes(res.body)).toEqual(['UNAUTHENTICATED']);
    });
  });

  describe('deactivation and password change', () => {
    it('stops a deactivated user from logging in and from refreshing', async () => {
      const member = await newMember();
      const token = await sessionOf(member);
      const deactivated = await run(DeactivateUserDocument, { id: member.id }, { header: acme.id, token: acme.token });
      expect(deactivated.body.data?.deactivateUser.status).toBe('DEACTIVATED');
      expect(codes((await login(member.email, PASSWORD, { header: acme.id, from: '127.0.0.50' })).body)).toEqual(['UNAUTHENTICATED']);
      expect(codes((await refresh(token)).body)).toEqual(['UNAUTHENTICATED']);
    });

    it("revokes every refresh token of the user on changePassword, and only that user's", async () => {
      const member = await newMember();
      const bystander = await newMember();
      const [one, two] = [await sessionOf(member), await sessionOf(member)];
      const theirs = await sessionOf(bystander);
      const access = (await refresh(one)).body.data!.refreshToken;

      const changed = await run(
        ChangePasswordDocument,
        { currentPassword: PASSWORD, newPassword: 'an-entirely-new-password' },
        { header: acme.id, token: access.accessToken },
      );
      expect(changed.body).toEqual({ data: { changePassword: true } });
      for (const token of [access.refreshToken, two]) expect(codes((await refresh(token)).body)).toEqual(['UNAUTHENTICATED']);
      expect((await refresh(theirs)).body.data?.refreshToken.user.id).toBe(bystander.id);
      expect((await login(member.email, 'an-entirely-new-password')).body.data?.login.user.id).toBe(member.id);
    });
  });

  describe('login throttling', () => {
    it('refuses the 6th attempt from the same address even with the right password, while other addresses still log in', async () => {
      const member = await newMember();
      const attacker: Via = { header: acme.id, from: '127.0.0.2' };
      const wrong = [];
      for (let i = 0; i < 5; i++) wrong.push(await login(member.email, `wrong-password-${i}`, attacker));
      expect(wrong.flatMap((res) => codes(res.body))).toEqual(Array(5).fill('UNAUTHENTICATED'));

      const sixth = await login(member.email, PASSWORD, attacker);
      expect(codes(sixth.body)).toEqual(['UNAUTHENTICATED']);
      // Indistinguishable from a wrong password: same message, same shape.
      expect(sixth.body).toEqual(wrong[4].body);

      const elsewhere = await login(member.email, PASSWORD, { header: acme.id, from: '127.0.0.3' });
      expect(elsewhere.body.data?.login.user.id).toBe(member.id);
      // The pair is throttled, not the address: another account still logs in from it.
      const colleague = await newMember();
      expect((await login(colleague.email, PASSWORD, attacker)).body.data?.login.user.id).toBe(colleague.id);
    });

    it('ignores X-Forwarded-For unless TRUST_PROXY is set, so a client cannot dodge the backoff by forging it', async () => {
      const member = await newMember();
      const forged = (i: number): Via => ({ header: acme.id, from: '127.0.0.5', headers: { 'x-forwarded-for': `198.51.100.${i}` } });
      for (let i = 0; i < 5; i++) await login(member.email, `wrong-password-${i}`, forged(i));
      expect(codes((await login(member.email, PASSWORD, forged(9))).body)).toEqual(['UNAUTHENTICATED']);
    });

    it('keys on the X-Forwarded-For address behind TRUST_PROXY=1 proxy', async () => {
      const proxied = await startApp({ TRUST_PROXY: '1' }, api.db);
      try {
        const member = await newMember();
        const client = (address: string): Via => ({ header: acme.id, headers: { 'x-forwarded-for': address } });
        const loginVia = (password: string, via: Via) => gql(proxied.baseUrl, LoginSessionDocument, { email: member.email, password }, via);
        for (let i = 0; i < 5; i++) await loginVia(`wrong-password-${i}`, client('203.0.113.7'));
        expect(codes((await loginVia(PASSWORD, client('203.0.113.7'))).body)).toEqual(['UNAUTHENTICATED']);
        expect((await loginVia(PASSWORD, client('203.0.113.8'))).body.data?.login.user.id).toBe(member.id);
      } finally {
        await proxied.close();
      }
    });

    it('forgets the failures of a pair after a successful login', async () => {
      const member = await newMember();
      const from: Via = { header: acme.id, from: '127.0.0.4' };
      for (let i = 0; i < 4; i++) await login(member.email, `wrong-password-${i}`, from);
      expect((await login(member.email, PASSWORD, from)).body.data?.login.user.id).toBe(member.id);
      for (let i = 0; i < 4; i++) await login(member.email, `wrong-password-${i}`, from);
      expect((await login(member.email, PASSWORD, from)).body.data?.login.user.id).toBe(member.id);
    });
  });
});
