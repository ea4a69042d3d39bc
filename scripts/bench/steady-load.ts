// Open-loop load: requests sent at a fixed rate whatever the answers, as a tenant's users do. A closed loop that
// saturates the server measures the tenant's share of the CPU instead; that share halves beside any equally busy
// tenant, well-behaved or not. Latency is timed from when a request was due, not from when it left, so a stalled
// generator or server cannot hide the requests it delayed (coordinated omission).
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { send, type LoadOptions, type Sample } from './load';

export interface SteadyLoadOptions extends Omit<LoadOptions, 'connections'> {
  ratePerSecond: number;
}

export async function runAtRate(options: SteadyLoadOptions): Promise<Sample> {
  const agent = new Agent({ keepAlive: true });
  const latencies: number[] = [];
  let errors = 0;
  const interval = 1000 / options.ratePerSecond;
  const count = Math.max(1, Math.floor(options.durationMs / interval));
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const { headers, body } = options.next();
    inFlight.push(
      send(agent, options.port, headers, body).then(
        (res) => {
          try {
            options.check?.(res.status, res.body);
            latencies.push(performance.now() - due);
          } catch {
            errors++;
          }
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  return { latencies, errors, seconds: (performance.now() - started) / 1000 };
}
