import { JwtService } from '@nestjs/jwt';
import { keyIdOf } from '../../src/auth/jwt-keys.service';
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { CONTROL_SCHEMA } from '../../src/control-plane/control-plane-migrator';
import { TenantRegistry } from '../../src/control-plane/tenant-registry.service';
import { rolePrefixOf } from '../../src/database/database-roles';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { startApp, TEST_JWT_SECRET, type TestApp } from '../factories/app';
import { gql, post, type GraphqlBody, type Via } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument, ProjectsDocument } from '../generated/graphql';

// Sizes from the security issue; TENANTRY_ADVERSARIAL_SCALE (e.g. 0.1) shrinks them for a quick local run.
const SCALE = Number(process.env.TENANTRY_ADVERSARIAL_SCALE ?? '1');
const sized = (n: number) => Math.max(20, Math.round(n * SCALE));
const CONCURRENCY = 16;
// Thousands of HTTP requests: minutes on a loaded two-core machine, not a speed assertion.
const LONG = 10 * 60_000;

/** A seeded PRNG (mulberry32), so that a failing run can be replayed with TENANTRY_ADVERSARIAL_SEED. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.TENANTRY_ADVERSARIAL_SEED ?? Date.now() % 1_000_000);

async function inParallel<T>(items: T[], run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) {
        const index = next++;
        await run(items[index], index);
      }
    }),
  );
}

const jwt = new JwtService({ secret: TEST_JWT_SECRET, signOptions: { keyid: keyIdOf(TEST_JWT_SECRET) } });
const VALID = { issuer: 'tenantry', audience: 'tenantry-api' };

describe('adversarial suites', () => {
  let api: TestApp;
  let admin: Pool;

  beforeAll(async () => {
    // R1-R3 send thousands of unknown tenants and mismatched headers from one address to prove isolation and counts:
    // at the production budget (20/s) they would wait minutes; the budget itself is proven in unknown-tenant-budget.
    api = await startApp({ NODE_ENV: 'production', TENANT_CACHE_TTL_MS: '1000', UNKNOWN_TENANT_RATE: '1000', UNKNOWN_TENANT_BURST: '1000' });
    admin = new Pool({ connectionString: api.db.url, max: 2 });
    process.stderr.write(`adversarial suites: seed ${SEED}, scale ${SCALE}\n`);
  });
  afterAll(async () => {
    await admin?.end();
    await api?.close();
  });

  describe('R1 randomized traffic over 20 tenants', () => {
    interface Marked extends TestTenant {
      marker: string;
    }
    let tenants: Marked[];

    beforeAll(async () => {
      tenants = [];
      for (let i = 0; i < 20; i++) {
        const tenant = await newTenant(api, { plan: 'enterprise' });
        const marked = { ...tenant, marker: `mk${randomBytes(6).toString('hex')}` };
        for (const n of [1, 2]) {
          const created = await gql(api.baseUrl, CreateProjectDocument, { input: { name: `${marked.marker} seed ${n}`, description: marked.marker } }, {
            header: tenant.id,
            token: tenant.token,
          });
          expect(created.body.errors).toBeUndefined();
        }
        tenants.push(marked);
      }
    }, LONG);

    it('answers 10,000 mixed valid, forged, swapped and expired requests with no other tenant\'s marker, and every acknowledged write lands in its own tenant', async () => {
      const next = random(SEED);
      const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
      const markers = new Map(tenants.map((t) => [t.marker, t.id]));
      const leaks: string[] = [];
      const unexpected: string[] = [];
      const acknowledged: { tenant: Marked; name: string }[] = [];
      const refused: string[] = [];
      const kinds = ['read', 'write', 'swapped', 'forged', 'expired', 'conflicting'] as const;
      const plan = Array.from({ length: sized(10_000) }, (_, i) => {
        const owner = pick(tenants);
        return {
        i,
        kind: pick([...kinds]),
        owner,
        other: pick(tenants.filter((t) => t !== owner)),
        bySubdomain: next() < 0.5,
        write: next() < 0.5,
        };
      });

      await inParallel(plan, async ({ i, kind, owner, other, bySubdomain, write }) => {
        const target = kind === 'swapped' || kind === 'forged' ? other : owner;
        const via: Via = bySubdomain ? { subdomain: target.id } : { header: target.id };
        if (kind === 'conflicting') Object.assign(via, { subdomain: owner.id, header: other.id });
        const claims = { sub: owner.adminId, tid: target.id, role: 'ADMIN' };
        via.token =
          kind === 'forged'
            ? jwt.sign(claims, { ...VALID, expiresIn: 60, secret: randomBytes(32).toString('hex') })
            : kind === 'expired'
              ? jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 5 }, VALID)
              : owner.token;
        const name = `${owner.marker} r1 ${i}`;
        const res =
          kind === 'write' || (kind !== 'read' && write)
            ? await gql(api.baseUrl, CreateProjectDocument, { input: { name } }, via)
            : await gql(api.baseUrl, ProjectsDocument, { first: 20 }, via);
        const text = JSON.stringify(res.body);

        // Only the genuine token's own tenant, addressed as itself, may ever see a marker: its own.
        const mayRead = kind === 'read' || kind === 'write' ? owner.marker : undefined;
        for (const [marker, id] of markers) {
          if (marker !== mayRead && text.includes(marker)) {
            leaks.push(`#${i} ${kind}: saw ${id}'s marker`);
          }
        }
        const succeeded = res.status === 200 && res.body.errors === undefined;
        const shouldSucceed = mayRead !== undefined;
        if (res.status >= 500 || succeeded !== shouldSucceed) unexpected.push(`#${i} ${kind}: ${res.status} ${text.slice(0, 200)}`);
        const data = res.body.data as { createProject?: { name: string } } | null | undefined;
        if (data?.createProject) acknowledged.push({ tenant: owner, name: data.createProject.name });
        else if (!shouldSucceed) refused.push(name);
      });

      const stored = new Map<string, Set<string>>();
      for (const tenant of tenants) {
        const { rows } = await admin.query<{ name: string }>(`SELECT name FROM ${quoteIdentifier(tenant.schemaName)}."Project"`);
        stored.set(tenant.id, new Set(rows.map((row) => row.name)));
      }
      const misplaced = acknowledged.filter(({ tenant, name }) => !stored.get(tenant.id)!.has(name));
      const elsewhere = [...stored].flatMap(([id, names]) => acknowledged.filter((a) => a.tenant.id !== id && names.has(a.name)).map((a) => `${a.name} in ${id}`));
      const refusedButStored = refused.filter((name) => [...stored.values()].some((names) => names.has(name)));

      process.stderr.write(
        `R1: ${plan.length} requests over ${tenants.length} tenants: ${leaks.length} responses with another tenant's marker, ` +
          `${acknowledged.length} acknowledged writes (${misplaced.length} missing, ${elsewhere.length} in another tenant), ` +
          `${refused.length} refused writes (${refusedButStored.length} stored anyway)\n`,
      );
      expect(leaks).toEqual([]);
      expect(unexpected).toEqual([]);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect(misplaced).toEqual([]);
      expect(elsewhere).toEqual([]);
      expect(refusedButStored).toEqual([]);
    }, LONG);
  });

  describe('R2 hostile tenant identifiers', () => {
    const generators: ((n: number) => string)[] = [
      (n) => `a'; DROP SCHEMA tenant_a CASCADE; --${n}`,
      (n) => `t${n}" OR "1"="1`,
      (n) => `t${n}\\x00`,
      (n) => `t${n}%27%20OR%201=1`,
      (n) => `аcme${n}`, // Cyrillic а
      (n) => `acme${n}\u200b`, // zero-width space
      (n) => `ACME${n}`,
      (n) => `Tenant-${n}`,
      (n) => `t${'x'.repeat(60 + (n % 40))}`,
      () => '',
      (n) => `t${n}.nested`,
      (n) => `..t${n}`,
      (n) => `t${n}:5432`,
      (n) => `t-${n}-`,
      (n) => `-t${n}`,
      (n) => `t_${n}`,
      (n) => `t ${n}`,
      (n) => `${n}tenant`,
      (n) => `public`,
      (n) => `pg_catalog${n}`,
      (n) => `tenantry_control`,
      (n) => `t${n}$$`,
      (n) => `t${n}/*`,
      (n) => `t${n}\ttab`,
      (n) => `ü${n}`,
    ];

    it('answers 5,000 hostile ids in Host and x-tenant-id with typed errors, creating no schema, role or client', async () => {
      const before = await catalogCounts();
      const clientsBefore = api.app.get(TenantConnectionService).stats.misses;
      const cases = Array.from({ length: sized(5_000) }, (_, n) => ({ id: generators[n % generators.length](n), asHost: n % 2 === 0 }));
      const failures: string[] = [];
      const seen = new Map<string, number>();
      let unsendable = 0;
      await inParallel(cases, async ({ id, asHost }) => {
        const headers: Record<string, string> = { host: asHost ? `${id}.localhost:${api.port}` : `localhost:${api.port}` };
        if (!asHost) headers['x-tenant-id'] = id;
        let res;
        try {
          res = await post(api.baseUrl, '/graphql', JSON.stringify({ query: '{ projects(first: 1) { totalCount } }' }), headers);
        } catch (error) {
          // Node refuses to send some header values (control characters): that never reaches the server.
          if ((error as { code?: string }).code === 'ERR_INVALID_CHAR') return void unsendable++;
          throw error;
        }
        const code = (JSON.parse(res.body) as GraphqlBody<unknown>).errors?.[0]?.extensions?.code;
        seen.set(String(code), (seen.get(String(code)) ?? 0) + 1);
        if (res.status >= 500 || !code) failures.push(`${JSON.stringify(id)} via ${asHost ? 'Host' : 'header'}: ${res.status} ${res.body.slice(0, 160)}`);
      });
      const after = await catalogCounts();
      const clientsCreated = api.app.get(TenantConnectionService).stats.misses - clientsBefore;
      process.stderr.write(
        `R2: ${cases.length} hostile ids (${unsendable} refused by the HTTP client itself): ${failures.length} untyped or 5xx answers, ${after.schemas - before.schemas} schemas, ` +
          `${after.roles - before.roles} roles, ${clientsCreated} tenant clients created; codes ${JSON.stringify(Object.fromEntries(seen))}\n`,
      );
      expect(failures).toEqual([]);
      expect(after).toEqual(before);
      expect(clientsCreated).toBe(0);
    }, LONG);
  });

  describe('R3 unknown-tenant flood', () => {
    it('answers 10,000 distinct unknown tenants with TENANT_NOT_FOUND, creating no client and holding no extra connection', async () => {
      const known = await newTenant(api);
      const connections = () =>
        admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tenantry'`);
      const clients = api.app.get(TenantConnectionService);
      const clientsBefore = clients.stats.misses;
      const registry = api.app.get(TenantRegistry);
      const lookupsBefore = registry.stats.misses;
      const answeredBefore = registry.stats.unknown;
      let peak = 0;
      const sampler = setInterval(() => void connections().then(({ rows }) => (peak = Math.max(peak, rows[0].n))), 20);
      const ids = Array.from({ length: sized(10_000) }, (_, n) => `ghost-${n}-${randomBytes(3).toString('hex')}`);
      const wrong: string[] = [];
      try {
        await inParallel(ids, async (id, n) => {
          const via: Via = n % 2 === 0 ? { subdomain: id } : { header: id };
          const res = await gql(api.baseUrl, ProjectsDocument, { first: 1 }, via);
          if (res.body.errors?.[0]?.extensions?.code !== 'TENANT_NOT_FOUND') wrong.push(`${id}: ${res.status}`);
        });
      } finally {
        clearInterval(sampler);
      }
      const served = await gql(api.baseUrl, ProjectsDocument, { first: 1 }, { header: known.id, token: known.token });
      const created = clients.stats.misses - clientsBefore;
      const lookups = registry.stats.misses - lookupsBefore;
      const fromMemory = registry.stats.unknown - answeredBefore;
      process.stderr.write(
        `R3: ${ids.length} unknown tenants: ${wrong.length} not TENANT_NOT_FOUND, ${created} tenant clients created, ` +
          `${fromMemory} answered from the known names, ${lookups} registry lookups (any tenant), peak ${peak} connections (pool max ${api.config.pgPoolMax})\n`,
      );
      expect(wrong).toEqual([]);
      // Every one answered from the known names, none through a cache or the registry.
      expect(fromMemory).toBeGreaterThanOrEqual(ids.length);
      expect(served.body.errors).toBeUndefined();
      expect(created).toBe(0);
      expect(peak).toBeLessThanOrEqual(api.config.pgPoolMax);
    }, LONG);

    it('resolves a tenant (and its custom domain) that another process registers, though unknown a moment before', async () => {
      const id = `elsewhere-${randomBytes(4).toString('hex')}`;
      const domain = `${id}.example.org`;
      const codeOf = async (via: Via) => (await gql(api.baseUrl, ProjectsDocument, { first: 1 }, via)).body.errors?.[0]?.extensions?.code;
      expect(await codeOf({ header: id })).toBe('TENANT_NOT_FOUND');
      expect(await codeOf({ host: domain })).toBe('TENANT_NOT_FOUND');
      // Another process's registry writes: this app only hears of them through the change notifications.
      await admin.query(`INSERT INTO ${CONTROL_SCHEMA}.tenants (id, name, plan, schema_name, status) VALUES ($1, $1, 'free', $2, 'SUSPENDED')`, [
        id,
        `tenant_${id.replace(/-/g, '_')}`,
      ]);
      await admin.query(`INSERT INTO ${CONTROL_SCHEMA}.tenant_domains (domain, tenant_id) VALUES ($1, $2)`, [domain, id]);
      try {
        const settled = async (via: Via) => {
          const deadline = Date.now() + 10_000;
          let code = await codeOf(via);
          while (code === 'TENANT_NOT_FOUND' && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            code = await codeOf(via);
          }
          return code;
        };
        expect(await settled({ header: id })).toBe('TENANT_SUSPENDED');
        expect(await settled({ host: domain })).toBe('TENANT_SUSPENDED');
      } finally {
        await admin.query(`DELETE FROM ${CONTROL_SCHEMA}.tenants WHERE id = $1`, [id]);
      }
    });
  });

  describe('R8 GraphQL abuse in production', () => {
    let tenant: TestTenant;
    beforeAll(async () => {
      tenant = await newTenant(api);
    });

    const send = (body: string, extra: Record<string, string> = {}) =>
      post(api.baseUrl, '/graphql', body, { host: `localhost:${api.port}`, 'x-tenant-id': tenant.id, authorization: `Bearer ${tenant.token}`, ...extra });

    it('rejects each attack with a typed error, never a 5xx, and keeps serving', async () => {
      const selection = (levels: number) => {
        // edges → node → owner cannot nest by itself; __type → ofType can, so depth is built from introspection types.
        let inner = 'name';
        for (let i = 0; i < levels; i++) inner = `ofType { ${inner} }`;
        return `{ __type(name: "Project") { ${inner} } }`;
      };
      const attacks: [string, string, Record<string, string>?][] = [
        ['depth 50', JSON.stringify({ query: selection(50) })],
        ['1,000 aliases', JSON.stringify({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: me { id }`).join(' ')} }` })],
        ['a 1 MB body', JSON.stringify({ query: `{ me { id } }`, variables: { pad: 'x'.repeat(1024 * 1024) } })],
        ['a batched array', JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }])],
        ['introspection', JSON.stringify({ query: '{ __schema { types { name } } }' })],
        ['field-suggestion probing', JSON.stringify({ query: '{ projectz { id } }' })],
        ['a simple-request CSRF (text/plain)', JSON.stringify({ query: 'mutation { createProject(input: { name: "csrf" }) { id } }' }), { 'content-type': 'text/plain' }],
        ['a multipart CSRF', '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ me { id } }"}\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }],
      ];
      const results: string[] = [];
      for (const [name, body, headers] of attacks) {
        const res = await send(body, headers);
        const parsed = JSON.parse(res.body) as GraphqlBody<unknown> | GraphqlBody<unknown>[];
        const first = Array.isArray(parsed) ? parsed[0] : parsed;
        const code = first.errors?.[0]?.extensions?.code;
        const leaked = /did you mean|projects/i.test(JSON.stringify(first.errors ?? []));
        results.push(`${name}: ${res.status} ${code ?? 'no code'}${leaked ? ' (names a field)' : ''}`);
        expect([name, res.status < 500, typeof code, leaked]).toEqual([name, true, 'string', false]);
        const still = await gql(api.baseUrl, ProjectsDocument, { first: 1 }, { header: tenant.id, token: tenant.token });
        expect([name, still.body.errors]).toEqual([name, undefined]);
      }
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${quoteIdentifier(tenant.schemaName)}."Project" WHERE name = 'csrf'`);
      expect(rows[0].n).toBe(0);
      process.stderr.write(`R8: ${attacks.length} attacks rejected with typed errors, 0 5xx:\n  ${results.join('\n  ')}\n`);
    });
  });

  async function catalogCounts(): Promise<{ schemas: number; roles: number }> {
    // Roles are cluster-wide and other suites create theirs meanwhile: count this installation's only.
    const { rows } = await admin.query<{ schemas: number; roles: number }>(
      `SELECT (SELECT count(*)::int FROM pg_namespace) AS schemas,
              (SELECT count(*)::int FROM pg_roles WHERE starts_with(rolname, $1)) AS roles`,
      [rolePrefixOf(api.config)],
    );
    return rows[0];
  }
});
