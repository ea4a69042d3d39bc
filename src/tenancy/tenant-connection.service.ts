import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { DatabaseError } from 'pg';
import { LRUCache } from 'lru-cache';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DatabasePools } from '../database/database-pools';
import { planLimits } from '../control-plane/plans';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { AppError, ErrorCode } from '../graphql/app-error';
import { isDatabaseUnavailable } from '../graphql/database-unavailable';
import { TenantContext } from './tenant-context';
import { TenantBusyError, TenantConnectionLimiter } from './tenant-connection-limiter';
import { tenantIdOfSchema } from './tenant-id.util';
import { TenantRoles } from './tenant-roles.service';
import { TenantScopedPool } from './tenant-scoped-pool';
import { planSharingPrismaClient } from './shared-query-plans';
import { RecentFrequency } from './recent-frequency';

const QUERY_CANCELED = '57014';
const INSUFFICIENT_PRIVILEGE = '42501';
const UNDEFINED_TABLE = '42P01';
// A full cache drops the least frequently asked-for client among its least recently used half: a client just built
// (a request still using it) sits in the recent half, and a busy tenant's client outlives a run of tail tenants.
const EVICTION_CANDIDATES = 0.5;
// At most this many candidates are compared, so a miss stays cheap however large TENANT_CLIENT_CACHE_SIZE is.
const MAX_EVICTION_CANDIDATES = 64;
// Frequencies are halved after this many lookups per cached client.
const FREQUENCY_SAMPLE = 10;

function tenantMoving(): AppError {
  return new AppError(ErrorCode.TENANT_MOVING, 'This tenant is moving to another database; retry shortly', { retryable: true, retryAfterSeconds: 1 });
}

/**
 * Answers a statement whose tenant table is gone: what the registry says now, read past every cache, names the
 * cause. The tenant is moving, or has moved off this database (a request that resolved the old placement before the
 * fence and reached SQL after the source copy was dropped): TENANT_MOVING, and its retry finds the new placement.
 * Otherwise the tenant was deleted: TENANT_NOT_FOUND.
 */
type SchemaGone = () => Promise<AppError>;

/** A tenant client's adapter, carrying what its statements need: the in-flight count and what a gone schema means. */
class TenantAdapter extends PrismaPg {
  constructor(pool: TenantScopedPool, readonly statements: { schema: string; tracker: InFlight; schemaGone: SchemaGone }) {
    // PrismaPg qualifies every statement with `schema`; the scoped pool runs it as the tenant's role.
    super(pool, { schema: statements.schema, disposeExternalPool: false });
  }
}

interface PrismaInternals {
  _request(params: unknown): Promise<unknown>;
  _engineConfig: { adapter?: unknown };
}

let trackedClientClass: typeof PrismaClient | undefined;

/**
 * The tenant client class: Prisma sends every operation of a client (model queries, raw queries, a transaction's
 * statements) through its internal `_request`, which this subclass wraps in `tracked`. A `$extends` query hook did
 * the same, but cost ~30 µs per client built and an argument copy and result walk per query. The internals it uses
 * are checked when the class is built (at boot, by TenantConnectionService), so a Prisma upgrade that changes them
 * fails there.
 */
function tenantClientClass(): typeof PrismaClient {
  if (trackedClientClass) return trackedClientClass;
  // ~0.03 ms a client: every client of the class shares one decoded schema graph (scripts/prisma-generate.js) and one compiler.
  const Base = planSharingPrismaClient();
  const base = Base.prototype as unknown as Partial<PrismaInternals>;
  if (typeof base._request !== 'function') throw new Error("Prisma's client has no _request: update tenantClientClass for this Prisma version");
  const Tracked = class extends (Base as unknown as new (...args: unknown[]) => PrismaInternals) {
    override _request(params: unknown): Promise<unknown> {
      const adapter = this._engineConfig.adapter;
      if (!(adapter instanceof TenantAdapter)) throw new Error('A tenant client must be built with a TenantAdapter');
      const { tracker, schema, schemaGone } = adapter.statements;
      return tracked(tracker, () => super._request(params), schema, schemaGone);
    }
  };
  return (trackedClientClass = Tracked as unknown as typeof PrismaClient);
}

function createTenantClient(pool: TenantScopedPool, schema: string, tracker: InFlight, schemaGone: SchemaGone): PrismaClient {
  const TenantClient = tenantClientClass();
  return new TenantClient({ adapter: new TenantAdapter(pool, { schema, tracker, schemaGone }) });
}

