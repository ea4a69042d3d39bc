/**
 * Every tenant id and custom domain the registry holds, in memory, so a request naming one it does not hold is answered
 * without a cache entry or a database round trip (R3: a flood of unknown tenants costs the real ones nothing).
 *
 * Only a negative answer is trusted: a name it holds is still resolved (status, plan) through the caches and the
 * registry. It is filled from the registry once LISTEN is in place and then grows with every change notification
 * (the registry row is inserted, and notified, before provisioning starts), so it misses no tenant created in any
 * process. Until filled — at boot, and while notifications are away — it answers "maybe" for everything.
 */
export class KnownTenants {
  private ids?: Set<string>;
  private domains?: Set<string>;
  // Names notified while a fill was reading the registry: kept, since the fill may have read before they existed.
  private pending?: { ids: Set<string>; domains: Set<string> };

  /** False only when `id` is certainly not a tenant. */
  mayHoldId(id: string): boolean {
    return this.ids === undefined || this.ids.has(id);
  }

  /** False only when `domain` is certainly no tenant's custom domain. */
  mayHoldDomain(domain: string): boolean {
    return this.domains === undefined || this.domains.has(domain);
  }

  get filled(): boolean {
    return this.ids !== undefined;
  }

  /** Starts a fill: notifications from now on are kept for `fill`. */
  beginFill(): void {
    this.pending = { ids: new Set(), domains: new Set() };
  }

  fill(ids: Iterable<string>, domains: Iterable<string>): void {
    const pending = this.pending ?? { ids: new Set(), domains: new Set() };
    this.ids = new Set([...ids, ...pending.ids]);
    this.domains = new Set([...domains, ...pending.domains]);
    this.pending = undefined;
  }

  /** Notifications may have been missed: answer "maybe" until the next fill. */
  forget(): void {
    this.ids = undefined;
    this.domains = undefined;
    this.pending = undefined;
  }

  // A removed tenant or domain stays: it then costs one cached registry miss, as any name did before.
  addId(id: string): void {
    this.ids?.add(id);
    this.pending?.ids.add(id);
  }

  addDomain(domain: string): void {
    this.domains?.add(domain);
    this.pending?.domains.add(domain);
  }
}
