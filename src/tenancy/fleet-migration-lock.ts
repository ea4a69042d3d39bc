import { Client } from 'pg';
import { holdsAdvisoryLock } from './session-lock.util';

const LOCK_KEY = 'tenantry:fleet-migrate';
export const FLEET_MIGRATE_APPLICATION_NAME = 'tenantry-migrate';

/** Who holds the fleet-migration lock, as PostgreSQL reports that session. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddr: string | null;
  backendStart: Date;
}

export class FleetLockedError extends Error {
  constructor(readonly holder: LockHolder | null) {
    super(
      holder
        ? `Another fleet migration holds the lock: pid ${holder.pid}, application "${holder.applicationName}", ` +
            `client ${holder.clientAddr ?? 'local socket'}, connected since ${holder.backendStart.toISOString()}`
        : 'Another fleet migration holds the lock (its session has just ended or is not visible)',
    );
  }
}

export interface FleetLock {
  /** False once the lock's connection has ended: the lock went with it. */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * Takes the single-runner session lock on a dedicated connection (not the pool), held until release: a runner that
 * dies — SIGKILL included — loses its connection and the lock with it. Throws FleetLockedError when already held.
 */
export async function acquireFleetLock(databaseUrl: string): Promise<FleetLock> {
  const client = new Client({ connectionString: databaseUrl, application_name: FLEET_MIGRATE_APPLICATION_NAME });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [LOCK_KEY]);
    if (!rows[0].locked) throw new FleetLockedError(await lockHolder(client));
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return { stillHeld: () => holdsAdvisoryLock(client), release: () => client.end().catch(() => undefined) };
}

// A one-key advisory lock on a bigint appears in pg_locks as classid = high 32 bits, objid = low 32, objsubid = 1.
async function lockHolder(client: Client): Promise<LockHolder | null> {
  const { rows } = await client.query<{ pid: number; application_name: string; client_addr: string | null; backend_start: Date }>(
    `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtext($1)::bigint
      LIMIT 1`,
    [LOCK_KEY],
  );
  const row = rows[0];
  return row ? { pid: row.pid, applicationName: row.application_name, clientAddr: row.client_addr, backendStart: row.backend_start } : null;
}
