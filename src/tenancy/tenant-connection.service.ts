import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { LRUCache } from 'lru-cache';
import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { SHARED_POOL } from '../database/database.module';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { AppError, ErrorCode } from '../graphql/app-error';
import { isDatabaseUnavailable } from '../graphql/database-unavailable';
import { TenantContext } from './tenant-context';

function createTenantClient(pool: Pool, schema: string, tracker: InFlight) {
  // PrismaPg qualifies every statement with `schema`, so one shared pool serves every tenant.
  const adapter = new PrismaPg(pool, { schema, disposeExternalPool: false });
  return new PrismaClient({ adapter }).$extends({
    query: {
      async $allOperations({ args, query }) {
        tracker.count++;
        try {
          return await query(args);
        } catch (error) {
          // The schema was dropped (hard delete) while this instance still held the tenant: unknown tenant, not a 500.
          if ((error as { code?: string }).code === 'P2021') throw new AppError(ErrorCode.TENANT_NOT_FOUND, 'Unknown tenant');
          if (isDatabaseUnavailable(error)) throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The database is unavailable; retry later');
          throw error;
        } finally {
          if (--tracker.count === 0) tracker.onIdle?.();
        }
      },
    },
  });
}

export type TenantPrismaClient = ReturnType<typeof createTenantClient>;

interface InFlight {
  count: number;
  onIdle?: () => void;
}

interface CachedClient {
  client: TenantPrismaClient;
  base: PrismaClient;
  inFlight: InFlight;
}

/**
 * An LRU of PrismaClients, one per tenant schema, all over the one shared pg pool:
 * connections stay bounded by PG_POOL_MAX however many tenants exist.
 */
@Injectable()
export class TenantConnectionService implements OnApplicationShutdown {
  private readonly clients: LRUCache<string, CachedClient>;
  private readonly draining = new Set<Promise<void>>();
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(
    @Inject(SHARED_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.clients = new LRUCache<string, CachedClient>({
      max: config.tenantClientCacheSize,
      dispose: (entry, _schema, reason) => {
        if (reason === 'evict') this.stats.evictions++;
        this.retire(entry);
      },
    });
  }

  /** The client of the current request's tenant; throws outside a tenant context. */
  current(): TenantPrismaClient {
    return this.forSchema(TenantContext.require().tenant.schemaName);
  }

  /** For code that holds a schema name from the registry (provisioning, operations), not from a request. */
  forSchema(schema: string): TenantPrismaClient {
    const cached = this.clients.get(schema);
    if (cached) {
      this.stats.hits++;
      return cached.client;
    }
    this.stats.misses++;
    const inFlight: InFlight = { count: 0 };
    const client = createTenantClient(this.pool, schema, inFlight);
    // `$extends` returns a view; the base client is what `$disconnect` must reach.
    this.clients.set(schema, { client, base: client as unknown as PrismaClient, inFlight });
    return client;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Drops a tenant's client (tenant deleted or moved); in-flight queries finish first. */
  release(schema: string): void {
    this.clients.delete(schema);
  }

  async onApplicationShutdown(): Promise<void> {
    this.clients.clear();
    await Promise.all(this.draining);
  }

  // Eviction must not cut a query short: wait for in-flight operations, then disconnect.
  private retire(entry: CachedClient): void {
    const drained = new Promise<void>((resolve) => {
      if (entry.inFlight.count === 0) resolve();
      else entry.inFlight.onIdle = resolve;
    })
      .then(() => entry.base.$disconnect())
      .catch(() => undefined)
      .finally(() => this.draining.delete(drained));
    this.draining.add(drained);
  }
}
