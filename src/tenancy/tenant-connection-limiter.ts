/**
 * Database time: how many of a tenant's statements were in flight on average over the last few seconds (seconds of
 * statement per second). A tenant below this never counts as heavy, whatever the others do: a tenant of quick
 * statements keeps its full burst.
 */
export const HEAVY_DATABASE_TIME = 0.5;
/**
 * A competing tenant is heavy when its statements are this many times longer than every other active tenant's (both
 * as time-weighted means, Σt²/Σt): on a shared, saturated machine every statement's wall time stretches alike, so
 * the ratio, unlike a fixed line, does not move with load.
 */
export const HEAVY_STATEMENT_RATIO = 10;
// Time constant of the moving averages: the last five seconds or so count.
const DECAY_MS = 5_000;
// A tenant with nothing held for this long no longer counts as active (competing).
const ACTIVE_MS = 2_000;
// A tenant idle this long is forgotten; past this many tenants remembered, idle ones are.
const FORGET_AFTER_MS = 10_000;
// An inactive tenant whose database time has decayed below this is forgotten (a tenant of quick statements at once).
const FORGOTTEN_DATABASE_TIME = 0.01;
const MAX_REMEMBERED = 10_000;

export interface ConnectionLimits {
  /** Connections of the request pool one tenant may hold at once. */
  maxPerTenant: number;
  /** The cap of a tenant using more than its share of database time while others compete (see `heavy`). */
  maxPerHeavyTenant: number;
  /** How long a borrow of `tenant` may wait for a slot when acquire() is not told; undefined: as long as it takes. */
  maxWaitMs?: (tenant: string) => number | undefined;
}

/** A tenant's connection slot: call it to give the slot back, and its `statement()` when a statement is sent on it (then what that returns once the result is in). */
export type Slot = (() => void) & { statement(): () => void };

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
  /** Statements in flight now, and the decayed integral of that count (ms) up to `updatedAt`. */
  running: number;
  busyMs: number;
  updatedAt: number;
  /** Start times of the statements in flight; decayed Σt and Σt² of the finished ones (ms, ms²). */
  started: Set<{ at: number }>;
  sum1: number;
  sum2: number;
  lastActiveAt: number;
}

/**
 * Caps the request-pool connections each tenant holds at once (FIFO per tenant), and holds a tenant to
 * `maxPerHeavyTenant` while it takes more than its share of the database: its statements kept at least half a
 * connection busy over the last few seconds (HEAVY_DATABASE_TIME) and more than every other active tenant's together.
 * On a database with few cores, a tenant's concurrent slow statements are what everyone else waits behind; counting
 * statement time, not connection time, leaves alone a tenant whose connection waits on the API between statements
 * (a GraphQL query holds its transaction's connection until the response is ready).
 */
export class TenantConnectionLimiter {
  private readonly tenants = new Map<string, TenantState>();
  /** Borrows turned away with TenantBusyError since start. */
  rejected = 0;

  constructor(private readonly limits: ConnectionLimits) {}

  get maxPerTenant(): number {
    return this.limits.maxPerTenant;
  }

