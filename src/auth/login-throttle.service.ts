import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

interface Rule {
  /** Failures allowed before attempts are refused for a while. */
  threshold: number;
  /** The first refusal window; each further failure doubles it, up to `maxMs`. */
  baseMs: number;
  maxMs: number;
}

// An account from one address: after 5 failures, 1 min, then 2, 4, 8, capped at 15 min.
export const PAIR_RULE: Rule = { threshold: 5, baseMs: 60_000, maxMs: 15 * 60_000 };
// One address across all accounts and tenants (credential stuffing): after 20 failures, the same backoff.
export const ADDRESS_RULE: Rule = { threshold: 20, baseMs: 60_000, maxMs: 15 * 60_000 };

interface Failures {
  count: number;
  blockedUntil: number;
}

/**
 * Failed-login backoff, in process. Keys are (tenant, account, address) pairs and addresses, never an account
 * alone: an attacker can slow down only their own addresses, so a user logging in from elsewhere is never locked
 * out. Refused attempts check no password and extend nothing; a success clears its pair.
 */
@Injectable()
export class LoginThrottle {
  // Bounded, and an entry is forgotten once its longest possible window has passed since its last failure.
  private readonly failures = new LRUCache<string, Failures>({ max: 100_000, ttl: 2 * PAIR_RULE.maxMs, updateAgeOnGet: false });

  /** Whether an attempt for `account` in `tenant` from `address` may check a password now. */
  allows(tenant: string, account: string, address: string, now = Date.now()): boolean {
    return [pairKey(tenant, account, address), addressKey(address)].every((key) => (this.failures.get(key)?.blockedUntil ?? 0) <= now);
  }

  failed(tenant: string, account: string, address: string, now = Date.now()): void {
    this.bump(pairKey(tenant, account, address), PAIR_RULE, now);
    this.bump(addressKey(address), ADDRESS_RULE, now);
  }

  succeeded(tenant: string, account: string, address: string): void {
    this.failures.delete(pairKey(tenant, account, address));
  }

  private bump(key: string, rule: Rule, now: number): void {
    const count = (this.failures.get(key)?.count ?? 0) + 1;
    const blockedUntil = count < rule.threshold ? 0 : now + Math.min(rule.baseMs * 2 ** (count - rule.threshold), rule.maxMs);
    this.failures.set(key, { count, blockedUntil });
  }
}

// JSON arrays: no separator a tenant id, an email or an address could forge.
const pairKey = (tenant: string, account: string, address: string) => JSON.stringify(['pair', tenant, account, address]);
const addressKey = (address: string) => JSON.stringify(['address', address]);
