import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../src/database/embedded-postgres';

export interface RedisProcess {
  url: string;
  /** SIGKILL: no shutdown, no persistence (the instance runs with none). */
  stop(): Promise<void>;
  /** Starts a fresh, empty redis-server on the same port after stop(). */
  start(): Promise<void>;
}

/** Starts a private redis-server on a free port (never the shared one); fails with an install hint if absent. */
export async function startRedis(): Promise<RedisProcess> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: apt-get install redis-server (or run .ci/run)');
  }
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child = await spawnRedis(port, url);
  return {
    url,
    stop: () => kill(child),
    start: async () => {
      child = await spawnRedis(port, url);
    },
  };
}

async function spawnRedis(port: number, url: string): Promise<ChildProcess> {
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let attempt = 0; ; attempt++) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child;
    } catch (error) {
      probe.disconnect();
      if (attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

