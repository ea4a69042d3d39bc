import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { planLimits } from '../control-plane/plans';
import type { TenantRecord } from '../control-plane/tenant-record';
import { REDIS } from '../database/database-tokens';
import { TAKE_TOKENS_LUA, takeTokens, type BucketState, type TakeResult } from './token-bucket';

const REDIS_PREFIX = 'tenantry:ratelimit:v1:';
const COMMAND = 'tenantryTakeTokens';

type RedisWithBucket = Redis & { [COMMAND](key: string, capacity: number, perMs: number, cost: number): Promise<[number, number]> };

/**
 * Per-tenant token buckets of GraphQL operations: capacity = the plan's operations per minute (times
 * RATE_LIMIT_SCALE), refilled evenly over a minute. Shared through Redis when configured; in-process otherwise,
 * and whenever Redis fails, so a cache outage never fails a request.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly local = new LRUCache<string, BucketState>({ max: 100_000 });
  private readonly rejectedListeners: ((tenantId: string) => void)[] = [];
  private redisFailing = false;
  readonly stats = { redis: 0, local: 0 };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {
    if (redis && !(COMMAND in redis)) redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: TAKE_TOKENS_LUA });
  }

  /** Operations per minute this tenant may run. */
  capacityOf(tenant: TenantRecord): number {
    return Math.max(1, Math.round(planLimits(tenant.plan).operationsPerMinute * this.config.rateLimitScale));
  }

  /** Spends `cost` operations of the tenant's bucket, or refuses the request whole. */
  async take(tenant: TenantRecord, cost: number): Promise<TakeResult> {
    const capacity = this.capacityOf(tenant);
    const perMs = capacity / 60_000;
    const result = (await this.takeInRedis(tenant.id, capacity, perMs, cost)) ?? this.takeLocally(tenant.id, capacity, perMs, cost);
    if (!result.allowed) for (const listener of this.rejectedListeners) listener(tenant.id);
    return result;
  }

  onRejected(listener: (tenantId: string) => void): void {
    this.rejectedListeners.push(listener);
  }

  private async takeInRedis(tenantId: string, capacity: number, perMs: number, cost: number): Promise<TakeResult | undefined> {
    if (!this.redis || this.redis.status !== 'ready') return undefined;
    try {
      const [allowed, wait] = await (this.redis as RedisWithBucket)[COMMAND](REDIS_PREFIX + tenantId, capacity, perMs, cost);
      this.stats.redis++;
      if (this.redisFailing) this.logger.log('Rate limiting is shared through Redis again');
      this.redisFailing = false;
      return { allowed: allowed === 1, retryAfterMs: Number(wait) };
    } catch (error) {
      if (!this.redisFailing) this.logger.warn(`Rate limiting falls back to in-process buckets: ${(error as Error).message}`);
      this.redisFailing = true;
      return undefined;
    }
  }

  private takeLocally(tenantId: string, capacity: number, perMs: number, cost: number): TakeResult {
    this.stats.local++;
    const [state, result] = takeTokens(this.local.get(tenantId), capacity, perMs, cost, Date.now());
    this.local.set(tenantId, state);
    return result;
  }
}
