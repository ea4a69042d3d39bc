// The HTTP targets run as processes of their own, so the load generator never shares their event loop.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { log } from './report';
import { freePort } from '../../src/database/embedded-postgres';

export interface Server {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export const SCRIPTS = {
  tenantry: join(__dirname, '../../src/main.js'),
  apollo: join(__dirname, 'apollo-baseline.js'),
  nestPrisma: join(__dirname, 'nest-prisma-baseline.js'),
  nodeHttp: join(__dirname, 'node-http-baseline.js'),
};

/** Starts `script` (with node's `nodeArgs`) on a free port and resolves once it answers HTTP. */
export async function startServer(name: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, script], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: Server = {
    name,
    port,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => {
      clearInterval(timer);
      reject(new Error(`${name} exited with ${code}`));
    };
    const timer = setInterval(async () => {
      try {
        await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' });
        clearInterval(timer);
        child.off('exit', onExit);
        resolve();
      } catch {
        // not listening yet
      }
    }, 200);
    child.once('exit', onExit);
  });
  log(`${name} is up on port ${port} (pid ${server.pid})`);
  return server;
}

/** Resident set size of a process, from /proc (Linux). */
export function rssBytes(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`No VmRSS for pid ${pid}`);
  return Number(kb) * 1024;
}

/** Tenantry's /metrics as name → value (series with labels are summed per name). */
export async function scrapeMetrics(port: number, token: string): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const metrics = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match) continue;
    // By name, all series summed; and each labelled series by name and labels.
    metrics.set(match[1], (metrics.get(match[1]) ?? 0) + Number(match[3]));
    if (match[2]) metrics.set(match[1] + match[2], Number(match[3]));
  }
  return metrics;
}


/** CPU time (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ ticks
}
