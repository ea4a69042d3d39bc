import { Client, type QueryConfig, type QueryResult } from 'pg';
import { derivedRolePrefix } from '../../src/database/database-roles';
import { ScopedStatement } from '../../src/tenancy/scoped-statement';
import { newDatabase, type TestDatabase } from '../factories/database';

// What TenantScopedPool rests on, against real PostgreSQL: the settings sent with a statement hold for it alone.
describe('ScopedStatement', () => {
  let runtime: string;
  let roleA: string;
  let roleB: string;
  let db: TestDatabase;
  let admin: Client;
  let client: Client;

  const settings = (role: string, extra: { timeoutMs?: number; readOnly?: boolean } = {}) => ({
    text:
      "SELECT set_config('role', $1, true), set_config('search_path', $2, true)" +
      (extra.timeoutMs === undefined ? '' : ", set_config('statement_timeout', $3, true)") +
      (extra.readOnly ? ", set_config('transaction_read_only', 'on', true)" : ''),
    values: [role, '"scoped_a"', ...(extra.timeoutMs === undefined ? [] : [String(extra.timeoutMs)])],
  });
  const send = (role: string, statement: QueryConfig, extra?: { timeoutMs?: number; readOnly?: boolean }): Promise<QueryResult> => {
    const scoped = new ScopedStatement(settings(role, extra), statement);
    client.query(scoped as unknown as QueryConfig);
    return scoped.result;
  };
  const rowsOfA = async () => (await admin.query('SELECT count(*)::int AS n FROM scoped_a.note')).rows[0].n as number;

  beforeAll(async () => {
    db = await newDatabase();
    // Named with the database's role prefix, so that dropping the database drops them too.
    const prefix = derivedRolePrefix(db.name);
    [runtime, roleA, roleB] = ['scoped_runtime', 'scoped_a', 'scoped_b'].map((name) => prefix + name);
    admin = new Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${runtime} LOGIN PASSWORD 'scoped' NOINHERIT; CREATE ROLE ${roleA}; CREATE ROLE ${roleB}`);
    await admin.query(`GRANT ${roleA} TO ${runtime}`);
    await admin.query(`CREATE SCHEMA scoped_a; CREATE TABLE scoped_a.note (body text); GRANT USAGE ON SCHEMA scoped_a TO ${roleA}`);
    await admin.query(`GRANT SELECT, INSERT ON scoped_a.note TO ${roleA}; GRANT CONNECT ON DATABASE ${db.name} TO ${runtime}`);
    const url = new URL(db.url);
    [url.username, url.password] = [runtime, 'scoped'];
    client = new Client({ connectionString: url.toString() });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await admin?.end();
    await db?.drop();
  });

  it('runs the statement as the role and search_path sent with it, and leaves the connection as it was', async () => {
    const { rows } = await send(roleA, { text: 'SELECT current_user AS who, current_setting($1) AS path', values: ['search_path'] });
    expect(rows).toEqual([{ who: roleA, path: '"scoped_a"' }]);
    const after = await client.query("SELECT current_user AS who, current_setting('search_path') AS path");
    expect(after.rows).toEqual([{ who: runtime, path: '"$user", public' }]);
  });

  it('applies the settings to a statement without parameters too (pg would send it as a simple query)', async () => {
    const { rows } = await send(roleA, { text: 'SELECT current_user AS who' });
    expect(rows).toEqual([{ who: roleA }]);
    await expect(client.query('SELECT count(*) FROM scoped_a.note')).rejects.toMatchObject({ code: '42501' });
  });

  it('skips the statement when the connection may not take the role', async () => {
    await expect(send(roleB, { text: "INSERT INTO scoped_a.note VALUES ('as b')" })).rejects.toMatchObject({ code: '42501' });
    expect(await rowsOfA()).toBe(0);
    // The connection is usable afterwards, as its own role.
    expect((await client.query('SELECT current_user AS who')).rows).toEqual([{ who: runtime }]);
  });

  it('commits a write at the Sync, and refuses one in a read-only statement', async () => {
    await send(roleA, { text: 'INSERT INTO note VALUES ($1)', values: ['as a'] });
    expect(await rowsOfA()).toBe(1);
    await expect(send(roleA, { text: 'INSERT INTO note VALUES ($1)', values: ['read-only'] }, { readOnly: true })).rejects.toMatchObject({ code: '25006' });
    expect(await rowsOfA()).toBe(1);
  });

  it("cancels a statement that outlasts the timeout sent with it, and the timeout ends with it", async () => {
    await expect(send(roleA, { text: 'SELECT pg_sleep(1)' }, { timeoutMs: 50 })).rejects.toMatchObject({ code: '57014' });
    expect((await client.query("SELECT current_setting('statement_timeout') AS t")).rows).toEqual([{ t: '0' }]);
  });
});
