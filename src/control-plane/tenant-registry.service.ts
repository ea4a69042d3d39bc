import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Client } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { controlPlaneDatabaseUrl, directDatabaseUrl } from '../database/database-roles';
import { REDIS } from '../database/database-tokens';
import { KnownTenants } from './known-tenants';
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
 * Tenant lookups for the request path: the set of known names (an unknown one is answered at once), in-process LRU,
 * then Redis when configured, then the registry. A change reaches every instance within TENANT_CACHE_TTL_MS, and
 * sooner through LISTEN/NOTIFY.
 */
@Injectable()
export class TenantRegistry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(TenantRegistry.name);
  private readonly local: LRUCache<string, Cached>;
  private readonly domains: LRUCache<string, CachedDomain>;
  private listener?: Client;
  private reconnect?: NodeJS.Timeout;
  private refresher?: NodeJS.Timeout;
  private refreshing = false;
  /** Ids looked up since their entry was last re-read: only tenants in use are. */
  private readonly used = new Set<string>();
  private closing = false;
  private readonly known = new KnownTenants();
  /** `unknown`: lookups answered by the set of known names alone. */
  readonly stats = { hits: 0, misses: 0, unknown: 0 };

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

  // After every module's init: the control-plane role it listens as exists once the control plane is migrated.
  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
    if (this.config.tenantCacheTtlMs > 0) {
      // Every quarter TTL, so an entry due at half its TTL is re-read with a quarter of it left at least.
      this.refresher = setInterval(() => void this.refresh(), Math.max(this.config.tenantCacheTtlMs / 4, 10));
      this.refresher.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.refresher);
    clearTimeout(this.reconnect);
    await this.listener?.end().catch(() => undefined);
  }

  /** False only when no tenant has this id (from memory; always true while the known names are not loaded). */
  mayHoldId(id: string): boolean {
    return this.config.tenantCacheTtlMs === 0 || this.known.mayHoldId(id) || this.answeredUnknown();
  }

  /** False only when no tenant has this custom domain. */
  mayHoldDomain(domain: string): boolean {
    return this.config.tenantCacheTtlMs === 0 || this.known.mayHoldDomain(domain) || this.answeredUnknown();
  }

  private answeredUnknown(): false {
    this.stats.unknown++;
    return false;
  }

  /** The tenant with this (already validated) id, or null. */
  async resolve(id: string): Promise<TenantRecord | null> {
    if (this.config.tenantCacheTtlMs === 0) return this.repository.getById(id);
    if (!this.known.mayHoldId(id)) {
      this.stats.unknown++;
      return null;
    }
    if (this.local.has(id)) this.stats.hits++;
    this.used.add(id);
    const cached = await this.local.fetch(id);
    return cached?.tenant ?? null;
  }

  /** The tenant whose custom domain is `domain` (normalised), or null. */
  async resolveDomain(domain: string): Promise<TenantRecord | null> {
    if (this.config.tenantCacheTtlMs === 0) return this.repository.getByDomain(domain);
    if (!this.known.mayHoldDomain(domain)) {
      this.stats.unknown++;
      return null;
    }
    if (this.domains.has(domain)) this.stats.hits++;
    const cached = await this.domains.fetch(domain);
    return cached?.tenantId ? this.resolve(cached.tenantId) : null;
  }

  invalidateDomain(domain: string): void {
    this.known.addDomain(domain);
    this.domains.delete(domain);
  }

  async invalidate(id: string): Promise<void> {
    this.known.addId(id);
    this.local.delete(id);
    await this.redis?.del(REDIS_PREFIX + id).catch(() => undefined);
  }

  /**
   * Re-reads, in one statement, the tenants in use whose entry is past half its TTL, so a busy tenant's lookup never
   * waits for the registry when its entry would expire. An entry still holds nothing read longer than
   * TENANT_CACHE_TTL_MS ago (its TTL counts from before the statement), and one invalidated meanwhile is left alone.
   */
  async refresh(): Promise<void> {
    if (this.refreshing || this.closing) return;
    const ttl = this.config.tenantCacheTtlMs;
    const due = new Map<string, Cached>();
    for (const id of this.used) {
      const entry = this.local.peek(id);
      if (!entry?.tenant) this.used.delete(id);
      else if (this.local.getRemainingTTL(id) <= ttl / 2) {
        due.set(id, entry);
        this.used.delete(id);
      }
    }
    if (due.size === 0) return;
    this.refreshing = true;
    const started = performance.now();
    try {
      const fresh = new Map((await this.repository.listByIds([...due.keys()])).map((tenant) => [tenant.id, tenant]));
      const remaining = ttl - (performance.now() - started);
      if (remaining < 1) return;
      // Redis too: other instances (and this one, after a restart of its own) read what was just read.
      const shared = this.redis?.pipeline();
      for (const [id, entry] of due) {
        if (this.local.peek(id) !== entry) continue;
        const cached = { tenant: fresh.get(id) ?? null };
        this.local.set(id, cached, { ttl: remaining });
        shared?.set(REDIS_PREFIX + id, JSON.stringify(cached), 'PX', Math.floor(remaining));
      }
      await shared?.exec().catch(() => undefined);
    } catch (error) {
      // The entries expire as usual and the next lookup reads the registry itself.
      this.logger.debug(`Tenant cache refresh failed: ${(error as Error).message}`);
    } finally {
      this.refreshing = false;
    }
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
    // LISTEN is session state: the direct URL, as the control-plane role.
    const client = new Client({ connectionString: controlPlaneDatabaseUrl(this.config, directDatabaseUrl(this.config)), application_name: 'tenantry-listener' });
    client.on('notification', (message) => {
      const payload = message.payload;
      if (payload?.startsWith(DOMAIN_CHANGED_PREFIX)) this.invalidateDomain(payload.slice(DOMAIN_CHANGED_PREFIX.length));
      else if (payload) void this.invalidate(payload);
    });
    client.on('error', () => undefined);
    client.on('end', () => {
      // Notifications missed while away are bounded by the cache TTL; the known names wait for the next fill.
      this.known.forget();
      this.local.clear();
      this.domains.clear();
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${TENANT_CHANGED_CHANNEL}`);
      this.listener = client;
      // After LISTEN: a tenant registered from now on is notified, one registered before is read here.
      await this.fillKnown();
    } catch (error) {
      this.logger.warn(`Tenant change notifications unavailable: ${(error as Error).message}`);
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  private async fillKnown(): Promise<void> {
    if (this.config.tenantCacheTtlMs === 0) return;
    this.known.beginFill();
    try {
      const { ids, domains } = await this.repository.listNames();
      this.known.fill(ids, domains);
    } catch (error) {
      this.known.forget();
      this.logger.warn(`Known tenants not loaded (every name goes to the registry): ${(error as Error).message}`);
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
