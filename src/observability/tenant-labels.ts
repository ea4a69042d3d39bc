export const OTHER_TENANT = 'other';

/**
 * Bounds the `tenant` label of request metrics to the K busiest tenants plus `other`.
 * Until the first ranking the first K tenants seen are admitted; every `rank()` (on scrape) re-elects the K with
 * the most requests since, with older traffic halved, and reports the tenants that lost their label so their
 * series can be dropped. So at most K tenant values (plus `other`) are ever exported at once.
 */
export class TopTenantLabels {
  private readonly traffic = new Map<string, number>();
  private labelled = new Set<string>();

  constructor(
    readonly k: number,
    // Tenants tracked between rankings; past this, unseen tenants are counted only as `other`.
    private readonly maxTracked = Math.max(1000, k * 50),
  ) {}

  /** Counts one request of `tenantId` and returns the label it is recorded under. */
  labelFor(tenantId: string): string {
    if (this.traffic.has(tenantId) || this.traffic.size < this.maxTracked) {
      this.traffic.set(tenantId, (this.traffic.get(tenantId) ?? 0) + 1);
    }
    if (!this.labelled.has(tenantId) && this.labelled.size < this.k) this.labelled.add(tenantId);
    return this.labelled.has(tenantId) ? tenantId : OTHER_TENANT;
  }

  /** Re-elects the top K; returns the tenants that lost their label. */
  rank(): string[] {
    const top = [...this.traffic.entries()]
      // On a tie the tenant holding a label keeps it, so equal traffic does not churn series.
      .sort((a, b) => b[1] - a[1] || Number(this.labelled.has(b[0])) - Number(this.labelled.has(a[0])) || a[0].localeCompare(b[0]))
      .slice(0, this.k)
      .map(([id]) => id);
    const next = new Set(top);
    const dropped = [...this.labelled].filter((id) => !next.has(id));
    this.labelled = next;
    for (const [id, count] of this.traffic) {
      const decayed = Math.floor(count / 2);
      if (decayed === 0) this.traffic.delete(id);
      else this.traffic.set(id, decayed);
    }
    return dropped;
  }

  get labels(): ReadonlySet<string> {
    return this.labelled;
  }
}
