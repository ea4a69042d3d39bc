// Where tenant B's latency goes while tenant A floods: samples, every `everyMs`, the backends of the benchmark
// database by tenant and state, the CPU used by the API process and by the PostgreSQL processes, the machine's CPU,
// and the request pool's queue from /metrics. Used by scripts/noisy-neighbour.ts with --probe.
import { readFileSync, readdirSync } from 'node:fs';
import { Client } from 'pg';

export interface ProbeTargets {
  databaseUrl: string;
  database: string;
  serverPid: number;
  postmasterPid: number;
  metricsUrl: string;
  adminToken: string;
  /** Tenant id → schema; a backend is counted for the tenant whose schema its query names. */
  tenants: Record<string, string>;
}

export interface ProbeReport {
  samples: number;
  /** Mean backends per sample, by tenant and what they were doing ("running", "parallel worker", a wait event). */
  backends: Record<string, Record<string, number>>;
  /** Mean cores busy during the window. */
  cores: { api: number; postgres: number; machine: number; machineCores: number };
  /** Mean and max of tenantry_pg_pool_waiting, and of each tenant-connection gauge /metrics exports. */
  metrics: Record<string, { mean: number; max: number }>;
}

const TICKS = 100; // USER_HZ on Linux

export function startProbe(targets: ProbeTargets, everyMs = 200): { stop: () => Promise<ProbeReport> } {
  const client = new Client({ connectionString: targets.databaseUrl });
  const backends: Record<string, Record<string, number>> = {};
  const metrics: Record<string, { sum: number; max: number }> = {};
  let samples = 0;
  let running = true;
  const cpuStart = { api: processTicks([targets.serverPid]), postgres: processTicks(childrenOf(targets.postmasterPid)), machine: machineTicks() };
  const startedAt = Date.now();
  const loop = (async () => {
    await client.connect();
    while (running) {
      const [{ rows }, scraped] = await Promise.all([
        client.query(
          `SELECT backend_type, state, wait_event_type, wait_event, query FROM pg_stat_activity
           WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [targets.database],
        ),
        scrape(targets).catch(() => ({})),
      ]);
      samples++;
      for (const row of rows) {
        const tenant = Object.keys(targets.tenants).find((id) => String(row.query).includes(targets.tenants[id])) ?? 'none';
        const what =
          row.state !== 'active' ? String(row.state) : row.backend_type === 'parallel worker' ? 'parallel worker' : row.wait_event_type ? `${row.wait_event_type}:${row.wait_event}` : 'running';
        (backends[tenant] ??= {})[what] = (backends[tenant][what] ?? 0) + 1;
      }
      for (const [name, value] of Object.entries(scraped)) {
        const m = (metrics[name] ??= { sum: 0, max: 0 });
        m.sum += value;
        m.max = Math.max(m.max, value);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end();
      const seconds = (Date.now() - startedAt) / 1000;
      const machine = machineTicks();
      const cores = {
        api: (processTicks([targets.serverPid]) - cpuStart.api) / TICKS / seconds,
        postgres: (processTicks(childrenOf(targets.postmasterPid)) - cpuStart.postgres) / TICKS / seconds,
        machine: ((machine.busy - cpuStart.machine.busy) / (machine.total - cpuStart.machine.total)) * machine.cores,
        machineCores: machine.cores,
      };
      const round = (x: number) => Math.round(x * 100) / 100;
      for (const byState of Object.values(backends)) for (const k of Object.keys(byState)) byState[k] = round(byState[k] / samples);
      return {
        samples,
        backends,
        cores: { api: round(cores.api), postgres: round(cores.postgres), machine: round(cores.machine), machineCores: cores.machineCores },
        metrics: Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, { mean: round(m.sum / samples), max: m.max }])),
      };
    },
  };
}

// Pool and tenant-connection gauges only: one number per series, labels folded into the name.
async function scrape(targets: ProbeTargets): Promise<Record<string, number>> {
  const res = await fetch(targets.metricsUrl, { headers: { authorization: `Bearer ${targets.adminToken}` } });
  const values: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const match = /^(tenantry_(?:pg_pool_\w+|tenant_connection_waiting|tenants_heavy)(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) values[match[1]] = Number(match[2]);
  }
  return values;
}

function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statFields(Number(entry))[1] === String(pid)) children.push(Number(entry));
    } catch {
      // gone
    }
  }
  return [pid, ...children];
}

// Fields after "(comm)": state ppid … utime is field 14, stime 15; cutime/cstime (16, 17) count reaped children,
// which for the postmaster are the backends that exited during the window.
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function processTicks(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const f = statFields(pid);
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // exited between listing and reading
    }
  }
  return ticks;
}

function machineTicks(): { busy: number; total: number; cores: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const [, ...fields] = lines[0].trim().split(/\s+/).map(Number);
  const idle = fields[3] + fields[4];
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total, cores: lines.filter((l) => /^cpu\d+ /.test(l)).length };
}
