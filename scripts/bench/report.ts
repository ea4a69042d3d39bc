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
