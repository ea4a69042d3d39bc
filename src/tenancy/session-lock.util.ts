import type { Client } from 'pg';

/**
 * Whether `client`'s session still holds an advisory lock. A session lock lives as long as its connection: should
 * that connection end (the server restarted, a proxy cut it, an operator terminated it), the lock is gone and another
 * process may take it while the holder carries on. Asked before a step that must not run unprotected.
 */
export async function holdsAdvisoryLock(client: Client): Promise<boolean> {
  try {
    const { rows } = await client.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted) AS held`,
    );
    return rows[0].held;
  } catch {
    return false;
  }
}
