import { Pool, type PoolClient, type PoolConfig } from 'pg';

// pg-pool 3's internals that this pool steers. They have not changed shape since pg-pool 3.0; the constructor
// checks them, so an upgrade that changes them fails at boot rather than quietly losing the affinity.
interface PendingItem {
  callback: (...args: unknown[]) => void;
  timedOut?: boolean;
  /** Set by connectFor. */
  key?: string;
  /** How many later waiters were handed a connection before this one. */
  overtaken?: number;
}
interface IdleItem {
  client: PoolClient;
  idleListener: (...args: unknown[]) => void;
  timeoutId?: NodeJS.Timeout;
}
interface Internals {
  _idle: IdleItem[];
  _pendingQueue: PendingItem[];
  ending: boolean;
  ended: boolean;
  _pulseQueue(): void;
  newClient(pending: PendingItem): void;
  _acquireClient(client: PoolClient, pending: PendingItem, idleListener: IdleItem['idleListener'], isNew: boolean): void;
}

const base = Pool.prototype as unknown as Internals;

/** How far down the queue a freed connection looks for a waiter it suits. */
const WINDOW = 32;
/** Keys remembered per connection; past it, a connection's newest keys count as cold (a bound, never reached in use). */
const MAX_WARM_KEYS = 100_000;
/** A waiter is passed over at most this many times, then served first whatever connection frees. */
export const MAX_OVERTAKEN = 8;

/**
 * A pg.Pool that hands each key (a tenant) a connection whose backend has served it before whenever it can. Why: a
 * PostgreSQL backend caches the catalog of every schema it touches, for its lifetime (~53 KB and ~0.7 ms of backend
 * CPU per schema, measured over 1,000 tenant schemas), so with every tenant on every connection both grow as
 * tenants × connections.
 * - Each key has a home connection (a slot named by its hash), so a tenant's first statements land on one backend.
 * - A waiter takes an idle connection in this order: its home, one warm for it (that served it before), any.
 * - A connection that frees while others wait goes to the first waiter it is home or warm for, among the next WINDOW
 *   (none passed over more than MAX_OVERTAKEN times), else to the head, as pg-pool would.
 * It never waits for a particular connection: when none suits, any serves.
 */
export class AffinityPool extends Pool {
  /** Connections by slot (0 … max-1); a key's home is the slot its hash names. */
  private readonly slots = new Map<PoolClient, number>();
  /** Keys each connection has served: their schemas are in its backend's catalog cache. */
  private readonly warm = new WeakMap<PoolClient, Set<string>>();
  /** Acquisitions by connectFor: the key's home connection, another that served it before, or one new to it. */
  readonly stats = { home: 0, warm: 0, cold: 0 };
  private connecting?: string;

  constructor(config: PoolConfig) {
    super(config);
    const internals = this as unknown as Internals;
    const methods = [base._pulseQueue, base.newClient, base._acquireClient];
    if (!Array.isArray(internals._idle) || !Array.isArray(internals._pendingQueue) || methods.some((m) => typeof m !== 'function')) {
      throw new Error('pg-pool internals changed: AffinityPool needs _idle, _pendingQueue, _pulseQueue, newClient and _acquireClient');
    }
    this.on('remove', (client: PoolClient) => this.slots.delete(client));
  }

  /** A connection for `key`, its home connection when that one is free. */
  connectFor(key: string): Promise<PoolClient> {
    const queue = (this as unknown as Internals)._pendingQueue;
    const queued = queue.length;
    this.connecting = key;
    try {
      const connection = super.connect();
      // connect() queued a waiter (a pulse hands it a connection on the next tick), or opened a connection for it.
      if (queue.length > queued) queue[queue.length - 1].key = key;
      return connection;
    } finally {
      this.connecting = undefined;
    }
  }

  /** The slot a key's home connection holds. */
  homeOf(key: string): number {
    // FNV-1a: tenant ids are short, and the spread only has to be even.
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return (hash >>> 0) % (this.options.max ?? 10);
  }

