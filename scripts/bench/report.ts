// Output of the benchmark: progress on stderr, markdown tables (or one JSON object) on stdout, and the machine
// the figures came from, since they mean nothing without it.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export const log = (message: string) => process.stderr.write(`${message}\n`);

export interface Machine {
  nproc: number;
  cpu: string;
  ramGiB: number;
  node: string;
  postgres: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine shows here. */
  loadAverage: { start: number; end?: number };
}

export function describeMachine(postgresVersion: string): Machine {
  return {
    nproc: cpus().length,
    cpu: cpuModel(),
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: postgresVersion,
    loadAverage: { start: round(loadavg()[0]) },
  };
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

export function machineLine(machine: Machine): string {
  return (
    `Machine: ${machine.nproc} × ${machine.cpu}, ${machine.ramGiB} GiB RAM, Node ${machine.node}, PostgreSQL ${machine.postgres}; ` +
    `load average ${machine.loadAverage.start} at start, ${machine.loadAverage.end ?? '?'} at end`
  );
}

/** A markdown table: `columns` are headers; a header ending in ':' is right-aligned (numbers). */
export function table(columns: string[], rows: (string | number)[][]): string {
  const header = `| ${columns.map((c) => c.replace(/:$/, '')).join(' | ')} |`;
  const rule = `|${columns.map((c) => (c.endsWith(':') ? '---:' : '---')).join('|')}|`;
  return [header, rule, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '—';
}

// Student's t at 97.5 % for 1–10 degrees of freedom; beyond 10 rounds 2.2 is close enough.
const T_975 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];

/** `mean ± half-width` of a 95 % confidence interval for the mean of `values` (rounds' ratios, say). */
export function meanInterval(values: number[]): string {
  const n = values.length;
  const mean = values.reduce((sum, v) => sum + v, 0) / n;
  if (n < 2) return fixed(mean);
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (n - 1);
  return `${fixed(mean)} ± ${fixed((T_975[n - 2] ?? 2.2) * Math.sqrt(variance / n))}`;
}
