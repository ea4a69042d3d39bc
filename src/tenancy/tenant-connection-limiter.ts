/**
 * Caps the request-pool connections each tenant holds at once, so one tenant's burst or slow queries cannot take
 * the whole pool: a counting semaphore per tenant, FIFO, holding no state for idle tenants.
 */
export class TenantConnectionLimiter {
  private readonly tenants = new Map<string, { held: number; waiting: (() => void)[] }>();

  constructor(readonly maxPerTenant: number) {}

  /** Resolves once `tenant` may take another connection; call the returned function exactly once to give it back. */
  async acquire(tenant: string): Promise<() => void> {
    let state = this.tenants.get(tenant);
    if (!state) this.tenants.set(tenant, (state = { held: 0, waiting: [] }));
    if (state.held < this.maxPerTenant) state.held++;
    // A released slot passes straight to the next waiter: `held` stays counted for it.
    else await new Promise<void>((resolve) => state.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = state.waiting.shift();
      if (next) return next();
      if (--state.held === 0) this.tenants.delete(tenant);
    };
  }

  /** Connections `tenant` holds now. */
  held(tenant: string): number {
    return this.tenants.get(tenant)?.held ?? 0;
  }
}
