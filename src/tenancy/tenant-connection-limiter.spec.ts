import { TenantConnectionLimiter } from './tenant-connection-limiter';

describe('TenantConnectionLimiter', () => {
  it('lets a tenant hold at most its cap, hands a released slot to the next waiter in order, and leaves others alone', async () => {
    const limiter = new TenantConnectionLimiter(2);
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

    first();
    first(); // a second call gives nothing back twice
    (await third)();
    (await fourth)();
    expect(order).toEqual([3, 4]);
    expect(limiter.held('a')).toBe(1);
    other();
    expect(limiter.held('b')).toBe(0);
  });
});
