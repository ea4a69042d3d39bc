import { TenantBusyError, TenantConnectionLimiter, type Slot } from './tenant-connection-limiter';

const fakeClock = () => jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });

// `connections` of `tenant` each run statements back to back for `ms`, then give their slots back.
async function busy(limiter: TenantConnectionLimiter, tenant: string, connections: number, ms: number): Promise<void> {
  const slots = await Promise.all(Array.from({ length: connections }, () => limiter.acquire(tenant)));
  const ended = slots.map((slot) => slot.statement());
  jest.advanceTimersByTime(ms);
  ended.forEach((end) => end());
  slots.forEach((release) => release());
}

// One quick statement on one connection, as a light tenant's request.
async function quick(limiter: TenantConnectionLimiter, tenant: string): Promise<Slot> {
  const slot = await limiter.acquire(tenant);
  const end = slot.statement();
  jest.advanceTimersByTime(2);
  end();
  return slot;
}

describe('TenantConnectionLimiter', () => {
  afterEach(() => jest.useRealTimers());

  it('lets a tenant hold at most its cap, hands a released slot to the next waiter in order, and leaves others alone', async () => {
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 2, maxPerHeavyTenant: 1 });
    const first = await limiter.acquire('a');
    await limiter.acquire('a');
    const order: number[] = [];
    const third = limiter.acquire('a').then((release) => (order.push(3), release));
    const fourth = limiter.acquire('a').then((release) => (order.push(4), release));
    // Another tenant is not queued behind a's.
    const other = await limiter.acquire('b');
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(limiter.held('a')).toBe(2);
    expect(limiter.stats().waiting).toBe(2);

    first();
    first(); // a second call gives nothing back twice
    (await third)();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(limiter.held('a')).toBe(1);
    other();
    expect(limiter.held('b')).toBe(0);
  });

  it('measures database time as statements in flight, not connections held', async () => {
    fakeClock();
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 3, maxPerHeavyTenant: 1 });
    await busy(limiter, 'a', 2, 60_000);
    expect(limiter.databaseTime('a')).toBeCloseTo(2, 2);
    // A connection kept for ten seconds while the API works between 2 ms statements (a query's transaction).
    const slot = await limiter.acquire('b');
    for (let i = 0; i < 100; i++) {
      const end = slot.statement();
      jest.advanceTimersByTime(2);
      end();
      jest.advanceTimersByTime(98);
    }
    slot();
    expect(limiter.databaseTime('b')).toBeLessThan(0.05);
  });

  it('holds the tenant taking more database time than all other active tenants to the heavy cap, never the quick one', async () => {
    fakeClock();
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 3, maxPerHeavyTenant: 1 });
    // Alone, a tenant of slow statements keeps its full burst: nobody is waiting behind it.
    await busy(limiter, 'slow', 3, 10_000);
    expect(limiter.heavy('slow')).toBe(false);
    const quickSlot = await quick(limiter, 'quick');

    const running = await limiter.acquire('slow');
    expect(limiter.heavy('slow')).toBe(true);
    expect(limiter.stats().heavyTenants).toBe(1);
    let second = false;
    const queued = limiter.acquire('slow').then((release) => ((second = true), release));
    await Promise.resolve();
    expect(second).toBe(false);
    // The quick tenant keeps its full burst meanwhile.
    const burst = await Promise.all([limiter.acquire('quick'), limiter.acquire('quick')]);
    expect(limiter.held('quick')).toBe(3);
    expect(limiter.heavy('quick')).toBe(false);
    [quickSlot, ...burst].forEach((release) => release());
    running();
    (await queued)();
    expect(second).toBe(true);

    // Once the quick tenant has gone quiet, the slow one has its burst back.
    jest.advanceTimersByTime(3_000);
    expect(limiter.heavy('slow')).toBe(false);
    const again = await Promise.all([limiter.acquire('slow'), limiter.acquire('slow'), limiter.acquire('slow')]);
    expect(limiter.held('slow')).toBe(3);
    again.forEach((release) => release());
  });

  it('never holds a tenant under half a connection of database time, even one busier than the others', async () => {
    fakeClock();
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 3, maxPerHeavyTenant: 1 });
    // 40% of one connection for a minute, beside a tenant that does next to nothing.
    const idle = await limiter.acquire('idle');
    for (let i = 0; i < 60; i++) {
      await busy(limiter, 'busier', 1, 400);
      jest.advanceTimersByTime(600);
    }
    expect(limiter.databaseTime('busier')).toBeGreaterThan(0.3);
    expect(limiter.heavy('busier')).toBe(false);
    const burst = await Promise.all([limiter.acquire('busier'), limiter.acquire('busier'), limiter.acquire('busier')]);
    expect(limiter.held('busier')).toBe(3);
    [idle, ...burst].forEach((release) => release());
  });

  it("turns a heavy tenant's borrow away with TenantBusyError once it has waited its longest, without disturbing the queue", async () => {
    fakeClock();
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 1, maxPerHeavyTenant: 1, maxWaitMs: () => 2000 });
    const other = await quick(limiter, 'b');
    const held = await limiter.acquire('a');
    held.statement();
    const refused = limiter.acquire('a').catch((error: unknown) => error);
    const patient = limiter.acquire('a', 60_000);
    jest.advanceTimersByTime(2001);
    expect(limiter.heavy('a')).toBe(false); // 2 s of one statement: under half a connection over ~5 s yet
    jest.advanceTimersByTime(2000);
    expect(await refused).toBeInstanceOf(TenantBusyError);
    expect(limiter.rejected).toBe(1);
    expect(limiter.stats().waiting).toBe(1);
    held();
    (await patient)();
    other();
    expect(limiter.held('a')).toBe(0);
  });

  it('lets a light tenant wait for its own slot as long as it takes', async () => {
    fakeClock();
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 1, maxPerHeavyTenant: 1, maxWaitMs: () => 2000 });
    const held = await limiter.acquire('a');
    const waiting = limiter.acquire('a');
    jest.advanceTimersByTime(10_000);
    expect(limiter.rejected).toBe(0);
    held();
    (await waiting)();
    expect(limiter.held('a')).toBe(0);
  });
});
