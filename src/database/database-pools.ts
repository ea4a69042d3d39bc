import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { badUserInput } from '../graphql/app-error';
import { AffinityPool } from './affinity-pool';
import { runtimeUrlFor } from './database-roles';
import { ADMIN_APPLICATION_NAME, APPLICATION_NAME, SHARED_POOL, TENANT_POOL } from './database-tokens';

/**
 * The pools of every placement database: one bounded owner pool (provisioning, migrations, roles) and one bounded
 * runtime pool (requests) per database, never per tenant. The primary's are SHARED_POOL and TENANT_POOL; the others
 * open on first use and end at shutdown.
 */
@Injectable()
export class DatabasePools implements OnApplicationShutdown {
  private readonly owners = new Map<string, Pool>();
  private readonly runtimes = new Map<string, Pool>();

  constructor(
    @Inject(SHARED_POOL) primaryOwner: Pool,
    @Inject(TENANT_POOL) primaryRuntime: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.owners.set(PRIMARY_DATABASE, primaryOwner);
    this.runtimes.set(PRIMARY_DATABASE, primaryRuntime);
  }

  /** The primary first, then the configured databases by name. */
  names(): string[] {
    return [PRIMARY_DATABASE, ...Object.keys(this.config.databases).sort()];
  }

  has(name: string): boolean {
    return name === PRIMARY_DATABASE || Object.hasOwn(this.config.databases, name);
  }

  /** BAD_USER_INPUT naming the configured databases when `name` is none of them. */
  check(name: string, field = 'database'): string {
    if (!this.has(name)) throw badUserInput('Unknown database', { [field]: `must be one of ${this.names().join(', ')}` });
    return name;
  }

  /** The owner URL of a database. */
  urlOf(name: string): string {
    if (name === PRIMARY_DATABASE) {
      if (!this.config.databaseUrl) throw new Error('The database URL must be resolved before the app starts');
      return this.config.databaseUrl;
    }
    const url = this.config.databases[name];
    if (!url) throw new Error(`Database "${name}" is not configured (DATABASES)`);
    return url;
  }

  owner(name: string): Pool {
    return this.open(this.owners, name, () => newPool(this.urlOf(name), ADMIN_APPLICATION_NAME, this.config));
  }

  runtime(name: string): Pool {
    // As the primary's request pool (DatabaseModule): no parallel plans, so one tenant's scan cannot take every core.
    const options = `-c max_parallel_workers_per_gather=${this.config.pgParallelWorkersPerQuery}`;
    return this.open(this.runtimes, name, () => newRequestPool(runtimeUrlFor(this.config, this.urlOf(name)), this.config, options));
  }

  /** The request pools opened so far, by database name (the primary's always). */
  openedRuntimes(): [string, Pool][] {
    return [...this.runtimes];
  }

  async onApplicationShutdown(): Promise<void> {
    // The primary's pools are DatabaseModule's to end.
    const opened = [...this.owners, ...this.runtimes].filter(([name]) => name !== PRIMARY_DATABASE).map(([, pool]) => pool);
    this.owners.clear();
    this.runtimes.clear();
    await Promise.all(opened.map((pool) => pool.end().catch(() => undefined)));
  }

  private open(pools: Map<string, Pool>, name: string, create: () => Pool): Pool {
    const existing = pools.get(name);
    if (existing) return existing;
    const pool = create();
    pools.set(name, pool);
    return pool;
  }
}

/**
 * How long a request pool keeps an idle connection (pg's default is 10 s). Opening one costs the request that needs
 * it a backend start and a SCRAM exchange: 35-58 ms measured beside a tenant whose scan keeps a core busy, which set
 * the slowest of a quiet tenant's requests each time its load overlapped a little more than in the last 10 s.
 */
export const REQUEST_POOL_IDLE_MS = 60_000;

/** How many connections a pool holds at most, and how long one lives (PG_POOL_MAX, PG_POOL_MAX_LIFETIME_SECONDS). */
export type PoolSizing = Pick<AppConfig, 'pgPoolMax' | 'pgPoolMaxLifetimeSeconds'>;

/**
 * A bounded pool whose idle connections dying (a database restart) does not crash the process: the pool replaces them.
 * Each connection is replaced after its lifetime too: a backend keeps the catalog of every schema it has touched until
 * it exits (~54 KB per tenant schema, `npm run bench -- catalog`), which would otherwise only grow.
 */
export function newPool(connectionString: string, applicationName: string, sizing: PoolSizing, options?: string, idleMs = 10_000): Pool {
  return quiet(new Pool(poolConfig(connectionString, applicationName, sizing, options, idleMs)));
}

/** A database's request pool: as newPool, and each tenant's statements go to a connection that served it before. */
export function newRequestPool(connectionString: string, sizing: PoolSizing, options: string): AffinityPool {
  return quiet(new AffinityPool(poolConfig(connectionString, APPLICATION_NAME, sizing, options, REQUEST_POOL_IDLE_MS)));
}

function poolConfig(connectionString: string, applicationName: string, sizing: PoolSizing, options: string | undefined, idleMs: number) {
  return {
    connectionString,
    max: sizing.pgPoolMax,
    maxLifetimeSeconds: sizing.pgPoolMaxLifetimeSeconds,
    application_name: applicationName,
    options,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: idleMs,
  };
}

function quiet<T extends Pool>(pool: T): T {
  pool.on('error', () => undefined);
  return pool;
}
