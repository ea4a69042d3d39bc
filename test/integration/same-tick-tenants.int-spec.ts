import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import type { TenantRecord } from '../../src/control-plane/tenant-record';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { TenantContext } from '../../src/tenancy/tenant-context';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';

// Prisma batches findUnique calls made in the same tick on one client into one statement. A design where requests of
// several tenants share one client and pick the schema when a statement is sent (tried on 2026-11-25) sent tenant B's
// lookup with tenant A's and answered B with A's row; one client per tenant schema keeps every batch in one tenant.
describe("tenants' statements issued in the same tick", () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let connections: TenantConnectionService;
  const tenants: TenantRecord[] = [];
  const as = <T>(tenant: TenantRecord, run: () => Promise<T>) => TenantContext.run({ requestId: `test-${tenant.id}`, tenant }, run);

  beforeAll(async () => {
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', PG_POOL_MAX: '4' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    connections = app.get(TenantConnectionService);
    for (const prefix of ['tick-a', 'tick-b', 'tick-c']) {
      const id = randomTenantId(prefix);
      tenants.push(await app.get(TenantProvisioner).create({ id, name: id, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD }));
    }
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers each tenant from its own schema when their unique lookups of the same email are batched in one tick', async () => {
    const email = 'same-person@example.test';
    const idOf = new Map<string, string>();
    for (const tenant of tenants) {
      const user = await as(tenant, async () => await connections.current().user.create({ data: { email, name: tenant.id, passwordHash: 'x' } }));
      idOf.set(tenant.id, user.id);
    }
    for (let round = 0; round < 5; round++) {
      const found = await Promise.all(
        tenants.map((tenant) => as(tenant, async () => await connections.current().user.findUnique({ where: { email }, select: { id: true, name: true } }))),
      );
      expect(found).toEqual(tenants.map((tenant) => ({ id: idOf.get(tenant.id), name: tenant.id })));
    }
  });
});
