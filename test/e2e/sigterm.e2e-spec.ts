import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { print } from 'graphql';
import { Client } from 'pg';
import { startApp, TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { gql, headersFor } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument, MeDocument, UpdateProjectDocument } from '../generated/graphql';
import { freePort } from '../../src/database/embedded-postgres';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

/** One request on its own connection (no keep-alive): after SIGTERM it must be refused, not queued. */
function freshPost(port: number, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent: false, host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function until(what: string, probe: () => Promise<boolean>, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('SIGTERM under load', () => {
  let db: TestDatabase;
  let tenant: TestTenant;
  let child: ChildProcess | undefined;
  let locker: Client | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run pretest\` first`);
    db = await newDatabase();
    // Provision in-process, then serve from a real `node dist/src/main.js` over the same database.
    const provisioning = await startApp({}, db);
    tenant = await newTenant(provisioning, { plan: 'enterprise' });
    await provisioning.close();
  });
  afterAll(async () => {
    await locker?.end().catch(() => undefined);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.drop();
  });

  it('stops accepting, finishes in-flight requests (one blocked 2 s on a row lock), closes the pool and exits 0', async () => {
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: String(port), DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info' };
    const api = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = api;
    let output = '';
    api.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    api.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => api.once('exit', (code) => resolve(code)));
    await until('the API to listen', async () => output.includes('GraphQL API on'));
    const baseUrl = `http://127.0.0.1:${port}`;
    const via = { header: tenant.id, token: tenant.token };

    const created = await gql(baseUrl, CreateProjectDocument, { input: { name: 'before' } }, via);
    const projectId = created.body.data!.createProject.id;

    // The test holds the project's row lock, so the update below waits on it inside the API.
    const lock = new Client({ connectionString: db.url });
    locker = lock;
    lock.on('error', () => undefined);
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query(`SELECT id FROM "${tenant.schemaName}"."Project" WHERE id = $1 FOR UPDATE`, [projectId]);
    const slow = gql(baseUrl, UpdateProjectDocument, { id: projectId, input: { name: 'after' } }, via);
    // Quick requests around the signal: each either completes cleanly or gets no answer at all.
    let loading = true;
    const loadResults: string[] = [];
    const load = (async () => {
      while (loading) {
        try {
          const res = await freshPost(port, JSON.stringify({ query: print(MeDocument) }), headersFor(via, port));
          loadResults.push(String(res));
        } catch (error) {
          loadResults.push((error as NodeJS.ErrnoException).code ?? 'error');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();
    await until('the update to wait on the lock', async () => {
      const { rows } = await lock.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [db.name]);
      return rows[0].n > 0;
    });

    api.kill('SIGTERM');
    await until('shutdown to begin', async () => output.includes('SIGTERM: shutting down'));
    // New connections are refused while the update still waits.
    await until('new connections to be refused', async () => {
      try {
        await freshPost(port, JSON.stringify({ query: print(MeDocument) }), headersFor(via, port));
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(api.exitCode).toBeNull();
    await lock.query('COMMIT');
    await lock.end();
    locker = undefined;

    const updated = await slow;
    expect(updated.status).toBe(200);
    expect(updated.body.errors).toBeUndefined();
    expect(updated.body.data?.updateProject.name).toBe('after');
    expect(await exited).toBe(0);
    loading = false;
    await load;

    // Every request the API answered succeeded; the others never got an answer: refused at connect, or reset
    // when a connection not yet carrying a request was closed (clients retry those).
    expect(loadResults.length).toBeGreaterThan(0);
    for (const result of loadResults) expect(['200', 'ECONNREFUSED', 'ECONNRESET']).toContain(result);
    expect(output).toContain('Requests in flight finished');
    const check = new Client({ connectionString: db.url });
    await check.connect();
    const { rows } = await check.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tenantry'`, [db.name]);
    const stored = await check.query(`SELECT name FROM "${tenant.schemaName}"."Project" WHERE id = $1`, [projectId]);
    await check.end();
    expect(rows[0].n).toBe(0);
    expect(stored.rows[0].name).toBe('after');
    // A real process, a database and a 2 s hold: on a loaded machine this takes well over a minute.
  }, 240_000);
});
