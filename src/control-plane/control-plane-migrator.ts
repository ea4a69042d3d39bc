import type { Pool } from 'pg';
import { applyMigrationsInTransaction, loadMigrations } from '../tenancy/migration-runner';

/** The control plane's own schema; never `public`, never a tenant's. */
export const CONTROL_SCHEMA = 'tenantry_control';

/** Creates and migrates the control plane. Several instances may boot at once: an advisory lock serialises them. */
export async function migrateControlPlane(pool: Pool, migrationsDir: string): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext('tenantry:control-plane-migrations'))`);
    try {
      await client.query('BEGIN');
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${CONTROL_SCHEMA}`);
      const applied = await applyMigrationsInTransaction(client, CONTROL_SCHEMA, loadMigrations(migrationsDir));
      await client.query('COMMIT');
      return applied;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('tenantry:control-plane-migrations'))`);
    }
  } finally {
    client.release();
  }
}