  /**
   * Resolves once `tenant` may take another connection; call the returned function exactly once to give it back.
   * Rejects with TenantBusyError after `maxWaitMs` in the queue of a heavy tenant: what waits longer than the plan
   * lets a statement run is that tenant's own excess, turned away at no cost to anyone.
   */
  async acquire(tenant: string, maxWaitMs = this.limits.maxWaitMs?.(tenant)): Promise<Slot> {
    const state = this.stateOf(tenant);
    if (state.held < this.capOf(tenant, state) && state.waiting.length === 0) state.held++;
    // A woken waiter finds `held` already counted for it.
    else await this.wait(tenant, state, maxWaitMs);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      state.held--;
      state.lastActiveAt = Date.now();
      while (state.waiting.length > 0 && state.held < this.capOf(tenant, state)) {
        state.held++;
        state.waiting.shift()!();
      }
    };
    const statement = () => {
      this.advance(state, 1);
      // An object per statement: two may start in the same millisecond.
      const started = { at: Date.now() };
      state.started.add(started);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        state.started.delete(started);
        const took = Date.now() - started.at;
        this.advance(state, -1);
        state.sum1 += took;
        state.sum2 += took * took;
      };
    };
    return Object.assign(release, { statement });
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
        if (!this.heavy(tenant)) return void (timer = setTimeout(expire, maxWaitMs).unref());
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

  /** Database time of `tenant`: its statements in flight on average over the last few seconds. */
  databaseTime(tenant: string, now = Date.now()): number {
    const state = this.tenants.get(tenant);
    if (!state) return 0;
    const decay = Math.exp(-(now - state.updatedAt) / DECAY_MS);
    return (state.busyMs * decay + state.running * DECAY_MS * (1 - decay)) / DECAY_MS;
  }

  /** Time-weighted mean length of `tenant`'s recent statements (ms), those in flight counted as long as they ran yet. */
  statementMs(tenant: string, now = Date.now()): number {
    const state = this.tenants.get(tenant);
    if (!state) return 0;
    const decay = Math.exp(-(now - state.updatedAt) / DECAY_MS);
    let sum1 = state.sum1 * decay;
    let sum2 = state.sum2 * decay;
    for (const { at } of state.started) {
      sum1 += now - at;
      sum2 += (now - at) ** 2;
    }
    return sum1 > 0 ? sum2 / sum1 : 0;
  }

  /**
   * Whether `tenant` is held to the heavy cap now: another tenant is active, its statements keep at least
   * HEAVY_DATABASE_TIME of a connection busy, and they run HEAVY_STATEMENT_RATIO times longer than any active
   * tenant's.
   */
  heavy(tenant: string): boolean {
    const now = Date.now();
    if (this.databaseTime(tenant, now) < HEAVY_DATABASE_TIME) return false;
    const own = this.statementMs(tenant, now);
    let others = 0;
    let competing = false;
    for (const [other, state] of this.tenants) {
      if (other === tenant) continue;
      if (!this.active(state, now)) {
        if (state.waiting.length === 0 && this.databaseTime(other, now) < FORGOTTEN_DATABASE_TIME) this.tenants.delete(other);
        continue;
      }
      competing = true;
      others = Math.max(others, this.statementMs(other, now));
    }
    return competing && own >= HEAVY_STATEMENT_RATIO * others;
  }

  /** Tenants held to the heavy cap now, and borrows waiting for a slot of their tenant. */
  stats(): { heavyTenants: number; waiting: number } {
    let heavyTenants = 0;
    let waiting = 0;
    for (const [tenant, state] of this.tenants) {
      if (this.heavy(tenant)) heavyTenants++;
      waiting += state.waiting.length;
    }
    return { heavyTenants, waiting };
  }

  private capOf(tenant: string, state: TenantState): number {
    const cap = this.limits.maxPerTenant;
    // Only a tenant that already holds its heavy cap has a question to ask; the rest is a loop over tenants.
    if (state.held < Math.min(this.limits.maxPerHeavyTenant, cap)) return cap;
    return this.heavy(tenant) ? Math.min(this.limits.maxPerHeavyTenant, cap) : cap;
  }

  private active(state: TenantState, now: number): boolean {
    return state.held > 0 || now - state.lastActiveAt < ACTIVE_MS;
  }

  // Decays the sums to now, folding in the time since the last change, then counts `delta` more statements in flight.
  private advance(state: TenantState, delta: number): void {
    const now = Date.now();
    const decay = Math.exp(-(now - state.updatedAt) / DECAY_MS);
    state.busyMs = state.busyMs * decay + state.running * DECAY_MS * (1 - decay);
    state.sum1 *= decay;
    state.sum2 *= decay;
    state.updatedAt = now;
    state.running += delta;
  }

  private stateOf(tenant: string): TenantState {
    let state = this.tenants.get(tenant);
    const now = Date.now();
    if (state) return state;
    if (this.tenants.size >= MAX_REMEMBERED) this.forgetIdle(now);
    state = { held: 0, waiting: [], running: 0, busyMs: 0, updatedAt: now, lastActiveAt: now, started: new Set(), sum1: 0, sum2: 0 };
    this.tenants.set(tenant, state);
    return state;
  }

  private forgetIdle(now: number): void {
    for (const [tenant, state] of this.tenants) {
      if (state.held === 0 && state.waiting.length === 0 && now - state.lastActiveAt > FORGET_AFTER_MS) this.tenants.delete(tenant);
    }
  }
}
