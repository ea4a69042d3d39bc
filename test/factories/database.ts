import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { derivedRolePrefix } from '../../src/database/database-roles';

function adminUrl(): string {
  const url = process.env.TENANTRY_TEST_ADMIN_URL;
  if (!url) throw new Error('TENANTRY_TEST_ADMIN_URL is unset: run tests through jest (global setup)');
  return url;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database with a random name; each suite gets its own and drops it afterwards. */
export async function newDatabase(): Promise<TestDatabase> {
  const name = `tenantry_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withAdmin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropRoles(client, derivedRolePrefix(name));
    }),
  };
}

// Roles are cluster-wide: the roles the app made for this database (named by its prefix) go with it.
async function dropRoles(client: Client, prefix: string): Promise<void> {
  const { rows } = await client.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1)`, [prefix]);
  for (const { rolname } of rows) await client.query(`DROP ROLE IF EXISTS "${rolname.replace(/"/g, '""')}"`);
}

async function withAdmin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
