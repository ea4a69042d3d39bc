/**
 * A tenant is heavy when most of its connection time goes to long borrows: the hold-time-weighted mean hold (Σh²/Σh)
 * is at least this. A few quick statements between slow ones (an auth lookup per request) do not hide the slow ones.
 */
export const HEAVY_HOLD_MS = 500;
/**
 * While other tenants use the database, a tenant is heavy from this weighted mean hold when it is also
 * RELATIVE_HEAVY_RATIO times theirs: PostgreSQL shares the cores between backends, not tenants, so a tenant of
 * 100 ms scans on four connections takes most of a small server from one with quick statements. Relative, because on
 * a saturated machine everyone's holds stretch alike.
 */
export const RELATIVE_HEAVY_FLOOR_MS = 50;
export const RELATIVE_HEAVY_RATIO = 2.5;
// Others count as active from this much decayed connection time (ms, ~ the last few seconds).
const OTHERS_ACTIVE_MS = 100;
// Below this weighted mean, a tenant with nothing held is not remembered.
const QUICK_HOLD_MS = 10;
/**
 * While others use the database, a heavy tenant's slot rests this many times as long as it was held before its next
 * statement: a heavy tenant then takes at most a quarter of a core from them.
 */
export const HEAVY_REST_FACTOR = 3;
// The longest rest of a heavy tenant's slot: half the free plan's 2 s statement timeout.
export const MAX_REST_MS = 1_000;
// Time constant of the moving sums: the borrows of the last ten seconds or so count.
const DECAY_MS = 5_000;
// A tenant idle this long starts afresh; past this many tenants remembered, idle ones are forgotten. Longer than the
// pauses of a tenant that floods in bursts: forgotten after 10 s, each burst took the full cap until its first slow
// statements came back, and B's p99 beside such a flood was set by those first moments. A tenant back within the
// minute resumes as it left, and sheds the heavy cap as it would have active: once its quick holds outweigh the
// decayed slow ones.
export const FORGET_AFTER_MS = 60_000;
const MAX_REMEMBERED = 10_000;

export interface ConnectionLimits {
  /** Connections of the request pool one tenant may hold at once. */
  maxPerTenant: number;
  /** The cap of a tenant whose recent statements hold connections ≥ HEAVY_HOLD_MS on average. */
  maxPerHeavyTenant: number;
  /** How long a borrow of `tenant` may wait for a slot when acquire() is not told; undefined: as long as it takes. */
  maxWaitMs?: (tenant: string) => number | undefined;
}

/** A tenant's connection slot: call it to give the slot back. */
export type Slot = (() => void) & { connected(): void };

/** A statement waited for a slot of its own tenant longer than it would have been allowed to run. */
export class TenantBusyError extends Error {
  constructor(
    readonly tenantId: string,
    readonly waitedMs: number,
  ) {
    super(`TENANT_BUSY: tenant ${tenantId} waited ${waitedMs} ms for one of its connection slots`);
    this.name = 'TenantBusyError';
  }
}

interface TenantState {
  held: number;
  waiting: (() => void)[];
  /** Exponentially decayed Σ hold and Σ hold² of this tenant's borrows (ms, ms²). */
  held1: number;
  held2: number;
  lastReleaseAt: number;
}

/**
 * Caps the request-pool connections each tenant holds at once, so one tenant's burst or slow queries cannot take
 * the whole pool; FIFO per tenant. A tenant whose statements are slow (each one a second of PostgreSQL CPU, say) is
 * held to `maxPerHeavyTenant`: on a database with few cores, its concurrent statements are what the others wait
 * behind, while a tenant of quick statements keeps its full burst.
 */
export class TenantConnectionLimiter {
  private readonly tenants = new Map<string, TenantState>();
  // Every tenant's borrows together, decayed like each tenant's own, so others' = all − own.
  private readonly all = { held1: 0, held2: 0, lastReleaseAt: Date.now() };
  /** Borrows turned away with TenantBusyError since start. */
  rejected = 0;

  constructor(private readonly limits: ConnectionLimits) {}

  get maxPerTenant(): number {
    return this.limits.maxPerTenant;
  }

