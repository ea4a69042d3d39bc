import { Pool } from 'pg';
import { loadConfig } from '../../src/config/config';
import { CONTROL_SCHEMA, migrateControlPlane } from '../../src/control-plane/control-plane-migrator';
import { LEDGER_TABLE } from '../../src/tenancy/migration-runner';
import { newDatabase, type TestDatabase } from '../factories/database';

describe('control plane bootstrap', () => {
  let db: TestDatabase;
  let pools: Pool[];

  beforeAll(async () => {
    db = await newDatabase();
    pools = Array.from({ length: 4 }, () => new Pool({ connectionString: db.url, max: 2 }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await db.drop();
  });

  it('lets several instances boot at once: one applies the migrations, the others find them applied', async () => {
    const dir = loadConfig({ NODE_ENV: 'test' }).paths.controlMigrations;
    const results = await Promise.all(pools.map((pool) => migrateControlPlane(pool, dir)));
    expect(results.filter((applied) => applied.length > 0)).toHaveLength(1);
    const { rows } = await pools[0].query(`SELECT count(*)::int AS n FROM ${CONTROL_SCHEMA}.${LEDGER_TABLE}`);
    expect(rows[0].n).toBe(results.flat().length);
  });

  it('keeps the registry out of public', async () => {
    const { rows } = await pools[0].query(
      `SELECT table_schema FROM information_schema.tables WHERE table_name IN ('tenants', 'tenant_domains', 'tenant_migration_summary')`,
    );
    expect(rows.map((r) => r.table_schema)).toEqual([CONTROL_SCHEMA, CONTROL_SCHEMA, CONTROL_SCHEMA]);
  });
});
