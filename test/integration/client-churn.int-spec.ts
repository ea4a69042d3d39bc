import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Pool } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { TENANT_POOL } from '../../src/database/database-tokens';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';

const CLIENTS = 10_000;
const SAMPLE_EVERY = 1_000;
const TENANTS = 20;
// Far below TENANTS: cycling through the schemas in order misses the LRU on every access.
const CACHE_SIZE = 5;

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

describe('tenant client churn', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  const schemas: string[] = [];

  beforeAll(async () => {
    db = await newDatabase();
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'error',
      TENANT_CLIENT_CACHE_SIZE: String(CACHE_SIZE),
      PG_POOL_MAX: '5',
    });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    const provisioner = app.get(TenantProvisioner);
    for (let i = 0; i < TENANTS; i++) {
      const id = randomTenantId('churn');
      const tenant = await provisioner.create({ id, name: id, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD });
      schemas.push(tenant.schemaName);
    }
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it(`creates, queries and disposes ${CLIENTS} tenant clients with memory levelling off`, async () => {
    const connections = app.get(TenantConnectionService);
    const pool = app.get<Pool>(TENANT_POOL);
    // A full collection before each sample, so samples measure what is kept, not when V8 last collected: a client
    // now costs so little that the old generation can go a whole half of the run without a major GC.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const before = { ...connections.stats };
    const errorListenersBefore = pool.listenerCount('error');
    const rss: number[] = [];
    const started = Date.now();

    for (let i = 1; i <= CLIENTS; i++) {
      const users = await connections.forSchema(schemas[i % TENANTS]).user.count();
      if (users !== 1) throw new Error(`access ${i} counted ${users} users in ${schemas[i % TENANTS]}`);
      if (i % SAMPLE_EVERY === 0) {
        gc();
        rss.push(mb(process.memoryUsage().rss));
        process.stdout.write(`client-churn: ${i} clients, RSS ${rss.at(-1)} MB, heap ${mb(process.memoryUsage().heapUsed)} MB\n`);
      }
    }
    const elapsed = Date.now() - started;
    const created = connections.stats.misses - before.misses;
    process.stdout.write(
      `client-churn: ${created} clients created, ${connections.stats.evictions - before.evictions} evicted in ${elapsed} ms ` +
        `(a full GC before each sample); RSS MB: ${rss.join(', ')}\n`,
    );

    // Every access made a new client, and every one but the cached few was evicted.
    expect(created).toBe(CLIENTS);
    expect(connections.stats.evictions - before.evictions).toBe(CLIENTS - CACHE_SIZE);
    expect(connections.size).toBe(CACHE_SIZE);
    // No adapter may leave a listener on the shared request pool (each listens on its own scoped pool).
    expect(pool.listenerCount('error')).toBeLessThanOrEqual(errorListenersBefore + CACHE_SIZE);
    expect(pool.totalCount).toBeLessThanOrEqual(5);

    // Levels off. Without a forced GC, RSS saw-tooths by about a third of its size, so compare peaks, not points:
    // the second half's peak stays within a quarter of the starting RSS of the first half's, and the second half
    // does not rise (beyond 5% noise) at every sample. A client retained per access (~150 KB) fails both.
    const firstHalf = rss.slice(0, rss.length / 2);
    const secondHalf = rss.slice(rss.length / 2);
    const steps = [firstHalf.at(-1)!, ...secondHalf];
    const rises = steps.slice(1).filter((value, i) => value - steps[i] > rss[0] * 0.05).length;
    const peakGrowth = Math.max(...secondHalf) - Math.max(...firstHalf);
    process.stdout.write(`client-churn: second-half peak growth ${peakGrowth} MB (bound ${Math.round(rss[0] * 0.25)} MB), ${rises}/${secondHalf.length} rising samples\n`);
    expect(rises).toBeLessThan(secondHalf.length);
    expect(peakGrowth).toBeLessThan(rss[0] * 0.25);
    // A memory test, not a speed one: each client costs a few ms to build, more on a loaded machine.
  }, 10 * 60_000);
});
