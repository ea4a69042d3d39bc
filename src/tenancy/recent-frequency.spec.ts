import { RecentFrequency } from './recent-frequency';

describe('RecentFrequency', () => {
  it('counts what it records', () => {
    const frequency = new RecentFrequency(100);
    for (const key of ['a', 'a', 'b']) frequency.record(key);
    expect([frequency.of('a'), frequency.of('b'), frequency.of('c')]).toEqual([2, 1, 0]);
  });

  it('halves every count after its sample size, forgetting keys seen once, so it stays bounded', () => {
    const frequency = new RecentFrequency(8);
    for (const key of ['a', 'a', 'a', 'a', 'b', 'c', 'd', 'e']) frequency.record(key);
    expect([frequency.of('a'), frequency.of('b'), frequency.size]).toEqual([2, 0, 1]);
    for (let i = 0; i < 1000; i++) frequency.record(`k${i}`);
    expect(frequency.size).toBeLessThanOrEqual(8);
  });

  it('picks the least frequent among the first candidates, the earliest among equals', () => {
    const frequency = new RecentFrequency(100);
    for (const key of ['a', 'a', 'b', 'b', 'c', 'd']) frequency.record(key);
    expect(frequency.leastFrequent(['a', 'b', 'c', 'd'], 2)).toBe('a');
    expect(frequency.leastFrequent(['a', 'b', 'c', 'd'], 4)).toBe('c');
    expect(frequency.leastFrequent([], 4)).toBeUndefined();
  });
});
