import { request } from 'node:http';
import { Client } from 'pg';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument } from '../generated/graphql';
import { startPostgres, type PostgresProcess } from '../support/postgres-server';

type Ready = { status: number; body: { status: string; checks: Record<string, string> } };

function ready(baseUrl: string): Promise<Ready> {
  const url = new URL('/health/ready', baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, attempts = 300): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Writers creating projects as fast as they can; records what was acknowledged and how failures looked. */
function startWriters(api: TestApp, tenant: TestTenant, count: number) {
  const acknowledged: { id: string; name: string }[] = [];
  const errorCodes: string[] = [];
  const transportErrors: string[] = [];
  let running = true;
  let sequence = 0;
  const writer = async (n: number) => {
    while (running) {
      const name = `w${n}-${sequence++}`;
      try {
        const res = await gql(api.baseUrl, CreateProjectDocument, { input: { name } }, { header: tenant.id, token: tenant.token });
        const id = res.body.data?.createProject.id;
        if (id) acknowledged.push({ id, name });
        else errorCodes.push(...codes(res.body));
        // An outage answers at once; do not spin.
        if (!id) await new Promise((resolve) => setTimeout(resolve, 20));
      } catch (error) {
        transportErrors.push((error as Error).message);
      }
    }
  };
  const done = Promise.all(Array.from({ length: count }, (_, n) => writer(n)));
  return {
    acknowledged,
    errorCodes,
    transportErrors,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('PostgreSQL restarted under load', () => {
  let pg: PostgresProcess;
  let api: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    pg = await startPostgres();
    api = await startApp({}, { name: 'postgres', url: pg.url, drop: async () => undefined });
    tenant = await newTenant(api, { plan: 'enterprise' });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await pg?.destroy();
  });

  it('recovers without restarting the API, answers SERVICE_UNAVAILABLE meanwhile and loses no acknowledged write', async () => {
    expect((await ready(api.baseUrl)).body.status).toBe('ok');
    const writers = startWriters(api, tenant, 4);
    await until('writes before the restart', async () => (writers.acknowledged.length >= 20 ? true : undefined));

    await pg.stop();
    const down = await until('readiness down', async () => {
      const res = await ready(api.baseUrl);
      return res.body.status === 'down' ? res : undefined;
    });
    await until('writes refused during the outage', async () => (writers.errorCodes.length >= 4 ? true : undefined));
    const ackedBeforeRestart = writers.acknowledged.length;

    await pg.start();
    const up = await until('readiness up', async () => {
      const res = await ready(api.baseUrl);
      return res.body.status === 'ok' ? res : undefined;
    });
    await until('writes after the restart', async () => (writers.acknowledged.length >= ackedBeforeRestart + 20 ? true : undefined));
    await writers.stop();

    expect(down.status).toBe(503);
    expect(down.body.checks.database).toBe('down');
    expect(up.status).toBe(200);
    // The server stayed up and every refusal was typed.
    expect(writers.transportErrors).toEqual([]);
    expect(new Set(writers.errorCodes)).toEqual(new Set(['SERVICE_UNAVAILABLE']));

    const client = new Client({ connectionString: pg.url });
    await client.connect();
    const { rows } = await client.query<{ id: string; name: string }>(`SELECT id, name FROM "${tenant.schemaName}"."Project"`);
    await client.end();
    const stored = new Map(rows.map((row) => [row.id, row.name]));
    const lost = writers.acknowledged.filter(({ id, name }) => stored.get(id) !== name);
    expect(lost).toEqual([]);
    expect(writers.acknowledged.length).toBeGreaterThanOrEqual(40);
    // Stopping and starting a cluster under load: slow on a loaded machine.
  }, 240_000);
});
