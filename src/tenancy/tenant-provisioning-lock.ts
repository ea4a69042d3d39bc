import { Client } from 'pg';
import { holdsAdvisoryLock } from './session-lock.util';

export const PROVISIONING_LOCK_APPLICATION_NAME = 'tenantry-provision-lock';

export interface TenantProvisioningLock {
  /** False once the lock's connection has ended: the lock went with it. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * The per-tenant session lock a create (or the cleanup of an unfinished one) holds, on a dedicated connection to the
 * direct URL like the fleet lock: behind a transaction-mode pooler a session lock taken on a pooled connection would
 * stay on whichever server connection ran it. A creator that dies — SIGKILL included — loses its connection and the
 * lock with it. Null when another session holds it. Same key as the registry's transaction lock (hard delete).
 */
export async function tryTenantProvisioningLock(directUrl: string, tenantId: string): Promise<TenantProvisioningLock | null> {
  const client = new Client({ connectionString: directUrl, application_name: PROVISIONING_LOCK_APPLICATION_NAME });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(hashtext('tenantry:tenant'), hashtext($1)) AS locked`,
      [tenantId],
    );
    if (!rows[0].locked) {
      await client.end().catch(() => undefined);
      return null;
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  // Ending the session releases its locks.
  return { stillHeld: () => holdsAdvisoryLock(client), release: () => client.end().catch(() => undefined) };
}
