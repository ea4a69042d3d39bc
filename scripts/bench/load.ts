// A small keep-alive HTTP load generator: `connections` loops, each sending its next request as soon as the last
// one answers, for `durationMs`. The same client drives every HTTP target, so their ratios are comparable.
import { Agent, request } from 'node:http';

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  /** Throughput of each measuring window, in round order: how much the target moved within the run. */
  windowRps: number[];
}

/** The raw outcome of one measurement window; summarize() merges windows of the same target. */
export interface Sample {
  latencies: number[];
  errors: number;
  seconds: number;
}

export interface LoadOptions {
  port: number;
  connections: number;
  durationMs: number;
  /** Builds the i-th request: headers and JSON body. */
  next: () => { headers: Record<string, string>; body: string };
  /** Throws when a response is not what a correct server answers. */
  check?: (status: number, body: string) => void;
}

export async function runLoad(options: LoadOptions): Promise<Sample> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + options.durationMs;
  const started = process.hrtime.bigint();
  const loop = async () => {
    while (Date.now() < deadline) {
      const { headers, body } = options.next();
      const t0 = process.hrtime.bigint();
      try {
        const res = await send(agent, options.port, headers, body);
        options.check?.(res.status, res.body);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { latencies, errors, seconds };
}

/** The in-process counterpart of runLoad: `connections` loops calling `work` back to back for `durationMs`. */
export async function runInProcess(options: { connections: number; durationMs: number }, work: () => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + options.durationMs;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        try {
          await work();
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, errors, seconds };
}

/** One keep-alive connection for requests sent one at a time (latency probes, not load). */
export function sequentialClient(port: number): { send: (headers: Record<string, string>, body: string) => Promise<{ status: number; body: string }>; close: () => void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return { send: (headers, body) => send(agent, port, headers, body), close: () => agent.destroy() };
}

export function summarize(samples: Sample[]): LoadResult {
  const latencies = samples.flatMap((s) => s.latencies);
  const errors = samples.reduce((n, s) => n + s.errors, 0);
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  const { p50, p99 } = percentiles(latencies);
  const r = (x: number) => Math.round(x * 100) / 100;
  const windowRps = samples.map((s) => r(s.latencies.length / s.seconds));
  return { requests: latencies.length, errors, rps: r(latencies.length / seconds), p50: r(p50), p99: r(p99), windowRps };
}

/**
 * The order targets are measured in, round by round. Each pair of rounds runs one order and then its reverse (ABBA),
 * so a drift through the run (the machine's load, the processes speeding up as they run) falls on every target alike
 * however many targets there are; the order rotates from pair to pair, so no target is always measured first.
 */
export function measuringOrder<K>(keys: K[], rounds: number): K[][] {
  return Array.from({ length: rounds }, (_, round) => {
    const shift = Math.floor(round / 2) % keys.length;
    const order = [...keys.slice(shift), ...keys.slice(0, shift)];
    return round % 2 === 0 ? order : order.reverse();
  });
}

/**
 * Measures every target for `durationMs` in total, cut into `rounds` windows taken in turn (measuringOrder), so load
 * that other processes put on the machine falls on all targets alike rather than on one of them.
 */
export async function interleaved<K extends string>(
  targets: Record<K, (durationMs: number) => Promise<Sample>>,
  durationMs: number,
  rounds: number,
  onRound?: (round: number) => void,
): Promise<Record<K, LoadResult>> {
  const keys = Object.keys(targets) as K[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as Sample[]])) as Record<K, Sample[]>;
  for (const [round, order] of measuringOrder(keys, rounds).entries()) {
    onRound?.(round + 1);
    for (const key of order) samples[key].push(await targets[key](durationMs / rounds));
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(samples[k])])) as Record<K, LoadResult>;
}

export function percentiles(latencies: number[]): { p50: number; p99: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}

export function send(agent: Agent, port: number, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Samples tenant indexes 0..n-1 with P(k) ∝ 1 / (k+1)^s: a few hot tenants and a long tail. */
export function zipfSampler(n: number, s: number, random: () => number = Math.random): () => number {
  const cumulative: number[] = [];
  let total = 0;
  for (let k = 1; k <= n; k++) cumulative.push((total += 1 / Math.pow(k, s)));
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
