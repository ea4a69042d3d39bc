import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { Redis } from 'ioredis';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DatabasePools, newPool, newRequestPool } from './database-pools';
import { controlPlaneDatabaseUrl, runtimeDatabaseUrl } from './database-roles';
import {
  ADMIN_APPLICATION_NAME,
  CONTROL_PLANE_APPLICATION_NAME,
  CONTROL_PLANE_POOL,
  REDIS,
  SHARED_POOL,
  TENANT_POOL,
} from './database-tokens';

@Global()
@Module({
  providers: [
    {
      provide: SHARED_POOL,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (!config.databaseUrl) throw new Error('The database URL must be resolved before the app starts');
        return newPool(config.databaseUrl, ADMIN_APPLICATION_NAME, config);
      },
    },
    {
      provide: TENANT_POOL,
      inject: [APP_CONFIG],
      // Lazy: its role is ensured at bootstrap (TenantRoles) before the first request can use it.
      useFactory: (config: AppConfig) => {
        // A parallel plan puts one statement on several cores: one tenant's scan would starve everyone else's.
        const options = `-c max_parallel_workers_per_gather=${config.pgParallelWorkersPerQuery}`;
        return newRequestPool(runtimeDatabaseUrl(config), config, options);
      },
    },
    {
      provide: CONTROL_PLANE_POOL,
      inject: [APP_CONFIG],
      // Lazy: its role is ensured when the control plane is migrated (ControlPlaneModule), before any registry query.
      useFactory: (config: AppConfig) => {
        return newPool(controlPlaneDatabaseUrl(config), CONTROL_PLANE_APPLICATION_NAME, config);
      },
    },
    DatabasePools,
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
  exports: [SHARED_POOL, TENANT_POOL, CONTROL_PLANE_POOL, REDIS, DatabasePools],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(SHARED_POOL) private readonly pool: Pool,
    @Inject(TENANT_POOL) private readonly tenantPool: Pool,
    @Inject(REDIS) private readonly redis: Redis | null,
    @Inject(CONTROL_PLANE_POOL) private readonly controlPlanePool: Pool,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
    await Promise.all([this.pool.end(), this.tenantPool.end(), this.controlPlanePool.end()]);
  }
}
