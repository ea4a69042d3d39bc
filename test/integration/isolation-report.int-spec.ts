import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import type { IsolationCheckRecord } from '../../src/control-plane/isolation-check.repository';
import { IsolationChecker } from '../../src/tenancy/isolation-check.service';
import { IsolationReporter, type IsolationReport } from '../../src/tenancy/isolation-report.service';
import { quoteIdentifier, tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TenantRoles } from '../../src/tenancy/tenant-roles.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, jsonReport, runTenantsCli } from '../support/tenants-cli';

describe('isolation report and check', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let observer: Client;
  let roles: TenantRoles;
  let ids: string[];

  const role = (id: string) => quoteIdentifier(roles.roleOf(id));
  const projects = (id: string) => `${quoteIdentifier(tenantSchemaName(id))}."Project"`;

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    await app.init();
    observer = new Client({ connectionString: db.url });
    await observer.connect();
    roles = app.get(TenantRoles);
    ids = [randomTenantId('iso'), randomTenantId('iso'), randomTenantId('iso')].sort();
    for (const id of ids) {
      await app.get(TenantProvisioner).create({ id, name: id, adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD });
    }
  });

  afterAll(async () => {
    await observer?.end();
    await app?.close();
    await db?.drop();
  });

  it("reports a fresh tenant's grants from pg_catalog with no findings, over the CLI too", async () => {
    const [a] = ids;
    const report = await app.get(IsolationReporter).report(a);
    expect(report).toMatchObject({ tenant: a, schema: tenantSchemaName(a), schemaExists: true, role: roles.roleOf(a), roleExists: true, findings: [] });
    expect(report.grants).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'schema', grantee: roles.roleOf(a), privileges: ['USAGE'] }),
        expect.objectContaining({ kind: 'table', object: 'Project', grantee: roles.roleOf(a), privileges: ['DELETE', 'INSERT', 'SELECT', 'UPDATE'] }),
        expect.objectContaining({ kind: 'default privileges on tables', grantee: roles.roleOf(a) }),
      ]),
    );
    // Nobody but the tenant's role holds anything on the ledger, and no other tenant's role appears at all.
    expect(report.grants.filter((g) => g.object === '_tenantry_migrations' && g.grantee !== g.owner)).toEqual([]);
    const others = ids.slice(1).map((id) => roles.roleOf(id));
    expect(report.grants.filter((g) => others.includes(g.grantee))).toEqual([]);
    const tables = report.grants.filter((g) => g.kind === 'table' && g.object !== '_tenantry_migrations').map((g) => g.object);
    expect(tables).toEqual(expect.arrayContaining(['Project', 'User']));
    expect(report.reachableBy.filter((r) => r.via !== 'superuser')).toEqual(
      expect.arrayContaining([
        { role: roles.roleOf(a), via: 'privileges', objects: [...new Set(tables)].sort() },
        { role: roles.runtimeRole, via: 'membership', objects: [] },
      ]),
    );

    const cli = await runTenantsCli(db.url, ['isolation-report', a, '--json']);
    expect(cli.code).toBe(0);
    expect(jsonReport<IsolationReport>(cli).findings).toEqual([]);
  });

  it("names another tenant's role granted SELECT on a table, and exits 1", async () => {
    const [a, b] = ids;
    await observer.query(`GRANT SELECT ON ${projects(a)} TO ${role(b)}`);
    try {
      const report = await app.get(IsolationReporter).report(a);
      expect(report.findings).toEqual([`${roles.roleOf(b)} holds SELECT on table Project`]);
      const cli = await runTenantsCli(db.url, ['isolation-report', a, '--json']);
      expect(cli.code).toBe(1);
      expect(jsonReport<IsolationReport>(cli).findings).toEqual(report.findings);
      // The neighbour's own report is unaffected.
      expect((await app.get(IsolationReporter).report(b)).findings).toEqual([]);
    } finally {
      await observer.query(`REVOKE SELECT ON ${projects(a)} FROM ${role(b)}`);
    }
    expect((await app.get(IsolationReporter).report(a)).findings).toEqual([]);
  });

  it('probes cross-tenant reads under the real roles, records the check, and fails when one goes through', async () => {
    const [a, b] = ids;
    const clean = await app.get(IsolationChecker).check({ allPairs: true });
    expect(clean).toMatchObject({ ok: true, tenants: 3, probes: 3 + 6, failures: [] });
    expect((await app.get(IsolationReporter).report(a)).lastCheck).toEqual(clean);

    // B's role can now reach A's users: the live probe must catch it.
    await observer.query(`GRANT USAGE ON SCHEMA ${quoteIdentifier(tenantSchemaName(a))} TO ${role(b)}`);
    await observer.query(`GRANT SELECT ON ${quoteIdentifier(tenantSchemaName(a))}."User" TO ${role(b)}`);
    try {
      const cli = await runTenantsCli(db.url, ['isolation-check', '--all-pairs', '--json']);
      expect(cli.code).toBe(1);
      const leaky = jsonReport<IsolationCheckRecord>(cli);
      expect(leaky).toMatchObject({ ok: false, failures: [{ from: b, to: a, outcome: 'readable' }] });
      const report = await app.get(IsolationReporter).report(a);
      expect(report.lastCheck).toMatchObject({ id: leaky.id, ok: false });
      expect(report.findings).toEqual(expect.arrayContaining([`${roles.roleOf(b)} can reach User`]));
    } finally {
      await observer.query(`REVOKE ALL ON ${quoteIdentifier(tenantSchemaName(a))}."User" FROM ${role(b)}`);
      await observer.query(`REVOKE USAGE ON SCHEMA ${quoteIdentifier(tenantSchemaName(a))} FROM ${role(b)}`);
    }
    expect(await app.get(IsolationChecker).check()).toMatchObject({ ok: true, probes: 3 + 3 });
  });
});
