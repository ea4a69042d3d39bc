import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startPostgres, type PostgresProcess } from './postgres-server';

/** The placement name tests give the second server's database in DATABASES. */
export const SECOND_DATABASE = 'secondary';

export interface SecondDatabase {
  name: string;
  /** Owner URL of a fresh database on the second server. */
  url: string;
  /** What startApp needs to place tenants on it: DATABASES naming it. */
  env: Record<string, string>;
  destroy(): Promise<void>;
}

/**
 * A second PostgreSQL server (its own embedded cluster on a free port) with a fresh database: tenants placed there
 * live on another server than the primary, as they would on a database of their own in production.
 */
export async function startSecondDatabase(name = SECOND_DATABASE): Promise<SecondDatabase> {
  const server: PostgresProcess = await startPostgres();
  const database = `tenantry_second_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  return { name, url: url.toString(), env: { DATABASES: JSON.stringify({ [name]: url.toString() }) }, destroy: () => server.destroy() };
}
