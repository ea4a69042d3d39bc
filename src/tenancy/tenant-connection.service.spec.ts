import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import type { DatabasePools } from '../database/database-pools';
import type { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import type { ScopedStatement } from './scoped-statement';
import { TenantConnectionService } from './tenant-connection.service';
import type { TenantRoles } from './tenant-roles.service';

interface Sent {
  connection: number;
  role: string;
  path: string;
  text: string;
}

// The shared request pool: records every statement with the connection it went over and the role and search_path
// it was sent with (a ScopedStatement's settings), answers each with no rows.
function recordingPool(sent: Sent[], hold?: (answer: () => void) => void): Pool {
  let connections = 0;
  return {
    connect: async () => {
      const connection = ++connections;
      return {
        query: (statement: ScopedStatement) => {
          const [role, path] = statement.settings.values;
          sent.push({ connection, role, path: path.replace(/"/g, ''), text: statement.statement.text });
          const answer = () => (statement as unknown as { callback(error: null, result: unknown): void }).callback(null, { command: 'SELECT', rowCount: 0, fields: [], rows: [] });
          if (hold) hold(answer);
          else answer();
          return statement;
        },
        on: () => undefined,
        removeListener: () => undefined,
        release: () => undefined,
      };
    },
  } as unknown as Pool;
}

const schemasIn = (sql: string) => new Set([...sql.matchAll(/"(tenant_[a-z0-9_]*)"\./g)].map((m) => m[1]));

function service(cacheSize: number, sent: Sent[], hold?: (answer: () => void) => void): TenantConnectionService {
  const pool = recordingPool(sent, hold);
  const config = { tenantClientCacheSize: cacheSize, tenantMaxConnections: 4, tenantMaxHeavyConnections: 2 } as AppConfig;
  const pools = { runtime: () => pool } as unknown as DatabasePools;
  const roles = { roleOf: (id: string) => `role_${id}` } as unknown as TenantRoles;
  return new TenantConnectionService(pools, config, roles, {} as TenantRegistryRepository);
}

describe('TenantConnectionService', () => {
  let connections: TenantConnectionService;

  afterEach(() => connections?.onApplicationShutdown());

  it('sends each tenant only its own schema, as its own role, while clients are evicted and rebuilt', async () => {
    const sent: Sent[] = [];
    connections = service(2, sent);
    const tenants = ['alpha', 'bravo', 'charlie', 'delta'];
    // A busy tenant and a tail, several in the same tick: clients are dropped, rebuilt and reused throughout.
    for (const round of [['alpha', 'bravo'], ['alpha', 'charlie', 'delta'], ['bravo', 'alpha'], tenants, ['delta', 'alpha', 'charlie']]) {
      await Promise.all(
        round.flatMap((id) => [
          connections.forSchema(`tenant_${id}`).project.findMany({ where: { name: id } }),
          connections.forSchema(`tenant_${id}`).user.findUnique({ where: { id: '00000000-0000-0000-0000-000000000001' } }),
        ]),
      );
    }
    expect(connections.stats.evictions).toBeGreaterThan(0);
    expect(sent.length).toBeGreaterThan(0);
    for (const { role, path, text } of sent) {
      const id = role.slice('role_'.length);
      expect(path).toBe(`tenant_${id}`);
      expect(schemasIn(text)).toEqual(new Set([`tenant_${id}`]));
    }
    expect(new Set(sent.map((s) => s.path))).toEqual(new Set(tenants.map((id) => `tenant_${id}`)));
  });

  it('decodes Prisma’s parameterization graph once, however many tenant clients it builds', async () => {
    // scripts/prisma-generate.js patches the runtime to share the decoded graph; unpatched, each client decodes it.
    const decodeGraph = jest.spyOn(Buffer, 'from');
    const graphDecodes = () =>
      decodeGraph.mock.calls.filter((call) => {
        const [value, encoding] = call as unknown[];
        return encoding === 'base64url' && String(value).length > 10_000;
      }).length;
    const sent: Sent[] = [];
    connections = service(8, sent);
    const tenants = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
    // An enum in the filter: the shared graph still parameterizes each client's statement, for its own schema.
    await Promise.all(tenants.map((id) => connections.forSchema(`tenant_${id}`).project.findMany({ where: { status: 'ACTIVE' } })));
    const decodes = graphDecodes();
    decodeGraph.mockRestore();
    expect(decodes).toBeLessThanOrEqual(1);
    expect(sent.map(({ path, text }) => [path, [...schemasIn(text)]])).toEqual(expect.arrayContaining(tenants.map((id) => [`tenant_${id}`, [`tenant_${id}`]])));
    expect(sent).toHaveLength(tenants.length);
  });

  it('keeps a busy tenant’s client over a less used one when the cache is full', () => {
    connections = service(4, []);
    for (const id of ['alpha', 'alpha', 'alpha', 'bravo', 'charlie', 'delta']) connections.forSchema(`tenant_${id}`);
    // alpha is the least recently used, bravo the least used among the oldest half: bravo goes.
    connections.forSchema('tenant_echo');
    const { hits, misses } = connections.stats;
    connections.forSchema('tenant_alpha');
    expect(connections.stats).toMatchObject({ hits: hits + 1, misses, evictions: 1 });
    connections.forSchema('tenant_bravo');
    expect(connections.stats.misses).toBe(misses + 1);
    expect(connections.size).toBe(4);
  });

  it('drops the least recently used client among equally used ones, as an LRU does', () => {
    connections = service(2, []);
    for (const id of ['alpha', 'bravo', 'charlie']) connections.forSchema(`tenant_${id}`);
    const { hits } = connections.stats;
    connections.forSchema('tenant_bravo');
    expect(connections.stats.hits).toBe(hits + 1);
    connections.forSchema('tenant_alpha');
    expect(connections.stats.evictions).toBe(2);
  });

  it('disconnects an evicted client only after its statement in flight has answered, and the statement succeeds', async () => {
    const held: (() => void)[] = [];
    connections = service(1, [], (answer) => held.push(answer));
    // A Prisma promise runs once something awaits it.
    const query = Promise.resolve(connections.forSchema('tenant_alpha').project.findMany({ where: { name: 'alpha' } }));
    for (let i = 0; i < 1000 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(held).toHaveLength(1);
    // bravo takes alpha's place while alpha's statement is out: alpha's client is retired, not yet disconnected.
    connections.forSchema('tenant_bravo');
    expect(connections.stats.evictions).toBe(1);
    let drained = false;
    const shutdown = connections.onApplicationShutdown().then(() => (drained = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    held.forEach((answer) => answer());
    await expect(query).resolves.toEqual([]);
    await shutdown;
    expect(drained).toBe(true);
  });
});
