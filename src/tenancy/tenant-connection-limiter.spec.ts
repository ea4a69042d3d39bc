import { FORGET_AFTER_MS, HEAVY_HOLD_MS, HEAVY_REST_FACTOR, MAX_REST_MS, RELATIVE_HEAVY_FLOOR_MS, RELATIVE_HEAVY_RATIO, TenantBusyError, TenantConnectionLimiter } from './tenant-connection-limiter';

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

  it('holds a tenant whose connections stay out long to the heavy cap, and lifts it once its statements are quick again', async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 3, maxPerHeavyTenant: 1 });
    const hold = async (tenant: string, ms: number) => {
      const release = await limiter.acquire(tenant);
      jest.advanceTimersByTime(ms);
      release();
    };
    for (let i = 0; i < 10; i++) await hold('slow', HEAVY_HOLD_MS * 4);
    for (let i = 0; i < 10; i++) await hold('quick', 5);
    expect(limiter.heavy('slow')).toBe(true);
    expect(limiter.heavy('quick')).toBe(false);
    expect(limiter.stats().heavyTenants).toBe(1);

    const running = await limiter.acquire('slow');
    let second = false;
    const queued = limiter.acquire('slow').then((release) => ((second = true), release));
    await Promise.resolve();
    expect(second).toBe(false);
    // The quick tenant keeps its full burst meanwhile.
    const quick = await Promise.all([limiter.acquire('quick'), limiter.acquire('quick'), limiter.acquire('quick')]);
    expect(limiter.held('quick')).toBe(3);
    quick.forEach((release) => release());
    running();
    (await queued)();
    expect(second).toBe(true);

    // An auth lookup between slow statements does not make a tenant light…
    await hold('slow', 2);
    expect(limiter.heavy('slow')).toBe(true);
    // …a minute of quick statements does.
    for (let i = 0; i < 60; i++) {
      await hold('slow', 5);
      jest.advanceTimersByTime(1000);
    }
    expect(limiter.heavy('slow')).toBe(false);
    const burst = await Promise.all([limiter.acquire('slow'), limiter.acquire('slow'), limiter.acquire('slow')]);
    expect(limiter.held('slow')).toBe(3);
    burst.forEach((release) => release());
  });

  it("holds a tenant of statements several times longer than its active neighbours' to the heavy cap, but not one alone or merely slower", async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const scan = RELATIVE_HEAVY_FLOOR_MS * 2;
    let limiter = new TenantConnectionLimiter({ maxPerTenant: 4, maxPerHeavyTenant: 1 });
    const hold = async (tenant: string, ms: number) => {
      const release = await limiter.acquire(tenant);
      jest.advanceTimersByTime(ms);
      release();
    };
    // Alone, 100 ms scans keep their burst: nobody waits behind them.
    for (let i = 0; i < 10; i++) await hold('scans', scan);
    expect(limiter.heavy('scans')).toBe(false);
    // Beside a neighbour at half their length they are merely slower: no cap.
    for (let i = 0; i < 10; i++) await hold('reports', scan / 2);
    expect(limiter.heavy('scans')).toBe(false);

    limiter = new TenantConnectionLimiter({ maxPerTenant: 4, maxPerHeavyTenant: 1 });
    for (let i = 0; i < 10; i++) await hold('scans', scan);
    // Once a neighbour of quick statements is busy, the scans are the heavy ones.
    for (let i = 0; i < 40; i++) await hold('quick', scan / (RELATIVE_HEAVY_RATIO * 2));
    expect(limiter.heavy('scans')).toBe(true);
    expect(limiter.heavy('quick')).toBe(false);
    await limiter.acquire('scans');
    let second = false;
    void limiter.acquire('scans').then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
  });

  it('keeps a heavy tenant that pauses between floods on the heavy cap, and forgets one idle for longer', async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 3, maxPerHeavyTenant: 1 });
    const flood = async () => {
      for (let i = 0; i < 10; i++) {
        const release = await limiter.acquire('slow');
        jest.advanceTimersByTime(HEAVY_HOLD_MS * 4);
        release();
      }
    };
    await flood();
    expect(limiter.heavy('slow')).toBe(true);
    // Back after a pause of several decay times: its next burst starts on one connection.
    jest.advanceTimersByTime(15_000);
    const running = await limiter.acquire('slow');
    let second = false;
    void limiter.acquire('slow').then((release) => ((second = true), release()));
    await Promise.resolve();
    expect(second).toBe(false);
    expect(limiter.stats().waiting).toBe(1);
    jest.advanceTimersByTime(HEAVY_HOLD_MS * 4);
    running();
    await new Promise(setImmediate);
    expect(second).toBe(true);

    await flood();
    jest.advanceTimersByTime(FORGET_AFTER_MS + 1);
    await Promise.all([limiter.acquire('slow'), limiter.acquire('slow')]);
    expect(limiter.held('slow')).toBe(2);
  });

  it("rests a heavy tenant's slot HEAVY_REST_FACTOR times as long as it was held while others use the database, and not while it is alone", async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 4, maxPerHeavyTenant: 1 });
    // Heavy on its own length, and shorter than the longest rest.
    const scan = (HEAVY_HOLD_MS + MAX_REST_MS) / 2;
    const hold = async (tenant: string, ms: number) => {
      const release = await limiter.acquire(tenant);
      jest.advanceTimersByTime(ms);
      release();
    };
    // Holds a scan of `ms`, and measures how long a borrow queued behind it waits once it is released.
    const nextWaitsFor = async (ms = scan) => {
      const release = await limiter.acquire('scans');
      let woken = false;
      const next = limiter.acquire('scans').then((r) => ((woken = true), r));
      jest.advanceTimersByTime(ms);
      release();
      let waited = 0;
      await new Promise(setImmediate);
      while (!woken && waited < MAX_REST_MS * 2) {
        jest.advanceTimersByTime(10);
        waited += 10;
        await new Promise(setImmediate);
      }
      (await next)();
      // Let the rest after `next` run out.
      jest.advanceTimersByTime(MAX_REST_MS);
      return waited;
    };
    // Alone: heavy (one connection), but its next statement starts as soon as the last ends.
    for (let i = 0; i < 5; i++) await hold('scans', scan);
    expect(limiter.heavy('scans')).toBe(true);
    expect(await nextWaitsFor()).toBe(0);
    // A neighbour at work: the slot comes back only after resting HEAVY_REST_FACTOR times as long as the scan held it
    // (a scan short enough for that rest to stay under the longest; the tenant is still heavy from the ones before).
    for (let i = 0; i < 40; i++) await hold('quick', 5);
    jest.advanceTimersByTime(scan);
    const shortScan = MAX_REST_MS / (HEAVY_REST_FACTOR * 2);
    const waited = await nextWaitsFor(shortScan);
    expect(waited).toBeGreaterThanOrEqual(shortScan * HEAVY_REST_FACTOR);
    expect(waited).toBeLessThan(shortScan * HEAVY_REST_FACTOR + 50);
    // A statement as long as the shortest plan's timeout rests MAX_REST_MS, so the next one is not turned away.
    for (let i = 0; i < 40; i++) await hold('quick', 5);
    const waitedAfterLong = await nextWaitsFor(MAX_REST_MS * 2);
    expect(waitedAfterLong).toBeGreaterThanOrEqual(MAX_REST_MS);
    expect(waitedAfterLong).toBeLessThan(MAX_REST_MS + 50);
    // The quick neighbour never rests.
    const quick = await limiter.acquire('quick');
    jest.advanceTimersByTime(5);
    quick();
    await Promise.all([limiter.acquire('quick'), limiter.acquire('quick'), limiter.acquire('quick'), limiter.acquire('quick')]);
    expect(limiter.held('quick')).toBe(4);
  });

  it("turns a heavy tenant's borrow away with TenantBusyError once it has waited its longest, without disturbing the queue", async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 1, maxPerHeavyTenant: 1, maxWaitMs: () => 2000 });
    const slow = await limiter.acquire('a');
    jest.advanceTimersByTime(HEAVY_HOLD_MS * 4);
    slow();
    const held = await limiter.acquire('a');
    const refused = limiter.acquire('a').catch((error: unknown) => error);
    const patient = limiter.acquire('a', 60_000);
    jest.advanceTimersByTime(2001);
    expect(await refused).toBeInstanceOf(TenantBusyError);
    expect(limiter.rejected).toBe(1);
    expect(limiter.stats().waiting).toBe(1);
    held();
    (await patient)();
    expect(limiter.held('a')).toBe(0);
  });

  it('lets a light tenant wait as long as it takes, and times holds from the connection, not from the pool queue', async () => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const limiter = new TenantConnectionLimiter({ maxPerTenant: 1, maxPerHeavyTenant: 1, maxWaitMs: () => 2000 });
    const held = await limiter.acquire('a');
    const waiting = limiter.acquire('a');
    jest.advanceTimersByTime(5000);
    expect(limiter.rejected).toBe(0);
    held.connected();
    held();
    const next = await waiting;
    // Four seconds in the shared pool's queue, then a quick statement.
    jest.advanceTimersByTime(HEAVY_HOLD_MS * 8);
    next.connected();
    jest.advanceTimersByTime(5);
    next();
    expect(limiter.heavy('a')).toBe(false);
  });
});
