// Tenant A's flood for `npm run noisy-neighbour`, in a process of its own: B's latencies are then timed on an event
// loop that does nothing else. Each message `{ port, durationMs, connections, headers, body }` runs one window of
// closed-loop keep-alive requests and answers `{ requests, outcomes }`, outcomes counted by GraphQL error code.
import { runLoad } from './load';

export interface NoisyWindow {
  port: number;
  durationMs: number;
  connections: number;
  headers: Record<string, string>;
  body: string;
}

export interface NoisyOutcome {
  requests: number;
  outcomes: Record<string, number>;
}

process.on('message', (window: NoisyWindow) => {
  const outcomes: Record<string, number> = {};
  void runLoad({
    port: window.port,
    connections: window.connections,
    durationMs: window.durationMs,
    next: () => ({ headers: window.headers, body: window.body }),
    check: (status, body) => {
      const code = /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? (status === 200 ? 'ok' : String(status));
      outcomes[code] = (outcomes[code] ?? 0) + 1;
    },
  }).then((sample) => {
    const outcome: NoisyOutcome = { requests: sample.latencies.length + sample.errors, outcomes };
    process.send?.(outcome);
  });
});
process.on('disconnect', () => process.exit(0));