/** Runs a statement of a tenant's client: counted in flight (eviction waits for it), its failures given their codes. */
async function tracked<T>(tracker: InFlight, run: () => Promise<T>, schema: string, schemaGone: SchemaGone): Promise<T> {
  tracker.count++;
  try {
    return await run();
  } catch (error) {
    throw await translated(error, schema, schemaGone);
  } finally {
    if (--tracker.count === 0) tracker.onIdle?.();
  }
}

async function translated(error: unknown, schema: string, schemaGone: SchemaGone): Promise<unknown> {
  const code = postgresCodeOf(error);
  // The schema was dropped (hard delete, or the source copy after a move) while this request held the tenant.
  if ((error as { code?: string }).code === 'P2021' || code === UNDEFINED_TABLE) return schemaGone();
  // Its own schema refuses the tenant's role only while a move fences it (tenant-move.service.ts).
  if (code === INSUFFICIENT_PRIVILEGE && String((error as Error).message).includes(`permission denied for schema ${schema}`)) {
    return tenantMoving();
  }
  if (code === QUERY_CANCELED) return new AppError(ErrorCode.QUERY_TIMEOUT, "The query ran longer than the tenant's plan allows");
  if (isTenantBusy(error)) {
    return new AppError(ErrorCode.TENANT_BUSY, 'Too many queries of this tenant are waiting for the database; retry later', {
      retryAfterSeconds: 1,
    });
  }
  if (isDatabaseUnavailable(error)) return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The database is unavailable; retry later');
  return error;
}

// Prisma wraps what the pool throws; the limiter's error may arrive as itself, as a cause, or only in a message.
function isTenantBusy(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  if (error instanceof TenantBusyError) return true;
  const { message, cause, meta } = error as { message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
  if (typeof message === 'string' && message.includes('TENANT_BUSY: tenant ')) return true;
  return [cause, meta?.driverAdapterError].some((inner) => isTenantBusy(inner, depth + 1));
}

/** The PostgreSQL SQLSTATE of a pg error, or under a Prisma error raised by the pg adapter, if any. */
function postgresCodeOf(error: unknown): string | undefined {
  if (error instanceof DatabaseError) return error.code;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: string; code?: string } } } })?.meta
    ?.driverAdapterError?.cause;
  return cause?.originalCode ?? cause?.code ?? (error as { cause?: { originalCode?: string } })?.cause?.originalCode;
}

export type TenantPrismaClient = PrismaClient;

interface InFlight {
  count: number;
  onIdle?: () => void;
}

interface CachedClient {
  /** The database whose request pool the client borrows from. */
  database: string;
  client: TenantPrismaClient;
  pool: TenantScopedPool;
  inFlight: InFlight;
  schemaGone: SchemaGone;
}

/**
 * A bounded cache of PrismaClients (full: the least used of its least recently used half goes), one per tenant
 * schema (across every placement database), each over its database's one request pool: connections stay bounded by
 * PG_POOL_MAX per database however many tenants exist, and by TENANT_MAX_CONNECTIONS (TENANT_MAX_HEAVY_CONNECTIONS
 * while its statements are slow) for any one tenant. Every statement runs as the tenant's PostgreSQL role
 * (TenantScopedPool), so a statement naming another schema is refused by PostgreSQL.
 */
@Injectable()
export class TenantConnectionService implements OnApplicationShutdown {
  private readonly clients: LRUCache<string, CachedClient>;
  private readonly draining = new Set<Promise<void>>();
  private readonly frequency: RecentFrequency;
  private readonly evictionCandidates: number;
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  readonly limiter: TenantConnectionLimiter;

  constructor(
    private readonly pools: DatabasePools,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly roles: TenantRoles,
    private readonly registry: TenantRegistryRepository,
  ) {
    // Prisma's internals the tenant client class relies on are checked at boot, not at a tenant's first request.
    tenantClientClass();
    // A request's statement waits for its tenant's slot at most as long as its plan would let it run.
    this.limiter = new TenantConnectionLimiter({
      maxPerTenant: config.tenantMaxConnections,
      maxPerHeavyTenant: config.tenantMaxHeavyConnections,
      maxWaitMs: (tenantId) => {
        const tenant = TenantContext.current()?.tenant;
        return tenant?.id === tenantId ? planLimits(tenant.plan).statementTimeoutMs : undefined;
      },
    });
    this.clients = new LRUCache<string, CachedClient>({
      max: config.tenantClientCacheSize,
      dispose: (entry, _schema, reason) => {
        if (reason === 'evict') this.stats.evictions++;
        this.retire(entry);
      },
    });
    this.frequency = new RecentFrequency(FREQUENCY_SAMPLE * config.tenantClientCacheSize);
    this.evictionCandidates = Math.max(1, Math.min(MAX_EVICTION_CANDIDATES, Math.floor(config.tenantClientCacheSize * EVICTION_CANDIDATES)));
  }

