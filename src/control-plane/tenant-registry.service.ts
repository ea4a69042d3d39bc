import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Client } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { directDatabaseUrl } from '../database/database-roles';
import { REDIS } from '../database/database.module';
import type { TenantRecord } from './tenant-record';
import { TenantRegistryRepository } from './tenant-registry.repository';

export const TENANT_CHANGED_CHANNEL = 'tenantry_tenant_changed';
/** Payload prefix of a custom-domain change; tenant ids cannot contain ':'. */
export const DOMAIN_CHANGED_PREFIX = 'domain:';
const REDIS_PREFIX = 'tenantry:tenant:v1:';

// null is cached too: unknown ids are answered without a database round trip.
interface Cached {
  tenant: TenantRecord | null;
}

// A domain maps to a tenant id, not a record: status changes then reach domain lookups through the id cache.
interface CachedDomain {
  tenantId: string | null;
}

/**
 * Tenant lookups for the request path: in-process LRU, then Redis when configured, then the registry.
 * A change reaches every instance within TENANT_CACHE_TTL_MS, and sooner through LISTEN/NOTIFY.
 */
@Injectable()
export class TenantRegistry implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(TenantRegistry.name);
  private readonly local: LRUCache<string, Cached>;
  private readonly domains: LRUCache<string, CachedDomain>;
  private listener?: Client;
  private reconnect?: NodeJS.Timeout;
  private closing = false;
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly repository: TenantRegistryRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {
    this.local = new LRUCache<string, Cached>({
      max: 10_000,
      ttl: Math.max(config.tenantCacheTtlMs, 1),
      // An invalidation during a lookup would otherwise reject that lookup (and fail its request with a 500);
      // the lookup finishes for its caller instead, and its result is not cached.
      ignoreFetchAbort: true,
      fetchMethod: (id) => {
        this.stats.misses++;
        return this.load(id);
      },
    });
    this.domains = new LRUCache<string, CachedDomain>({
      max: 10_000,
      ttl: Math.max(config.tenantCacheTtlMs, 1),
      ignoreFetchAbort: true,
      fetchMethod: async (domain) => {
        this.stats.misses++;
        return { tenantId: (await this.repository.getByDomain(domain))?.id ?? null };
      },
    });
  }

  async onModuleInit(): Promise<void> {
    await this.listen();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnect);
    await this.listener?.end().catch(() => undefined);
  }

  /** The tenant with this (already validated) id, or null. */
  async resolve(id: string): Promise<TenantRecord | null> {
    if (this.config.tenantCacheTtlMs === 0) return this.repository.getById(id);
    if (this.local.has(id)) this.stats.hits++;
    const cached = await this.local.fetch(id);
    return cached?.tenant ?? null;
  }

  /** The tenant whose custom domain is `domain` (normalised), or null. */
  async resolveDomain(domain: string): Promise<TenantRecord | null> {
    if (this.config.tenantCacheTtlMs === 0) return this.repository.getByDomain(domain);
    if (this.domains.has(domain)) this.stats.hits++;
    const cached = await this.domains.fetch(domain);
    return cached?.tenantId ? this.resolve(cached.tenantId) : null;
  }

  invalidateDomain(domain: string): void {
    this.domains.delete(domain);
  }

  async invalidate(id: string): Promise<void> {
    this.local.delete(id);
    await this.redis?.del(REDIS_PREFIX + id).catch(() => undefined);
  }

  private async load(id: string): Promise<Cached> {
    const shared = await this.redis?.get(REDIS_PREFIX + id).catch(() => null);
    if (shared) return reviveTenant(shared);
    const tenant = await this.repository.getById(id);
    await this.redis?.set(REDIS_PREFIX + id, JSON.stringify({ tenant }), 'PX', this.config.tenantCacheTtlMs).catch(() => undefined);
    return { tenant };
  }

  // A dedicated connection (not from the pool): LISTEN is session state.
  private async listen(): Promise<void> {
    const client = new Client({ connectionString: directDatabaseUrl(this.config), application_name: 'tenantry-listener' });
    client.on('notification', (message) => {
      const payload = message.payload;
      if (payload?.startsWith(DOMAIN_CHANGED_PREFIX)) this.invalidateDomain(payload.slice(DOMAIN_CHANGED_PREFIX.length));
      else if (payload) void this.invalidate(payload);
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      // Notifications missed while away are bounded by the cache TTL.
      this.local.clear();
      this.domains.clear();
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${TENANT_CHANGED_CHANNEL}`);
      this.listener = client;
    } catch (error) {
      this.logger.warn(`Tenant change notifications unavailable: ${(error as Error).message}`);
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.closing || this.reconnect) return;
    this.reconnect = setTimeout(() => {
      this.reconnect = undefined;
      void this.listen();
    }, 1000);
    this.reconnect.unref();
  }
}

function reviveTenant(json: string): Cached {
  const { tenant } = JSON.parse(json) as { tenant: (TenantRecord & Record<string, string | null>) | null };
  if (!tenant) return { tenant: null };
  return {
    tenant: {
      ...tenant,
      // Cached by an instance older than placement.
      database: tenant.database ?? PRIMARY_DATABASE,
      deletedAt: tenant.deletedAt ? new Date(tenant.deletedAt) : null,
      createdAt: new Date(tenant.createdAt),
      updatedAt: new Date(tenant.updatedAt),
    },
  };
}