  /**
   * Resolves once `tenant` may take another connection; call the returned function exactly once to give it back,
   * and its `connected()` once the connection is in hand (hold times count from then, not from a pool queue).
   * Rejects with TenantBusyError after `maxWaitMs` in the queue of a heavy tenant: what waits longer than the plan
   * lets a statement run is that tenant's own excess, turned away at no cost to anyone.
   */
  async acquire(tenant: string, maxWaitMs = this.limits.maxWaitMs?.(tenant)): Promise<Slot> {
    const state = this.stateOf(tenant);
    if (state.held < this.capOf(state) && state.waiting.length === 0) state.held++;
    // A woken waiter finds `held` already counted for it.
    else await this.wait(tenant, state, maxWaitMs);
    let takenAt = Date.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const now = Date.now();
      const hold = now - takenAt;
      addHold(state, hold, now);
      addHold(this.all, hold, now);
      // While others use the database, a heavy tenant's slot rests HEAVY_REST_FACTOR times as long as it was held.
      // At most MAX_REST_MS, under the shortest plan's timeout: a rest must not turn the tenant's next statement away
      // as TENANT_BUSY.
      const rest = Math.min(hold * HEAVY_REST_FACTOR, MAX_REST_MS);
      if (this.isHeavy(state) && this.othersActive(state)) setTimeout(() => this.free(tenant, state), rest).unref();
      else this.free(tenant, state);
    };
    return Object.assign(release, { connected: () => void (takenAt = Date.now()) });
  }

  private free(tenant: string, state: TenantState): void {
    state.held--;
    while (state.waiting.length > 0 && state.held < this.capOf(state)) {
      state.held++;
      state.waiting.shift()!();
    }
    // Nothing kept for a tenant of quick statements; the others' average must outlive a gap between borrows.
    if (state.held === 0 && weightedHold(state) < QUICK_HOLD_MS) this.tenants.delete(tenant);
  }

  private wait(tenant: string, state: TenantState, maxWaitMs: number | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      state.waiting.push(wake);
      if (maxWaitMs === undefined) return;
      // Only a heavy tenant's wait is its own excess; a light one may be waiting out a saturated pool.
      const expire = () => {
        if (!state.waiting.includes(wake)) return;
        if (!this.isHeavy(state)) return void (timer = setTimeout(expire, maxWaitMs).unref());
        state.waiting.splice(state.waiting.indexOf(wake), 1);
        this.rejected++;
        reject(new TenantBusyError(tenant, maxWaitMs));
      };
      timer = setTimeout(expire, maxWaitMs).unref();
    });
  }

  /** Connections `tenant` holds now. */
  held(tenant: string): number {
    return this.tenants.get(tenant)?.held ?? 0;
  }

  /** Whether `tenant` is held to the heavy cap now. */
  heavy(tenant: string): boolean {
    const state = this.tenants.get(tenant);
    return state !== undefined && this.isHeavy(state);
  }

  /** Tenants held to the heavy cap now, and borrows waiting for a slot of their tenant. */
  stats(): { heavyTenants: number; waiting: number } {
    let heavyTenants = 0;
    let waiting = 0;
    for (const state of this.tenants.values()) {
      if (this.isHeavy(state)) heavyTenants++;
      waiting += state.waiting.length;
    }
    return { heavyTenants, waiting };
  }

  private capOf(state: TenantState): number {
    return this.isHeavy(state) ? Math.min(this.limits.maxPerHeavyTenant, this.limits.maxPerTenant) : this.limits.maxPerTenant;
  }

  private isHeavy(state: TenantState): boolean {
    const own = weightedHold(state);
    if (own >= HEAVY_HOLD_MS) return true;
    if (own < RELATIVE_HEAVY_FLOOR_MS) return false;
    const { others1, others2 } = this.others(state);
    return others1 >= OTHERS_ACTIVE_MS && own >= RELATIVE_HEAVY_RATIO * (others2 / others1);
  }

  private othersActive(state: TenantState): boolean {
    return this.others(state).others1 >= OTHERS_ACTIVE_MS;
  }

  // The decayed Σ hold and Σ hold² of every other tenant's borrows.
  private others(state: TenantState): { others1: number; others2: number } {
    const now = Date.now();
    const ownDecay = Math.exp(-(now - state.lastReleaseAt) / DECAY_MS);
    const allDecay = Math.exp(-(now - this.all.lastReleaseAt) / DECAY_MS);
    return { others1: this.all.held1 * allDecay - state.held1 * ownDecay, others2: this.all.held2 * allDecay - state.held2 * ownDecay };
  }

  private stateOf(tenant: string): TenantState {
    let state = this.tenants.get(tenant);
    const now = Date.now();
    if (state && state.held === 0 && now - state.lastReleaseAt > FORGET_AFTER_MS) state.held1 = state.held2 = 0;
    if (state) return state;
    if (this.tenants.size >= MAX_REMEMBERED) this.forgetIdle(now);
    state = { held: 0, waiting: [], held1: 0, held2: 0, lastReleaseAt: now };
    this.tenants.set(tenant, state);
    return state;
  }

  private forgetIdle(now: number): void {
    for (const [tenant, state] of this.tenants) {
      if (state.held === 0 && now - state.lastReleaseAt > FORGET_AFTER_MS) this.tenants.delete(tenant);
    }
  }
}

function addHold(sums: { held1: number; held2: number; lastReleaseAt: number }, hold: number, now: number): void {
  const decay = Math.exp(-(now - sums.lastReleaseAt) / DECAY_MS);
  sums.held1 = sums.held1 * decay + hold;
  sums.held2 = sums.held2 * decay + hold * hold;
  sums.lastReleaseAt = now;
}

function weightedHold(state: TenantState): number {
  return state.held1 > 0 ? state.held2 / state.held1 : 0;
}
