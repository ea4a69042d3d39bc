import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { APPLICATION_NAME } from '../../src/database/database-tokens';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { startApp, type TestApp } from '../factories/app';
import { gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument, ProjectDocument, ProjectsDocument } from '../generated/graphql';

const TENANTS = 50;
const POOL_MAX = 5;
const CLIENT_CACHE = 10;
// Each tenant's requests in the burst: 2 creates and 3 lists.
const ROUNDS = ['create', 'list', 'create', 'list', 'list'] as const;
const CREATES_PER_TENANT = ROUNDS.filter((kind) => kind === 'create').length;

// Runs in its own process, so the busy API's event loop cannot stretch the sampling interval.
const SAMPLER = `
const { Client } = require(process.env.PG_MODULE);
const client = new Client({ connectionString: process.env.DB_URL, application_name: 'tenantry-test-sampler' });
let stopping = false;
process.stdin.on('end', () => (stopping = true)).resume();
(async () => {
  await client.connect();
  process.stdout.write('ready\\n');
  while (!stopping) {
    const { rows } = await client.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
      [process.env.DB_NAME, process.env.APP_NAME],
    );
    process.stdout.write(rows[0].n + '\\n');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await client.end();
})().catch((error) => { process.stderr.write(String(error.stack ?? error)); process.exit(1); });
`;

/** Counts the API's server connections every ~5 ms from a separate process until stopped. */
async function startSampler(dbUrl: string, dbName: string) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ['-e', SAMPLER], {
    env: { PATH: process.env.PATH ?? '', PG_MODULE: require.resolve('pg'), DB_URL: dbUrl, DB_NAME: dbName, APP_NAME: APPLICATION_NAME },
  });
  const samples: number[] = [];
  let buffered = '';
  let stderr = '';
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') ready();
      else samples.push(Number(line));
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await Promise.race([started, exited.then(() => Promise.reject(new Error(`sampler failed: ${stderr}`)))]);
  return {
    samples,
    /** Marks where the next phase begins in `samples`. */
    mark: () => samples.length,
    stop: async () => {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`sampler exited with ${code}: ${stderr}`);
      return samples;
    },
  };
}

describe('connections stay bounded under concurrent multi-tenant load', () => {
  let api: TestApp;
  let sampler: Awaited<ReturnType<typeof startSampler>> | undefined;

  beforeAll(async () => {
    api = await startApp({ PG_POOL_MAX: String(POOL_MAX), TENANT_CLIENT_CACHE_SIZE: String(CLIENT_CACHE) });
    sampler = await startSampler(api.db.url, api.db.name);
  });
  afterAll(async () => {
    await sampler?.stop().catch(() => undefined);
    await api?.close();
  });

  it(`serves ${TENANTS * ROUNDS.length} concurrent requests over ${TENANTS} tenants on at most ${POOL_MAX} connections, each tenant seeing only its own data`, async () => {
    const tenants: TestTenant[] = [];
    // Provision a few at a time: the provisioner also draws on the bounded pool.
    for (let i = 0; i < TENANTS; i += 5) tenants.push(...(await Promise.all(Array.from({ length: 5 }, () => newTenant(api)))));
    const burstStart = sampler!.mark();
    const connections = api.app.get(TenantConnectionService);
    const before = { ...connections.stats };

    // Interleave tenants so consecutive requests keep missing the 10-client LRU.
    const calls: (() => Promise<{ tenant: TestTenant; kind: 'create' | 'list'; name?: string; body: unknown; status: number }>)[] = [];
    for (const kind of ROUNDS) {
      for (const tenant of tenants) {
        const via = { header: tenant.id, token: tenant.token };
        if (kind === 'create') {
          const name = `${tenant.id}:${randomUUID()}`;
          calls.push(async () => {
            const res = await gql(api.baseUrl, CreateProjectDocument, { input: { name } }, via);
            return { tenant, kind: 'create', name, body: res.body, status: res.status };
          });
        } else {
          calls.push(async () => {
            const res = await gql(api.baseUrl, ProjectsDocument, { first: 100 }, via);
            return { tenant, kind: 'list', body: res.body, status: res.status };
          });
        }
      }
    }
    const started = Date.now();
    const results = await Promise.all(calls.map((call) => call()));
    const burstMs = Date.now() - started;
    const burstEnd = sampler!.mark();

    const failed = results.filter((r) => r.status !== 200 || (r.body as { errors?: unknown }).errors !== undefined);
    expect(failed.map((r) => ({ tenant: r.tenant.id, kind: r.kind, status: r.status, body: r.body }))).toEqual([]);
    for (const r of results) {
      const data = (r.body as { data: Record<string, unknown> }).data;
      if (r.kind === 'create') {
        expect(data.createProject).toMatchObject({ name: r.name, owner: { email: r.tenant.adminEmail } });
      } else {
        const nodes = (data.projects as { edges: { node: { name: string; owner: { email: string } } }[] }).edges.map((e) => e.node);
        for (const node of nodes) {
          expect(node.name.startsWith(`${r.tenant.id}:`)).toBe(true);
          expect(node.owner.email).toBe(r.tenant.adminEmail);
        }
      }
    }

    // Afterwards every tenant holds exactly the projects it created, and cannot read its neighbour's.
    for (const [i, tenant] of tenants.entries()) {
      const via = { header: tenant.id, token: tenant.token };
      const created = results.filter((r) => r.tenant === tenant && r.kind === 'create');
      const list = await gql(api.baseUrl, ProjectsDocument, { first: 100 }, via);
      expect(list.body.data?.projects.totalCount).toBe(CREATES_PER_TENANT);
      expect(list.body.data?.projects.edges.map((e) => e.node.name).sort()).toEqual(created.map((r) => r.name).sort());

      const neighbour = tenants[(i + 1) % tenants.length];
      const theirs = results.find((r) => r.tenant === neighbour && r.kind === 'create')!;
      const theirId = (theirs.body as { data: { createProject: { id: string } } }).data.createProject.id;
      const peek = await gql(api.baseUrl, ProjectDocument, { id: theirId }, via);
      expect(peek.body.errors).toBeUndefined();
      expect(peek.body.data?.project).toBeNull();
    }

    const samples = await sampler!.stop();
    sampler = undefined;
    const burst = samples.slice(burstStart, burstEnd);
    const peak = Math.max(...samples);
    const burstPeak = Math.max(...burst);
    const evictions = connections.stats.evictions - before.evictions;
    process.stdout.write(
      `connection-bound: ${results.length} concurrent requests over ${tenants.length} tenants in ${burstMs} ms; ` +
        `peak server connections ${burstPeak} during the burst (${burst.length} samples), ${peak} overall (${samples.length} samples); ` +
        `client LRU during the burst: ${connections.stats.misses - before.misses} misses, ${connections.stats.hits - before.hits} hits, ${evictions} evictions\n`,
    );

    expect(results.length).toBeGreaterThanOrEqual(200);
    expect(burst.length).toBeGreaterThan(0);
    expect(burstPeak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(POOL_MAX);
    expect(evictions).toBeGreaterThan(0);
    expect(connections.size).toBeLessThanOrEqual(CLIENT_CACHE);
  });
});
