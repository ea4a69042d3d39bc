import { Pool } from 'pg';
import { CONTROL_SCHEMA } from '../../src/control-plane/control-plane-migrator';
import { applyMigrationsInTransaction, loadMigrations } from '../../src/tenancy/migration-runner';
import { startApp, type TestApp } from '../factories/app';
import { newTenant } from '../factories/tenants';
import { citusBlockers } from '../support/citus-compat';

// Citus schema-based sharding cannot run here; these checks keep the catalog ready for it (README: "Citus").
describe('compatibility with Citus schema-based sharding', () => {
  let api: TestApp;
  let pool: Pool;
  let tenantSchemas: string[];

  beforeAll(async () => {
    api = await startApp();
    const tenants = await Promise.all([newTenant(api), newTenant(api), newTenant(api)]);
    tenantSchemas = tenants.map((tenant) => tenant.schemaName);
    pool = new Pool({ connectionString: api.db.url, max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await api?.close();
  });

  it('finds every tenant schema self-contained: no foreign keys, types or dependencies across schemas, a primary key on every table', async () => {
    expect(await citusBlockers(pool, [...tenantSchemas, CONTROL_SCHEMA])).toEqual([]);
  });

  it('keeps the control plane free of references into tenant schemas, so it can stay on the coordinator', async () => {
    const { rows } = await pool.query(
      `SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object
         FROM pg_depend d CROSS JOIN LATERAL pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid) ref
        WHERE ref.schema = ANY($1) AND (pg_identify_object(d.classid, d.objid, d.objsubid)).schema = $2`,
      [tenantSchemas, CONTROL_SCHEMA],
    );
    expect(rows).toEqual([]);
  });

  it('reports each kind of blocker when a schema reaches outside itself', async () => {
    const [a, b] = ['citus_probe_a', 'citus_probe_b'];
    const client = await pool.connect();
    try {
      for (const schema of [a, b]) {
        await client.query(`CREATE SCHEMA ${schema}`);
        await client.query('BEGIN');
        await applyMigrationsInTransaction(client, schema, loadMigrations(api.config.paths.tenantMigrations));
        await client.query('COMMIT');
      }
      await client.query(`CREATE TYPE public.mood AS ENUM ('ok')`);
      await client.query(`CREATE SEQUENCE ${b}.shared_counter`);
      await client.query(`ALTER TABLE ${a}."Project" ADD COLUMN mood public.mood`);
      await client.query(`ALTER TABLE ${a}."Project" ADD COLUMN counter bigint DEFAULT nextval('${b}.shared_counter')`);
      await client.query(`ALTER TABLE ${a}."Project" ADD COLUMN other_owner uuid REFERENCES ${b}."User"(id)`);
      await client.query(`CREATE TABLE ${a}.keyless (note text)`);

      const problems = await citusBlockers(client, [a]);
      expect(problems).toEqual([
        `column ${a}.Project.mood has type public.mood from another schema`,
        `default value for column counter of table ${a}."Project" in ${a} depends on sequence ${b}.shared_counter in ${b}`,
        `foreign key ${a}.Project.Project_other_owner_fkey references ${b}.User`,
        `table ${a}.keyless has no primary key (needed to move the schema)`,
      ]);
      expect(await citusBlockers(client, [b])).toEqual([expect.stringMatching(/^foreign key citus_probe_a\.Project\..* references citus_probe_b\.User$/)]);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.query(`DROP SCHEMA IF EXISTS ${a}, ${b} CASCADE; DROP TYPE IF EXISTS public.mood`);
      client.release();
    }
  });
});
