import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppConfig, UnknownTenantBudgetConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { addressKey, clientAddress } from './client-address.util';
import { TokenBucket } from './token-bucket';

export type BudgetOutcome = 'answered' | 'held' | 'refused';

interface Held {
  res: ServerResponse;
  write: () => void;
}

interface Address {
  bucket: TokenBucket;
  /** Answers over budget, oldest first, each sent when the bucket has a token for it. */
  held: Held[];
  timer?: NodeJS.Timeout;
}

// Addresses remembered at once; beyond, new ones share one bucket until the sweep forgets refilled ones (a flood from
// that many addresses is a job for the load balancer). 100,000 small entries are a few tens of MB at most.
const MAX_ADDRESSES = 100_000;
const OVERFLOW = '(overflow)';
const SWEEP_MS = 10_000;

/**
 * A budget, per client address, for the answers to requests that name no tenant (R3). A flood of unknown tenants
 * costs the API little per request, but a client that sends its next request as soon as the last is answered
 * turns any cheaper answer into a faster flood. Holding answers over budget (a tarpit) bounds such a client's rate
 * by its own concurrency: each of its connections waits for a token. Past a bound of held answers per address and
 * in all, the request is refused at once (429, `Connection: close`). Only answers that name no tenant go through
 * here; a known tenant's requests, from the same address or not, never do.
 */
@Injectable()
export class UnknownTenantBudget implements OnModuleDestroy {
  readonly stats = { delayed: 0, refused: 0 };
  private readonly budget: UnknownTenantBudgetConfig;
  private readonly trustProxyHops: number;
  private readonly addresses = new Map<string, Address>();
  private heldTotal = 0;
  private closing = false;
  private sweeper?: NodeJS.Timeout;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.budget = config.unknownTenantBudget;
    this.trustProxyHops = config.trustProxyHops;
  }

  /** Answers held now, all addresses together. */
  get held(): number {
    return this.heldTotal;
  }

  /**
   * Sends an unknown-tenant answer (`write`) now if the client's address has budget left, or once it has; or, when
   * too many answers are held already, calls `refuse` with the seconds after which this address has budget again.
   */
  answer(req: IncomingMessage, res: ServerResponse, write: () => void, refuse: (retryAfterSeconds: number) => void): BudgetOutcome {
    if (this.budget.ratePerSecond === 0 || this.closing) {
      write();
      return 'answered';
    }
    const now = Date.now();
    const address = this.addressOf(req, now);
    // Nobody overtakes an answer already held for the same address.
    if (address.held.length === 0 && address.bucket.tryTake(now)) {
      write();
      return 'answered';
    }
    if (address.held.length >= this.budget.maxHeldPerAddress || this.heldTotal >= this.budget.maxHeldTotal) {
      this.stats.refused++;
      refuse(Math.max(1, Math.ceil(address.held.length / this.budget.ratePerSecond)));
      return 'refused';
    }
    address.held.push({ res, write });
    this.heldTotal++;
    this.stats.delayed++;
    this.schedule(address, now);
    return 'held';
  }

  /** Shutdown: sends every held answer at once with `Connection: close`, and holds none from now on. */
  close(): void {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const address of this.addresses.values()) {
      clearTimeout(address.timer);
      for (const { res, write } of address.held.splice(0)) {
        if (gone(res)) continue;
        res.setHeader('connection', 'close');
        write();
      }
    }
    this.heldTotal = 0;
    this.addresses.clear();
  }

  onModuleDestroy(): void {
    this.close();
  }

  private addressOf(req: IncomingMessage, now: number): Address {
    let key = addressKey(clientAddress(req, this.trustProxyHops));
    if (!this.addresses.has(key) && this.addresses.size >= MAX_ADDRESSES) key = OVERFLOW;
    let address = this.addresses.get(key);
    if (!address) {
      address = { bucket: new TokenBucket(this.budget.ratePerSecond, this.budget.burst, now), held: [] };
      this.addresses.set(key, address);
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    }
    return address;
  }

  private schedule(address: Address, now: number): void {
    if (address.timer) return;
    address.timer = setTimeout(() => this.release(address), Math.max(1, address.bucket.msUntilToken(now)));
    address.timer.unref();
  }

  // Sends the held answers the bucket has tokens for, in order; a client that hung up costs no token.
  private release(address: Address): void {
    address.timer = undefined;
    const now = Date.now();
    while (address.held.length > 0) {
      const next = address.held[0];
      if (!gone(next.res)) {
        if (!address.bucket.tryTake(now)) break;
        next.write();
      }
      address.held.shift();
      this.heldTotal--;
    }
    if (address.held.length > 0) this.schedule(address, now);
  }

  // A refilled bucket with nothing held is what a new one would be: forget it.
  private sweep(): void {
    const now = Date.now();
    for (const [key, address] of this.addresses) {
      if (address.held.length === 0 && address.bucket.isFull(now)) this.addresses.delete(key);
    }
    if (this.addresses.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

function gone(res: ServerResponse): boolean {
  return res.destroyed || !res.socket || res.socket.destroyed;
}
