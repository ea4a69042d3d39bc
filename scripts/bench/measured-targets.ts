// Targets measured in interleaved rounds with what answering cost, per request: CPU of the process that answered,
// CPU of its PostgreSQL backends, and its backends' wakeups (round trips). P1 and `writes` share it.
import type { Client } from 'pg';
import { addUsage, measuredUsage, NO_USAGE, type Usage } from './backend-usage';
import type { BenchOptions } from './fixture';
import { interleaved, type LoadResult, type Sample } from './load';
import { fixed, log, round } from './report';

/** What answers a target (its process, and through it its backends) and a load of it lasting `ms`. */
export interface Target {
  pid: number;
  load: (ms: number) => Promise<Sample>;
}

export interface MeasuredRun extends LoadResult {
  apiCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
  roundTripsPerRequest: number;
}

/** A short load on each target, so measuring starts warm; throws if a target answers nothing but errors. */
export async function warmUp(targets: Record<string, Target>, options: BenchOptions, what: string): Promise<void> {
  for (const [name, { load }] of Object.entries(targets)) {
    const warm = await load(Math.min(options.durationMs / 2, 3000));
    if (warm.latencies.length === 0) throw new Error(`every warm-up ${what} to ${name} failed`);
  }
}

/** Logs what is about to be measured: `label: measuring … interleaved rounds …`. */
export function logMeasuring(label: string, options: BenchOptions, tenants: number): void {
  log(
    `${label}: measuring ${options.durationMs / 1000} s each in ${options.rounds} interleaved rounds, ${options.connections} connections, ` +
      `pool ${options.pool}, ${tenants} tenants (Zipf ${options.zipf})`,
  );
}

/** Measures every target for `durationMs` in `rounds` interleaved windows; `sampler` finds the backends and is not counted. */
export async function measureTargets<K extends string>(
  sampler: Client,
  targets: Record<K, Target>,
  options: { durationMs: number; rounds: number },
  onRound?: (round: number) => void,
): Promise<Record<K, MeasuredRun>> {
  const keys = Object.keys(targets) as K[];
  const usage = Object.fromEntries(keys.map((key) => [key, NO_USAGE])) as Record<K, Usage>;
  const loads = Object.fromEntries(
    keys.map((key) => [
      key,
      async (ms: number) => {
        const { result, usage: spent } = await measuredUsage(sampler, targets[key].pid, () => targets[key].load(ms));
        usage[key] = addUsage(usage[key], spent);
        return result;
      },
    ]),
  ) as Record<K, (ms: number) => Promise<Sample>>;
  const measured = await interleaved(loads, options.durationMs, options.rounds, onRound);
  const perRequest = (key: K, amount: number) => round(amount / Math.max(1, measured[key].requests), 2);
  return Object.fromEntries(
    keys.map((key) => [
      key,
      {
        ...measured[key],
        apiCpuMsPerRequest: perRequest(key, usage[key].process * 1000),
        postgresCpuMsPerRequest: perRequest(key, usage[key].postgres * 1000),
        roundTripsPerRequest: perRequest(key, usage[key].wakeups),
      },
    ]),
  ) as Record<K, MeasuredRun>;
}

export const USAGE_COLUMNS = ['API CPU ms/req:', 'PG CPU ms/req:', 'PG round trips/req:'];

export function usageCells(run: MeasuredRun): string[] {
  return [fixed(run.apiCpuMsPerRequest), fixed(run.postgresCpuMsPerRequest), fixed(run.roundTripsPerRequest, 1)];
}

/** The note under a table with USAGE_COLUMNS; `inProcess` names its in-process rows, whose CPU is the benchmark's. */
export function usageNote(inProcess: string): string {
  return (
    `Per request: API CPU is the answering process's (the benchmark's own for the in-process ${inProcess}), PG CPU ` +
    "its PostgreSQL backends', PG round trips its backends' wakeups (voluntary context switches)."
  );
}
