import { get } from 'node:http';
import { Client } from 'pg';
import { TenantMover, type MoveStep } from '../../src/control-plane/tenant-move.service';
import { TenantAuditRepository } from '../../src/control-plane/tenant-audit.repository';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { TenantRoles } from '../../src/tenancy/tenant-roles.service';
import { startApp, type TestApp } from '../factories/app';
import { gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument } from '../generated/graphql';
import { SECOND_DATABASE, startSecondDatabase, type SecondDatabase } from '../support/second-database';
import { waitFor } from '../support/tenants-cli';

// Writes are offered every 10 ms (100/s), each over its own HTTP request, well above the 50/s the move must survive.
const WRITE_EVERY_MS = 10;
const ADMIN_TOKEN = 'platform-admin-token-for-the-move-suite';

// No keep-alive agent: an idle socket left open would outlive the suite.
function scrapeMetrics(baseUrl: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    get(new URL('/metrics', baseUrl), { agent: false, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    }).on('error', reject);
  });
}

describe('tenants move under write load', () => {
  let second: SecondDatabase;
  let api: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    second = await startSecondDatabase();
    api = await startApp({ ...second.env, TENANT_CACHE_TTL_MS: '500', PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
    tenant = await newTenant(api);
  }, 180_000);
  afterAll(async () => {
    await api?.close();
    await second?.destroy();
  });

  it('loses no acknowledged write, accepts none on the source after the fence, and answers TENANT_MOVING meanwhile', async () => {
    const acknowledged: { id: string; at: number }[] = [];
    const refusals = new Map<string, number>();
    const inFlight = new Set<Promise<void>>();
    let offered = 0;
    const write = async () => {
      const res = await gql(api.baseUrl, CreateProjectDocument, { input: { name: `load ${offered++}` } }, { header: tenant.id, token: tenant.token });
      if (res.body.data) acknowledged.push({ id: res.body.data.createProject.id, at: Date.now() });
      else {
        const code = String(res.body.errors?.[0]?.extensions?.code);
        refusals.set(code, (refusals.get(code) ?? 0) + 1);
      }
    };
    const timer = setInterval(() => {
      const p = write().finally(() => inFlight.delete(p));
      inFlight.add(p);
    }, WRITE_EVERY_MS);

    const source = new Client({ connectionString: api.db.url });
    await source.connect();
    const role = quoteIdentifier(api.app.get(TenantRoles).roleOf(tenant.id));
    const steps: { step: MoveStep; at: number }[] = [];
    let probe: Promise<string> | undefined;
    let started = 0;
    // Right after the fence, as the tenant's role on the source: a write must be refused there.
    const writeOnSource = async () => {
      await source.query('BEGIN');
      try {
        await source.query(`SET LOCAL ROLE ${role}`);
        await source.query(`INSERT INTO ${quoteIdentifier(tenant.schemaName)}."Project" (id, name, "ownerId", "createdAt", "updatedAt") VALUES (gen_random_uuid(), 'sneaky', $1, now(), now())`, [tenant.adminId]);
        return 'accepted';
      } catch (error) {
        return String((error as { code?: string }).code);
      } finally {
        await source.query('ROLLBACK');
      }
    };
    try {
      // Until the API acknowledges writes steadily (the first ones pay for a cold client on a loaded machine).
      await waitFor('50 acknowledged writes', async () => (acknowledged.length >= 50 ? true : undefined), 60_000);
      started = Date.now();
      const report = await api.app.get(TenantMover).move(tenant.id, SECOND_DATABASE, 'test:move', (step) => {
        steps.push({ step, at: Date.now() });
        if (step === 'fenced') probe = writeOnSource();
      });
      expect(report).toMatchObject({ from: 'primary', to: SECOND_DATABASE });
      expect(report.tables.find((t) => t.name === 'Project')!.rows).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      clearInterval(timer);
      await Promise.all(inFlight);
    }
    try {
      // The source schema is gone after verification: nothing can land there any more.
      expect((await source.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [tenant.schemaName])).rowCount).toBe(0);
    } finally {
      await source.end();
    }
    expect(await probe).toBe('42501');

    const destination = new Client({ connectionString: second.url });
    await destination.connect();
    const { rows } = await destination.query<{ id: string }>(`SELECT id FROM ${quoteIdentifier(tenant.schemaName)}."Project"`);
    await destination.end();
    const there = new Set(rows.map((row) => row.id));
    expect(acknowledged.filter((w) => !there.has(w.id))).toEqual([]);
    // A write may commit and still fail its response (its owner is read after the fence): never the other way round.
    expect(rows.length).toBeGreaterThanOrEqual(acknowledged.length);
    // Refused requests were told to retry, never given an internal error nor told the tenant is unknown (a request
    // that resolved the old placement and reached SQL after the source was dropped is answered TENANT_MOVING too).
    expect([...refusals.keys()].filter((code) => code !== 'TENANT_MOVING')).toEqual([]);

    const fenced = steps.find((s) => s.step === 'fenced')!.at;
    const flipped = steps.find((s) => s.step === 'flipped')!.at;
    const before = acknowledged.filter((w) => w.at < started).length;
    const during = acknowledged.filter((w) => w.at >= started && w.at <= fenced).length;
    // Writes were accepted before the move and again after the flip, now on the destination.
    expect(before).toBeGreaterThan(0);
    expect(acknowledged.filter((w) => w.at > flipped).length).toBeGreaterThan(0);
    expect(refusals.get('TENANT_MOVING') ?? 0).toBeGreaterThan(0);
    process.stderr.write(
      `tenant-move: ${offered} writes offered (one per ${WRITE_EVERY_MS} ms), ${acknowledged.length} acknowledged (${before} before the move, ${during} between its start and the fence), ` +
        `fenced for ${flipped - fenced} ms of a ${flipped - started} ms move; refusals ${JSON.stringify(Object.fromEntries(refusals))}\n`,
    );

    const audit = await api.app.get(TenantAuditRepository).list(tenant.id, 5);
    expect(audit.find((a) => a.action === 'move')).toMatchObject({ result: 'ok', details: { from: 'primary', to: SECOND_DATABASE, previous: 'ACTIVE' } });
    expect(await api.app.get(TenantRegistryRepository).getById(tenant.id)).toMatchObject({ status: 'ACTIVE', database: SECOND_DATABASE });
  }, 180_000);

  it('reports the request pool of each database it serves from on /metrics, by database label', async () => {
    // A write now on the second database keeps a connection of its pool open for the scrape.
    const write = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'before the scrape' } }, { header: tenant.id, token: tenant.token });
    expect(write.body.errors).toBeUndefined();
    const { status, text } = await scrapeMetrics(api.baseUrl);
    expect(status).toBe(200);
    const value = (name: string, database: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}{database="${database}"} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    // The tenant's writes ran on the primary before the move and on the second database after it: one series each
    // (the primary's idle connections may have timed out since).
    for (const database of ['primary', SECOND_DATABASE]) {
      for (const name of ['tenantry_pg_pool_size', 'tenantry_pg_pool_idle', 'tenantry_pg_pool_waiting']) {
        expect([name, database, value(name, database)]).toEqual([name, database, expect.any(Number)]);
      }
      expect(value('tenantry_pg_pool_waiting', database)).toBe(0);
    }
    expect(value('tenantry_pg_pool_size', SECOND_DATABASE)).toBeGreaterThan(0);
  });

  it('answers a statement sent to the dropped source copy with the retryable TENANT_MOVING', async () => {
    // The tenant now lives on the second database; a client still holding the old placement finds no table there.
    const stale = api.app.get(TenantConnectionService).forSchema(tenant.schemaName, 'primary');
    await expect(stale.project.count()).rejects.toMatchObject({ code: 'TENANT_MOVING', details: { retryable: true } });
    const res = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'after the move' } }, { header: tenant.id, token: tenant.token });
    expect(res.body.errors).toBeUndefined();
  }, 60_000);
});
