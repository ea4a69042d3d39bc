// What one process and the PostgreSQL backends serving it spend during a measuring window, from /proc (Linux): the
// process's CPU time, its backends' CPU time, and its backends' wakeups. A backend sleeps on its socket between
// round trips (voluntary context switches), so wakeups per request count the round trips a request costs:
// statements sent together in one write wake a backend once.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Client } from 'pg';
import { cpuSeconds } from './servers';

export interface Usage {
  /** CPU seconds of the process. */
  process: number;
  /** CPU seconds of its backends. */
  postgres: number;
  /** Voluntary context switches of its backends. */
  wakeups: number;
}

export const NO_USAGE: Usage = { process: 0, postgres: 0, wakeups: 0 };

export function addUsage(a: Usage, b: Usage): Usage {
  return { process: a.process + b.process, postgres: a.postgres + b.postgres, wakeups: a.wakeups + b.wakeups };
}

/** Runs `work` and returns what `pid` and its backends (found through `sampler`, which is not counted) spent meanwhile. */
export async function measuredUsage<T>(sampler: Client, pid: number, work: () => Promise<T>): Promise<{ result: T; usage: Usage }> {
  const process0 = cpuSeconds(pid);
  const before = await backendCounters(sampler, pid);
  const result = await work();
  const after = await backendCounters(sampler, pid);
  const usage = { process: cpuSeconds(pid) - process0, postgres: 0, wakeups: 0 };
  // A backend that appeared during the window counts from zero; one that exited is lost (the pool keeps them).
  for (const [backend, counters] of after) {
    const start = before.get(backend) ?? { cpu: 0, wakeups: 0 };
    usage.postgres += counters.cpu - start.cpu;
    usage.wakeups += counters.wakeups - start.wakeups;
  }
  return { result, usage };
}

/** PostgreSQL backends connected from the sockets of `pid`: pg_stat_activity's client ports that `pid` holds. */
export async function backendsOf(sampler: Client, pid: number): Promise<number[]> {
  const { rows } = await sampler.query<{ pid: number; port: number }>(
    'SELECT pid, client_port AS port FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  const ports = tcpLocalPorts(pid);
  return rows.filter((r) => ports.has(r.port)).map((r) => r.pid);
}

/** Private memory (RssAnon, MB) of a process: for a backend, what its catalog caches and plans hold. */
export function privateMemoryMb(pid: number): number {
  return Number(/^RssAnon:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** Private memory (MB) of the backends of `pid`, together. */
export async function backendMemoryMb(sampler: Client, pid: number): Promise<number> {
  let mb = 0;
  for (const backend of await backendsOf(sampler, pid)) {
    try {
      mb += privateMemoryMb(backend);
    } catch {
      // exited meanwhile
    }
  }
  return mb;
}

async function backendCounters(sampler: Client, pid: number): Promise<Map<number, { cpu: number; wakeups: number }>> {
  const counters = new Map<number, { cpu: number; wakeups: number }>();
  for (const backend of await backendsOf(sampler, pid)) {
    try {
      const wakeups = Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${backend}/status`, 'utf8'))?.[1] ?? 0);
      counters.set(backend, { cpu: cpuSeconds(backend), wakeups });
    } catch {
      // exited meanwhile, or a server on another machine: counts as nothing
    }
  }
  return counters;
}

/** Local TCP ports of the sockets `pid` holds open (Linux /proc). */
export function tcpLocalPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9])) ports.add(parseInt(fields[1].split(':')[1], 16));
    }
  }
  return ports;
}