  /** The client of the current request's tenant; throws outside a tenant context. */
  current(): TenantPrismaClient {
    const { tenant } = TenantContext.require();
    return this.forSchema(tenant.schemaName, tenant.database);
  }

  /** For code that holds a placement from the registry (provisioning, operations), not from a request. */
  forSchema(schema: string, database = PRIMARY_DATABASE): TenantPrismaClient {
    return this.entryFor(schema, database).client;
  }

  /**
   * Role and status of a user of the current request's tenant, or null: the JWT guard's check, sent without Prisma
   * in one round trip (see TenantScopedPool.userAuthState).
   */
  userAuthState(userId: string): Promise<{ role: string; status: string } | null> {
    const { tenant } = TenantContext.require();
    const entry = this.entryFor(tenant.schemaName, tenant.database);
    return tracked(entry.inFlight, () => entry.pool.userAuthState(userId), tenant.schemaName, entry.schemaGone);
  }

  private entryFor(schema: string, database: string): CachedClient {
    this.frequency.record(schema);
    const cached = this.clients.get(schema);
    if (cached?.database === database) {
      this.stats.hits++;
      return cached;
    }
    // The tenant moved: its old client drains against the old database.
    if (cached) this.clients.delete(schema);
    this.stats.misses++;
    const inFlight: InFlight = { count: 0 };
    const tenantId = tenantIdOfSchema(schema);
    if (!tenantId) throw new Error(`${schema} is not a tenant schema`);
    const scoped = new TenantScopedPool(this.pools.runtime(database), {
      tenantId,
      schema,
      role: this.roles.roleOf(tenantId),
      // The plan of the request's tenant; none outside a request (operations set their own limits).
      statementTimeoutMs: () => {
        const tenant = TenantContext.current()?.tenant;
        return tenant?.schemaName === schema ? planLimits(tenant.plan).statementTimeoutMs : undefined;
      },
    }, this.limiter);
    const schemaGone = () => this.whySchemaIsGone(tenantId, database);
    const client = createTenantClient(scoped, schema, inFlight, schemaGone);
    const entry: CachedClient = { database, client, pool: scoped, inFlight, schemaGone };
    this.makeRoom(schema);
    this.clients.set(schema, entry);
    return entry;
  }

  get size(): number {
    return this.clients.size;
  }

  // Chosen here rather than by the LRU's own eviction (which would take the least recently used, however busy). A
  // moved tenant's new client replaces its old one in place: no other tenant's client makes room for it.
  private makeRoom(schema: string): void {
    if (this.clients.size < this.clients.max || this.clients.has(schema)) return;
    const victim = this.frequency.leastFrequent(this.clients.rkeys(), this.evictionCandidates);
    if (victim === undefined) return;
    this.stats.evictions++;
    this.clients.delete(victim);
  }

  /** Drops a tenant's client (tenant deleted or moved); in-flight queries finish first. */
  release(schema: string): void {
    this.clients.delete(schema);
  }

  async onApplicationShutdown(): Promise<void> {
    this.clients.clear();
    await Promise.all(this.draining);
  }

  private async whySchemaIsGone(tenantId: string, database: string): Promise<AppError> {
    const now = await this.registry.getById(tenantId).catch(() => undefined);
    if (now === undefined) return new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The tenant registry is unavailable; retry later');
    if (now && (now.status === 'MOVING' || (now.status !== 'DELETED' && now.status !== 'PROVISIONING' && now.database !== database))) return tenantMoving();
    return new AppError(ErrorCode.TENANT_NOT_FOUND, 'Unknown tenant');
  }

  // Eviction must not cut a query short: wait for in-flight operations, then disconnect.
  private retire(entry: CachedClient): void {
    const drained = new Promise<void>((resolve) => {
      if (entry.inFlight.count === 0) resolve();
      else entry.inFlight.onIdle = resolve;
    })
      .then(() => entry.client.$disconnect())
      .catch(() => undefined)
      .finally(() => this.draining.delete(drained));
    this.draining.add(drained);
  }
}
