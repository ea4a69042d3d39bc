// R3's flood, in a process of its own (forked by flood.scenario.ts): the latency probe then shares no event loop with
// the generator, so its timings are the server's. Each message `{ port, durationMs }` runs one flood window of
// `connections` keep-alive loops naming distinct unknown tenants and answers `{ requests, refused, errors, seconds }`.
import { randomBytes } from 'node:crypto';
import { runLoad } from './load';
import { PROJECTS_QUERY } from './requests';

export interface FloodWindow {
  /** Answered TENANT_NOT_FOUND or, over the API's budget of held answers, RATE_LIMITED. */
  requests: number;
  /** Of those, RATE_LIMITED (429, the connection closed). */
  refused: number;
  /** Connections dropped without an answer. */
  errors: number;
  seconds: number;
  /** The first answer that was not a typed unknown-tenant rejection, if any. */
  unexpected?: string;
}

const connections = Number(process.argv[2]);
const prefix = randomBytes(3).toString('hex');
let unknown = 0;

process.on('message', (message: { port: number; durationMs: number }) => {
  let unexpected: string | undefined;
  let refused = 0;
  void runLoad({
    port: message.port,
    connections,
    durationMs: message.durationMs,
    next: () => ({ headers: { 'x-tenant-id': `ghost-${prefix}-${unknown++}` }, body: PROJECTS_QUERY }),
    check: (status, body) => {
      if (status === 429 && body.includes('RATE_LIMITED')) refused++;
      else if (!body.includes('TENANT_NOT_FOUND')) throw new Error((unexpected ??= `${status} ${body.slice(0, 200)}`));
    },
  }).then((sample) => {
    const window: FloodWindow = { requests: sample.latencies.length, refused, errors: sample.errors, seconds: sample.seconds, unexpected };
    process.send?.(window);
  });
});
process.on('disconnect', () => process.exit(0));
