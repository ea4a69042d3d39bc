import { Pool } from 'pg';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { ProjectsDocument } from '../generated/graphql';

// Pool and cap small enough that A's flood alone could take every connection without the per-tenant cap.
const POOL_MAX = 6;
const PER_TENANT = 3;

describe('a noisy neighbour over HTTP', () => {
  let api: TestApp;
  let admin: Pool;
  let noisy: TestTenant;
  let quiet: TestTenant;

  beforeAll(async () => {
    api = await startApp({ PG_POOL_MAX: String(POOL_MAX), TENANT_MAX_CONNECTIONS: String(PER_TENANT) });
    admin = new Pool({ connectionString: api.db.url, max: 2 });
    noisy = await newTenant(api, { plan: 'free' });
    quiet = await newTenant(api, { plan: 'pro' });
  });
  afterAll(async () => {
    await admin?.end();
    await api?.close();
  });

  it("serves every request of tenant B while tenant A floods statements that hang until A's plan timeout", async () => {
    // Every read of A's projects waits on this lock: A's requests hold connections until the free plan's 2 s cancel them.
    const lock = await admin.connect();
    await lock.query('BEGIN');
    await lock.query(`LOCK TABLE ${quoteIdentifier(noisy.schemaName)}."Project" IN ACCESS EXCLUSIVE MODE`);
    try {
      const flood = Promise.all(
        Array.from({ length: POOL_MAX * 4 }, () => gql(api.baseUrl, ProjectsDocument, { first: 5 }, { header: noisy.id, token: noisy.token })),
      );
      // B's requests, while A's are blocked in the database.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const quietResults = [];
      for (let i = 0; i < 20; i++) {
        quietResults.push(await gql(api.baseUrl, ProjectsDocument, { first: 5 }, { header: quiet.id, token: quiet.token }));
      }
      const noisyResults = await flood;

      expect(quietResults.map((res) => codes(res.body))).toEqual(quietResults.map(() => []));
      // A's statements that ran were cancelled by its plan's timeout; those that waited as long for one of A's slots
      // were turned away (A is heavy now: one slot). Typed errors both, never 500s.
      const noisyCodes = new Set(noisyResults.flatMap((res) => codes(res.body)));
      expect([...noisyCodes].sort()).toEqual(['QUERY_TIMEOUT', 'TENANT_BUSY']);
      expect(noisyResults.filter((res) => res.status === 500)).toEqual([]);
      const busy = noisyResults.find((res) => codes(res.body).includes('TENANT_BUSY'))!;
      expect(busy.body.errors?.[0]?.extensions?.retryAfterSeconds).toBe(1);
    } finally {
      await lock.query('ROLLBACK');
      lock.release();
    }
    // A is served again once its neighbour's lock is gone.
    const after = await gql(api.baseUrl, ProjectsDocument, { first: 5 }, { header: noisy.id, token: noisy.token });
    expect(codes(after.body)).toEqual([]);
  }, 120_000);
});
