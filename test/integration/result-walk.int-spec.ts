import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';

const PROJECTS = 20;

// Prisma walks every result row of a client with any extension to add computed fields; scripts/prisma-generate.js
// skips the walk when no extension declares any (Tenantry's own is a query hook). These run on real PostgreSQL.
describe('tenant clients and Prisma’s result walk', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let schema: string;

  beforeAll(async () => {
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error', PG_POOL_MAX: '2' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    const id = randomTenantId('walk');
    schema = (await app.get(TenantProvisioner).create({ id, name: id, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD })).schemaName;
    const client = app.get(TenantConnectionService).forSchema(schema);
    const owner = await client.user.findFirstOrThrow();
    await client.project.createMany({ data: Array.from({ length: PROJECTS }, (_, i) => ({ name: `project ${i}`, ownerId: owner.id })) });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  // The walk asks the newest extension for each row's computed fields: counting those asks counts the rows walked.
  function countingWalks(client: object): { stop: () => number } {
    const newest = (client as { _extensions: { head: object } })._extensions.head;
    const spy = jest.spyOn(Object.getPrototypeOf(newest) as { getAllComputedFields: (model: string) => unknown }, 'getAllComputedFields');
    return { stop: () => ((calls) => (spy.mockRestore(), calls))(spy.mock.calls.length) };
  }

  it('reads a page of projects with owners without walking its rows', async () => {
    const client = app.get(TenantConnectionService).forSchema(schema);
    const walking = countingWalks(client);
    const rows = await client.project.findMany({ select: { id: true, name: true, createdAt: true, owner: { select: { id: true, email: true } } } });
    const walks = walking.stop();
    expect(rows).toHaveLength(PROJECTS);
    expect(rows.every((row) => row.createdAt instanceof Date && row.owner.email.startsWith('admin@'))).toBe(true);
    expect(walks).toBeLessThan(PROJECTS);
  });

  it('still gives every row its computed field when an extension declares one', async () => {
    const client = app
      .get(TenantConnectionService)
      .forSchema(schema)
      .$extends({ result: { project: { shout: { needs: { name: true }, compute: (project) => project.name.toUpperCase() } } } });
    const walking = countingWalks(client);
    const rows = await client.project.findMany({ select: { name: true, shout: true, owner: { select: { email: true } } } });
    const walks = walking.stop();
    expect(rows).toHaveLength(PROJECTS);
    expect(rows.every((row) => row.shout === row.name.toUpperCase() && row.owner.email.startsWith('admin@'))).toBe(true);
    expect(walks).toBeGreaterThanOrEqual(PROJECTS);
  });
});
