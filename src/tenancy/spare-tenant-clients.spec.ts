import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PendingAdapter, SpareTenantClients } from './spare-tenant-clients';

// A pg.Pool (PrismaPg requires one) that records the SQL it is sent and answers every statement with no rows.
class RecordingPool extends Pool {
  readonly sent: string[] = [];

  constructor() {
    super({ max: 1 });
  }

  override async query(...args: unknown[]): Promise<any> {
    const [config] = args as [{ text: string } | string];
    this.sent.push(typeof config === 'string' ? config : config.text);
    return { command: 'SELECT', rowCount: 0, fields: [], rows: [] };
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('SpareTenantClients', () => {
  let spares: SpareTenantClients;

  beforeEach(() => {
    spares = new SpareTenantClients(1);
  });

  afterEach(() => spares.close());

  it('builds a spare in a later turn of the event loop once one is taken', async () => {
    expect(spares.ready).toBe(0);
    spares.take(new PrismaPg(new RecordingPool(), { schema: 'tenant_a' }));
    expect(spares.ready).toBe(0);
    await nextTurn();
    expect(spares.ready).toBe(1);
  });

  it('gives clients built ahead of their tenant only that tenant’s schema, even when two query in the same tick', async () => {
    const poolA = new RecordingPool();
    const poolB = new RecordingPool();
    const a = spares.take(new PrismaPg(poolA, { schema: 'tenant_a', disposeExternalPool: false }));
    await nextTurn();
    expect(spares.ready).toBe(1);
    // B gets the client that was built before anyone knew it would be B's.
    const b = spares.take(new PrismaPg(poolB, { schema: 'tenant_b', disposeExternalPool: false }));
    expect(spares.ready).toBe(0);
    await Promise.all([
      a.project.findMany({ where: { name: 'x' } }),
      b.project.findMany({ where: { name: 'x' } }),
      a.user.findUnique({ where: { id: '00000000-0000-0000-0000-000000000001' } }),
      b.user.findUnique({ where: { id: '00000000-0000-0000-0000-000000000002' } }),
    ]);
    const schemas = (sent: string[]) => new Set(sent.flatMap((sql) => [...sql.matchAll(/"(tenant_[a-z0-9_]*)"\./g)].map((m) => m[1])));
    expect(schemas(poolA.sent)).toEqual(new Set(['tenant_a']));
    expect(schemas(poolB.sent)).toEqual(new Set(['tenant_b']));
    await Promise.all([a.$disconnect(), b.$disconnect()]);
  });

  it('can build its spares before the first one is asked for', async () => {
    spares.prepare();
    await nextTurn();
    expect(spares.ready).toBe(1);
  });

  it('builds nothing more once closed', async () => {
    spares.take(new PrismaPg(new RecordingPool(), { schema: 'tenant_a' }));
    spares.close();
    await nextTurn();
    expect(spares.ready).toBe(0);
  });

  it('decodes Prisma’s parameterization graph once, however many tenant clients it builds', async () => {
    // scripts/prisma-generate.js patches the runtime to share the decoded graph; unpatched, each client decodes it.
    const decodeGraph = jest.spyOn(Buffer, 'from');
    const graphDecodes = () => decodeGraph.mock.calls.filter((call) => {
        const [value, encoding] = call as unknown[];
        return encoding === 'base64url' && String(value).length > 10_000;
      }).length;
    const clients = ['tenant_a', 'tenant_b', 'tenant_c', 'tenant_d'].map((schema) => spares.take(new PrismaPg(new RecordingPool(), { schema })));
    await nextTurn();
    const pools = [new RecordingPool(), new RecordingPool()];
    const [a, b] = pools.map((pool, i) => spares.take(new PrismaPg(pool, { schema: `tenant_same_${i}`, disposeExternalPool: false })));
    await Promise.all([a.project.findMany({ where: { status: 'ACTIVE' } }), b.project.findMany({ where: { status: 'ARCHIVED' } })]);
    expect(graphDecodes()).toBeLessThanOrEqual(1);
    // The shared graph still parameterizes each client's own query (an enum value, here) for its own schema.
    expect(pools[0].sent.join()).toContain('"tenant_same_0"."Project"');
    expect(pools[1].sent.join()).toContain('"tenant_same_1"."Project"');
    decodeGraph.mockRestore();
    await Promise.all([...clients, a, b].map((client) => client.$disconnect()));
  });
});

describe('PendingAdapter', () => {
  it('refuses to connect before it is bound to a tenant', async () => {
    await expect(new PendingAdapter().connect()).rejects.toThrow('before it is bound');
  });

  it('is bound to one tenant only', () => {
    const adapter = new PendingAdapter();
    adapter.bind(new PrismaPg(new RecordingPool(), { schema: 'tenant_a' }));
    expect(() => adapter.bind(new PrismaPg(new RecordingPool(), { schema: 'tenant_b' }))).toThrow('one tenant only');
  });

  it('presents itself as the pg adapter the client checks for', () => {
    const pg = new PrismaPg(new RecordingPool(), { schema: 'tenant_a' });
    expect([new PendingAdapter().provider, new PendingAdapter().adapterName]).toEqual([pg.provider, pg.adapterName]);
  });
});
