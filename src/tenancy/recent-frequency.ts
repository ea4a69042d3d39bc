// How often each tenant's client was asked for lately, to choose which client to drop when the cache is full.
// Under a skewed load (a few busy tenants, a long tail), plain LRU drops a busy tenant's client whenever enough tail
// tenants pass by, and rebuilding a PrismaClient costs milliseconds of CPU (most of it the garbage collection of the
// ≈ 455 KB parameterization graph each client decodes). Counts are halved every `sampleSize` records (TinyLFU's
// aging), so old popularity fades and the map never holds more than `sampleSize` keys. Only counts are kept: nothing
// of a tenant's client or data.

export class RecentFrequency {
  private readonly counts = new Map<string, number>();
  private recorded = 0;

  constructor(private readonly sampleSize: number) {}

  record(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (++this.recorded >= this.sampleSize) this.age();
  }

  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Among the first `limit` of `keys` (least recently used first), the least frequent; the earliest among equals. */
  leastFrequent(keys: Iterable<string>, limit: number): string | undefined {
    let chosen: string | undefined;
    let lowest = Infinity;
    let seen = 0;
    for (const key of keys) {
      if (seen++ >= limit) break;
      const count = this.of(key);
      if (count < lowest) {
        chosen = key;
        lowest = count;
      }
    }
    return chosen;
  }

  get size(): number {
    return this.counts.size;
  }

  private age(): void {
    this.recorded = 0;
    for (const [key, count] of this.counts) {
      if (count > 1) this.counts.set(key, count >> 1);
      else this.counts.delete(key);
    }
  }
}