  /** The slot `client` holds, if it is one of this pool's connections. */
  slotOf(client: PoolClient): number | undefined {
    return this.slots.get(client);
  }

  // pg-pool calls this whenever a connection frees or a waiter arrives; it serves one waiter per call.
  protected _pulseQueue(): void {
    const internals = this as unknown as Internals;
    const pick = internals.ending || internals.ended ? undefined : this.pick(internals._pendingQueue, internals._idle);
    if (!pick) return base._pulseQueue.call(this);
    const [waiter, connection] = pick;
    const [pending] = internals._pendingQueue.splice(waiter, 1);
    const [idle] = internals._idle.splice(connection, 1);
    for (let i = 0; i < waiter; i++) internals._pendingQueue[i].overtaken = (internals._pendingQueue[i].overtaken ?? 0) + 1;
    clearTimeout(idle.timeoutId);
    (idle.client as PoolClient & { ref?: () => void }).ref?.();
    internals._acquireClient.call(this, idle.client, pending, idle.idleListener, false);
  }

  protected newClient(pending: PendingItem): void {
    pending.key ??= this.connecting;
    base.newClient.call(this, pending);
  }

  protected _acquireClient(client: PoolClient, pending: PendingItem, idleListener: IdleItem['idleListener'], isNew: boolean): void {
    if (isNew) this.slots.set(client, this.freeSlot(pending.key));
    if (pending.key !== undefined) {
      const warm = this.warmKeys(client);
      if (this.slots.get(client) === this.homeOf(pending.key)) this.stats.home++;
      else if (warm.has(pending.key)) this.stats.warm++;
      else this.stats.cold++;
      if (warm.size < MAX_WARM_KEYS) warm.add(pending.key);
    }
    base._acquireClient.call(this, client, pending, idleListener, isNew);
  }

  /** [waiter, idle connection] to pair other than pg's own (head waiter, most recently idle), or undefined. */
  private pick(queue: PendingItem[], idle: IdleItem[]): [number, number] | undefined {
    if (queue.length === 0 || idle.length === 0) return undefined;
    const head = queue[0];
    const last = idle.length - 1;
    if (head.key !== undefined) {
      const key = head.key;
      const home = this.homeOf(key);
      let at = idle.findIndex((item) => this.slots.get(item.client) === home);
      if (at < 0) at = idle.findLastIndex((item) => this.warmKeys(item.client).has(key));
      if (at >= 0) return at === last ? undefined : [0, at];
    }
    if (queue.length === 1) return undefined;
    const client = idle[last].client;
    const slot = this.slots.get(client);
    const warm = this.warmKeys(client);
    // A busy tenant queues many waiters in a row: one look per run of the same key.
    let unsuited: string | undefined;
    for (let i = 0; i < Math.min(queue.length, WINDOW); i++) {
      const waiter = queue[i];
      if (waiter.key !== undefined && waiter.key !== unsuited) {
        if (this.homeOf(waiter.key) === slot || warm.has(waiter.key)) return i === 0 ? undefined : [i, last];
        unsuited = waiter.key;
      }
      // Nobody overtakes a waiter passed over enough already.
      if ((waiter.overtaken ?? 0) >= MAX_OVERTAKEN) return undefined;
    }
    return undefined;
  }

  private warmKeys(client: PoolClient): Set<string> {
    let keys = this.warm.get(client);
    if (!keys) this.warm.set(client, (keys = new Set()));
    return keys;
  }

  // A new connection takes the home slot of the key it opens for when free, so homes fill as the pool grows.
  private freeSlot(key: string | undefined): number {
    const taken = new Set(this.slots.values());
    if (key !== undefined && !taken.has(this.homeOf(key))) return this.homeOf(key);
    let slot = 0;
    while (taken.has(slot)) slot++;
    return slot;
  }
}
