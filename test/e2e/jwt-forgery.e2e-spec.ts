import { createHmac, createSign, generateKeyPairSync } from 'node:crypto';
import { keyIdOf } from '../../src/auth/jwt-keys.service';
import { startApp, TEST_JWT_SECRET, type TestApp } from '../factories/app';
import { codes, gql } from '../factories/http';
import { newTenant, TEST_PASSWORD, type TestTenant } from '../factories/tenants';
import { LoginDocument, MeDocument } from '../generated/graphql';

// R9: forged, altered and stale access tokens never authenticate, and the previous key verifies only until its time.
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

type Header = Record<string, unknown>;

/** A compact JWS, built by hand so that any header, payload and algorithm can be forged. */
function jws(header: Header, payload: Record<string, unknown>, sign: (input: string) => string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(input)}`;
}
const hs256 = (key: string | Buffer) => (input: string) => createHmac('sha256', key).update(input).digest('base64url');

const ROTATED_SECRET = 'the-next-secret-which-is-32-bytes-long!!';

describe('R9: JWT forgery and key rotation over HTTP', () => {
  let api: TestApp;
  let acme: TestTenant;
  let globex: TestTenant;
  const kid = keyIdOf(TEST_JWT_SECRET);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  const claims = (extra: Record<string, unknown> = {}) => ({
    sub: acme.adminId,
    tid: acme.id,
    role: 'ADMIN',
    iss: 'tenantry',
    aud: 'tenantry-api',
    iat: now(),
    exp: now() + 600,
    ...extra,
  });
  const genuine = (extra: Record<string, unknown> = {}, secret = TEST_JWT_SECRET, keyId = kid) =>
    jws({ alg: 'HS256', typ: 'JWT', kid: keyId }, claims(extra), hs256(secret));
  const without = (field: string) => {
    const payload: Record<string, unknown> = claims();
    delete payload[field];
    return jws({ alg: 'HS256', typ: 'JWT', kid }, payload, hs256(TEST_JWT_SECRET));
  };

  const meAs = (app: TestApp, token: string) => gql(app.baseUrl, MeDocument, {}, { header: acme.id, token });

  beforeAll(async () => {
    api = await startApp();
    [acme, globex] = await Promise.all([newTenant(api), newTenant(api)]);
  });
  afterAll(() => api.close());

  it('accepts a genuine hand-built token (the control for every forgery below)', async () => {
    expect((await meAs(api, genuine())).body.data?.me.id).toBe(acme.adminId);
    // And the API's own tokens carry the current kid.
    expect(JSON.parse(Buffer.from(acme.token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT', kid });
  });

  const forgeries: [string, () => string][] = [
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims())}.`],
    ['alg None with a signature', () => jws({ alg: 'None', kid }, claims(), hs256(TEST_JWT_SECRET))],
    ['RS256 signed with an attacker key', () => jws({ alg: 'RS256', typ: 'JWT', kid }, claims(), (input) => createSign('RSA-SHA256').update(input).sign(privateKey, 'base64url'))],
    ['HS256 signed with a public key (HS/RS confusion)', () => jws({ alg: 'HS256', typ: 'JWT', kid }, claims(), hs256(publicPem))],
    ['HS512 with the right secret', () => jws({ alg: 'HS512', typ: 'JWT', kid }, claims(), (input) => createHmac('sha512', TEST_JWT_SECRET).update(input).digest('base64url'))],
    ['a wrong secret', () => genuine({}, 'an-attacker-secret-of-at-least-32-bytes')],
    ['a tampered payload (role raised, signature kept)', () => {
      const [header, , signature] = genuine({ role: 'MEMBER' }).split('.');
      return `${header}.${b64(claims({ role: 'ADMIN' }))}.${signature}`;
    }],
    ['a tampered payload (another sub)', () => {
      const [header, , signature] = genuine().split('.');
      return `${header}.${b64(claims({ sub: globex.adminId }))}.${signature}`;
    }],
    ['an expired token', () => genuine({ iat: now() - 3600, exp: now() - 60 })],
    ['a token not valid before a future nbf', () => genuine({ nbf: now() + 3600 })],
    ['a wrong issuer', () => genuine({ iss: 'someone-else' })],
    ['a wrong audience', () => genuine({ aud: 'another-api' })],
    ['no exp', () => without('exp')],
    ['no tid', () => without('tid')],
    ['no sub', () => without('sub')],
    ['a sub that is not a uuid', () => genuine({ sub: 'admin' })],
    ['an unknown role', () => genuine({ role: 'OWNER' })],
    ["another tenant's tid (signed with the real secret)", () => genuine({ tid: globex.id, sub: globex.adminId })],
    ["another tenant's tid with this tenant's sub", () => genuine({ tid: globex.id })],
    ['no kid', () => jws({ alg: 'HS256', typ: 'JWT' }, claims(), hs256(TEST_JWT_SECRET))],
    ['an unknown kid', () => genuine({}, TEST_JWT_SECRET, 'some-other-key')],
    ['a path-like kid', () => genuine({}, TEST_JWT_SECRET, '../../../dev/null')],
    ['a previous key that is not configured', () => genuine({}, ROTATED_SECRET, keyIdOf(ROTATED_SECRET))],
    ['the current kid signed with another configured-nowhere secret', () => genuine({}, ROTATED_SECRET)],
    ['a token of three empty parts', () => '..'],
    ['a JWE-shaped token', () => `${b64({ alg: 'dir', enc: 'A256GCM', kid })}..${b64('iv')}.${b64('ct')}.${b64('tag')}`],
  ];

  it(`rejects every forged token with UNAUTHENTICATED or TENANT_MISMATCH (${forgeries.length} kinds)`, async () => {
    const accepted: string[] = [];
    const wrongCode: string[] = [];
    for (const [name, forge] of forgeries) {
      const res = await meAs(api, forge());
      if (res.body.data?.me) accepted.push(name);
      const [code] = codes(res.body);
      if (code !== 'UNAUTHENTICATED' && code !== 'TENANT_MISMATCH') wrongCode.push(`${name}: ${code}`);
    }
    console.log(`R9: ${accepted.length}/${forgeries.length} forged tokens accepted`);
    expect(accepted).toEqual([]);
    expect(wrongCode).toEqual([]);
  });

  describe('key rotation', () => {
    // The same database, restarted with a new JWT_SECRET and the old one as JWT_PREVIOUS_SECRET.
    const rotated = (until: Date) =>
      startApp({ JWT_SECRET: ROTATED_SECRET, JWT_PREVIOUS_SECRET: TEST_JWT_SECRET, JWT_PREVIOUS_SECRET_UNTIL: until.toISOString() }, api.db);

    it('accepts tokens of the previous key until JWT_PREVIOUS_SECRET_UNTIL, signs new ones with the new key only', async () => {
      const next = await rotated(new Date(Date.now() + 3600_000));
      try {
        expect((await meAs(next, acme.token)).body.data?.me.id).toBe(acme.adminId);
        expect((await meAs(next, genuine())).body.data?.me.id).toBe(acme.adminId);
        const login = await gql(next.baseUrl, LoginDocument, { email: acme.adminEmail, password: TEST_PASSWORD }, { header: acme.id });
        const issued = login.body.data!.login.accessToken;
        expect(JSON.parse(Buffer.from(issued.split('.')[0], 'base64url').toString()).kid).toBe(keyIdOf(ROTATED_SECRET));
        expect(codes((await meAs(api, issued)).body)).toEqual(['UNAUTHENTICATED']);
        // Still no substitution: the previous secret under the new kid, or the new secret under the old kid.
        expect(codes((await meAs(next, genuine({}, TEST_JWT_SECRET, keyIdOf(ROTATED_SECRET)))).body)).toEqual(['UNAUTHENTICATED']);
        expect(codes((await meAs(next, genuine({}, ROTATED_SECRET, kid))).body)).toEqual(['UNAUTHENTICATED']);
        expect((await meAs(next, genuine({}, ROTATED_SECRET, keyIdOf(ROTATED_SECRET)))).body.data?.me.id).toBe(acme.adminId);
        // An expired token of the previous key stays expired.
        expect(codes((await meAs(next, genuine({ iat: now() - 3600, exp: now() - 60 }))).body)).toEqual(['UNAUTHENTICATED']);
      } finally {
        await next.close();
      }
    });

    it('rejects tokens of the previous key once JWT_PREVIOUS_SECRET_UNTIL has passed', async () => {
      const next = await rotated(new Date(Date.now() - 1000));
      try {
        expect(codes((await meAs(next, acme.token)).body)).toEqual(['UNAUTHENTICATED']);
        expect(codes((await meAs(next, genuine())).body)).toEqual(['UNAUTHENTICATED']);
        expect((await meAs(next, genuine({}, ROTATED_SECRET, keyIdOf(ROTATED_SECRET)))).body.data?.me.id).toBe(acme.adminId);
      } finally {
        await next.close();
      }
    });
  });
});
