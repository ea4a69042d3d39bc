import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import type { DatabasePools } from '../database/database-pools';
import type { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { TenantConnectionService } from './tenant-connection.service';
import type { TenantRoles } from './tenant-roles.service';

interface Sent {
  connection: number;
  text: string;
}

// The shared request pool: records every statement with the connection it went over, answers each with no rows.
function recordingPool(sent: Sent[]): Pool {
  let connections = 0;
  return {
    connect: async () => {
      const connection = ++connections;
      return {
        query: async (config: string | { text: string }) => {
          sent.push({ connection, text: typeof config === 'string' ? config : config.text });
          return { command: 'SELECT', rowCount: 0, fields: [], rows: [] };
        },
        on: () => undefined,
        removeListener: () => undefined,
        release: () => undefined,
      };
    },
  } as unknown as Pool;
}

// Each transaction's statements, with the role and search_path its opening set.
function transactions(sent: Sent[]): { role: string; path: string; statements: string[] }[] {
  const open = new Map<number, { role: string; path: string; statements: string[] }>();
  const done: { role: string; path: string; statements: string[] }[] = [];
  for (const { connection, text } of sent) {
    const opening = /^BEGIN.*SET LOCAL ROLE "([^"]+)"; SET LOCAL search_path TO "([^"]+)"/.exec(text);
    if (opening) open.set(connection, { role: opening[1], path: opening[2], statements: [] });
    else if (text === 'COMMIT' || text === 'ROLLBACK') {
      done.push(open.get(connection)!);
      open.delete(connection);
    } else open.get(connection)!.statements.push(text);
  }
  return done;
}

const schemasIn = (sql: string) => new Set([...sql.matchAll(/"(tenant_[a-z0-9_]*)"\./g)].map((m) => m[1]));

function service(cacheSize: number, sent: Sent[]): TenantConnectionService {
  const pool = recordingPool(sent);
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
    const seen = transactions(sent);
    expect(seen.length).toBeGreaterThan(0);
    for (const { role, path, statements } of seen) {
      const id = role.slice('role_'.length);
      expect(path).toBe(`tenant_${id}`);
      for (const sql of statements) expect(schemasIn(sql)).toEqual(new Set([`tenant_${id}`]));
    }
    expect(new Set(seen.map((t) => t.path))).toEqual(new Set(tenants.map((id) => `tenant_${id}`)));
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
});
