import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** The one pg pool of this process: every tenant's PrismaClient and the control plane share it. */
export const SHARED_POOL = Symbol('SHARED_POOL');
/** ioredis client when REDIS_URL is set, otherwise null (caches stay in-process). */
export const REDIS = Symbol('REDIS');

export const APPLICATION_NAME = 'tenantry';

@Global()
@Module({
  providers: [
    {
      provide: SHARED_POOL,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (!config.databaseUrl) throw new Error('The database URL must be resolved before the app starts');
        const pool = new Pool({
          connectionString: config.databaseUrl,
          max: config.pgPoolMax,
          application_name: APPLICATION_NAME,
          connectionTimeoutMillis: 10_000,
        });
        // An idle client dying (database restart) must not crash the process; the pool replaces it.
        pool.on('error', () => undefined);
        // Each cached tenant client's adapter listens on the pool; evicted ones until they drain.
        pool.setMaxListeners(config.tenantClientCacheSize * 2 + 10);
        return pool;
      },
    },
    {
      provide: REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (!config.redisUrl) return null;
        // Fail fast rather than queue: a cache that is away counts as a miss.
        const redis = new Redis(config.redisUrl, {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: 250,
          lazyConnect: false,
        });
        redis.on('error', () => undefined);
        return redis;
      },
    },
  ],
  exports: [SHARED_POOL, REDIS],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(SHARED_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
    await this.pool.end();
  }
}
