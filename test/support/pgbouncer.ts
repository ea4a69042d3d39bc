import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/database/embedded-postgres';

export interface PgBouncerOptions {
  poolMode: 'transaction' | 'session';
  /** Server connections per database/user pair. */
  defaultPoolSize: number;
  /** Users PgBouncer accepts besides the upstream URL's, with the passwords it logs in to PostgreSQL with. */
  users?: Record<string, string>;
}

export interface PgBouncerProcess {
  /** `url` with host and port replaced by PgBouncer's. */
  urlFor(url: string): string;
  /** The settings PgBouncer reports from its admin console (SHOW CONFIG), e.g. `pool_mode`. */
  settings(): Promise<Record<string, string>>;
  /** Transactions PgBouncer has relayed to `database` (SHOW STATS). */
  transactions(database: string): Promise<number>;
  stop(): Promise<void>;
}

const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((path) => !spawnSync(path, ['--version']).error) ?? 'pgbouncer';

/** Starts a private PgBouncer on a free port in front of the PostgreSQL at `upstreamUrl`; fails with an install hint if absent. */
export async function startPgBouncer(upstreamUrl: string, options: PgBouncerOptions): Promise<PgBouncerProcess> {
  if (spawnSync(BINARY, ['--version']).error) {
    throw new Error('pgbouncer is not installed: apt-get install pgbouncer (or run .ci/run)');
  }
  const upstream = new URL(upstreamUrl);
  const user = decodeURIComponent(upstream.username) || 'postgres';
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-pgbouncer-'));
  // PgBouncer refuses to run as root; as another user it must be able to read its files.
  await chmod(dir, 0o755);
  // Clients are trusted (the test's own); the passwords are what PgBouncer presents to PostgreSQL.
  const users = { [user]: decodeURIComponent(upstream.password), ...options.users };
  const authFile = Object.entries(users).map(([name, password]) => `"${name}" "${password}"`).join('\n');
  await writeFile(join(dir, 'users.txt'), `${authFile}\n`, { mode: 0o644 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `admin_users = ${user}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.defaultPoolSize}`,
      'max_client_conn = 1000',
      // LISTEN and session advisory locks go to DATABASE_DIRECT_URL; nothing else may need session state.
      'server_reset_query =',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(BINARY, [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  await waitForPort(port, child).catch((error: Error) => {
    throw new Error(`${error.message}\n${log}`);
  });

  const urlFor = (url: string) => {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(port);
    return through.toString();
  };
  // The admin console speaks only the simple query protocol.
  const console = async (command: string): Promise<Record<string, string>[]> => {
    const admin = new Client({ connectionString: urlFor(`postgres://${encodeURIComponent(user)}@127.0.0.1/pgbouncer`) });
    await admin.connect();
    try {
      const result = await admin.query<Record<string, string>>({ text: command, queryMode: 'simple' } as { text: string });
      return result.rows;
    } finally {
      await admin.end();
    }
  };
  return {
    urlFor,
    settings: async () => {
      const rows = await console('SHOW CONFIG');
      return Object.fromEntries(rows.map((row) => [row.key, row.value]));
    },
    transactions: async (database) => {
      const rows = await console('SHOW STATS');
      return rows.filter((row) => row.database === database).reduce((sum, row) => sum + Number(row.total_xact_count), 0);
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with code ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('pgbouncer did not start listening');
}

