import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('gives its burst at once, then refuses until it refills', () => {
    const bucket = new TokenBucket(20, 3, 0);
    expect([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)]).toEqual([true, true, true]);
    expect(bucket.tryTake(0)).toBe(false);
    expect(bucket.tryTake(49)).toBe(false);
    expect(bucket.tryTake(50)).toBe(true);
  });

  it('refills at its rate but never beyond its burst', () => {
    const bucket = new TokenBucket(10, 2, 0);
    bucket.tryTake(0);
    bucket.tryTake(0);
    // 10 s at 10/s would be 100 tokens: only 2 fit.
    expect([bucket.tryTake(10_000), bucket.tryTake(10_000), bucket.tryTake(10_000)]).toEqual([true, true, false]);
  });

  it('says how long until the next token', () => {
    const bucket = new TokenBucket(4, 1, 1_000);
    expect(bucket.msUntilToken(1_000)).toBe(0);
    bucket.tryTake(1_000);
    expect(bucket.msUntilToken(1_000)).toBe(250);
    expect(bucket.msUntilToken(1_100)).toBe(150);
    expect(bucket.msUntilToken(1_250)).toBe(0);
  });

  it('handles rates below one per second', () => {
    const bucket = new TokenBucket(0.01, 1, 0);
    bucket.tryTake(0);
    expect(bucket.msUntilToken(0)).toBe(100_000);
    expect(bucket.tryTake(99_999)).toBe(false);
    expect(bucket.tryTake(100_000)).toBe(true);
  });

  it('is full again, and forgettable, only once it has refilled its burst', () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.isFull(0)).toBe(true);
    bucket.tryTake(0);
    bucket.tryTake(0);
    expect(bucket.isFull(100)).toBe(false);
    expect(bucket.isFull(200)).toBe(true);
  });

  it('refills nothing, and takes nothing away, when the clock steps back', () => {
    const bucket = new TokenBucket(10, 1, 1_000);
    bucket.tryTake(1_000);
    expect(bucket.tryTake(500)).toBe(false);
    expect(bucket.tryTake(1_100)).toBe(true);
  });
});
