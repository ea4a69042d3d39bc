import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROLE_PREFIX, ROLE_PREFIX_MAX_LENGTH } from '../database/database-roles';

export type NodeEnv = 'development' | 'test' | 'production';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** Everything Tenantry reads from the environment, parsed and validated once at boot. */
export interface AppConfig {
  port: number;
  nodeEnv: NodeEnv;
  /** The primary database (control plane and default placement); unset means: the embedded PostgreSQL under `.data/`. */
  databaseUrl?: string;
  /** More databases tenants may be placed on, by name (DATABASES); the primary is named PRIMARY_DATABASE. */
  databases: Record<string, string>;
  /**
   * The primary without a pooler in between, for session state (advisory locks, LISTEN, migrations of the control
   * plane); unset means DATABASE_URL plays that role.
   */
  databaseDirectUrl?: string;
  /** Unset means: caches stay in-process. */
  redisUrl?: string;
  /** The request pool's URL (a non-superuser role); unset means: derived from DATABASE_URL (see database-roles.ts). */
  databaseRuntimeUrl?: string;
  /** Prefix of this installation's PostgreSQL roles; unset means: derived from the database name. */
  tenantRolePrefix?: string;
  /** Connections of the request pool one tenant may hold at once. */
  tenantMaxConnections: number;
  /** The same for a tenant whose statements hold connections for long (slow queries): what a noisy tenant gets. */
  tenantMaxHeavyConnections: number;
  /** max_parallel_workers_per_gather of request statements: 0 keeps one tenant's statement on one core. */
  pgParallelWorkersPerQuery: number;
  baseDomain: string;
  jwt: {
    secret: string;
    secretGenerated: boolean;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    /** The secret being rotated out: its tokens still verify until `until`, none are signed with it. */
    previous?: { secret: string; until: Date };
  };
  pgPoolMax: number;
  /** Each pooled connection is replaced after this long (0: never), so no backend's catalog cache outgrows it. */
  pgPoolMaxLifetimeSeconds: number;
  /** Proxies in front of the API whose X-Forwarded-For is believed (Express `trust proxy`); 0 = the socket's peer. */
  trustProxyHops: number;
  tenantClientCacheSize: number;
  tenantCacheTtlMs: number;
  logLevel: LogLevel;
  /** Bearer token of `/metrics`; unset means `/metrics` answers 404. */
  platformAdminToken?: string;
  seedDemo: boolean;
  /**
   * Per client address, the answers to requests that name no tenant (R3): `burst` at once, then `ratePerSecond`; an
   * answer over budget is held until the address's bucket refills, and past `maxHeldPerAddress` held answers (or
   * `maxHeldTotal` for all addresses) refused. `ratePerSecond` 0: no budget, every answer at once.
   */
  unknownTenantBudget: UnknownTenantBudgetConfig;
  /** Multiplies every plan's operations per minute (tests shrink the buckets); 1 means the plan table as is. */
  rateLimitScale: number;
  paths: { root: string; dataDir: string; tenantMigrations: string; controlMigrations: string; schemaFile: string };
}

export interface UnknownTenantBudgetConfig {
  ratePerSecond: number;
  burst: number;
  maxHeldPerAddress: number;
  maxHeldTotal: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Parses `env` (normally `process.env`) and throws one ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const str = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (!allowed.includes(raw as T)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  };
  const url = (name: string, protocols: string[]) => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) throw new Error();
    } catch {
      problems.push(`${name} must be a ${protocols.join(' or ')}// URL`);
    }
    return raw;
  };
  const bool = (name: string, fallback: boolean) => {
    const raw = str(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const nodeEnv = oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const baseDomain = (str('BASE_DOMAIN') ?? 'localhost').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(baseDomain)) {
    problems.push(`BASE_DOMAIN must be a host name such as api.example.com (got "${baseDomain}")`);
  }

  let secret = str('JWT_SECRET');
  let secretGenerated = false;
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    problems.push('JWT_SECRET must be at least 32 bytes');
  } else if (secret === undefined) {
    if (nodeEnv === 'production') problems.push('JWT_SECRET is required in production (at least 32 bytes)');
    secret = randomBytes(32).toString('base64url');
    secretGenerated = true;
  }

  const duration = (name: string, fallback: string) => {
    const raw = str(name) ?? fallback;
    const match = /^(\d+)([smhd]?)$/.exec(raw);
    const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 } as const;
    const seconds = match ? Number(match[1]) * unit[match[2] as keyof typeof unit] : 0;
    if (!match || seconds < 1) problems.push(`${name} must be a duration such as 900, 15m or 1h (got "${raw}")`);
    return seconds;
  };
  const accessTtlSeconds = duration('JWT_ACCESS_TTL', '15m');
  const refreshTtlSeconds = duration('JWT_REFRESH_TTL', '30d');

  const previousSecret = str('JWT_PREVIOUS_SECRET');
  const previousUntilRaw = str('JWT_PREVIOUS_SECRET_UNTIL');
  let previous: AppConfig['jwt']['previous'];
  if (previousSecret !== undefined || previousUntilRaw !== undefined) {
    const until = new Date(previousUntilRaw ?? '');
    if (previousSecret === undefined || Buffer.byteLength(previousSecret) < 32) {
      problems.push('JWT_PREVIOUS_SECRET must be at least 32 bytes when JWT_PREVIOUS_SECRET_UNTIL is set');
    } else if (previousSecret === secret) {
      problems.push('JWT_PREVIOUS_SECRET must differ from JWT_SECRET');
    }
    if (previousUntilRaw === undefined || !/^\d{4}-\d{2}-\d{2}T/.test(previousUntilRaw) || Number.isNaN(until.getTime())) {
      problems.push(`JWT_PREVIOUS_SECRET_UNTIL must be an ISO 8601 time such as 2026-12-01T00:00:00Z (got "${previousUntilRaw ?? ''}")`);
    }
    if (previousSecret !== undefined) previous = { secret: previousSecret, until };
  }

  const rateLimitScaleRaw = str('RATE_LIMIT_SCALE') ?? '1';
  const rateLimitScale = Number(rateLimitScaleRaw);
  if (!/^\d+(\.\d+)?$/.test(rateLimitScaleRaw) || rateLimitScale <= 0 || rateLimitScale > 1000) {
    problems.push(`RATE_LIMIT_SCALE must be a number above 0 and at most 1000 (got "${rateLimitScaleRaw}")`);
  }

  const unknownRateRaw = str('UNKNOWN_TENANT_RATE') ?? '20';
  const unknownTenantBudget: UnknownTenantBudgetConfig = {
    ratePerSecond: Number(unknownRateRaw),
    burst: int('UNKNOWN_TENANT_BURST', 100, 1, 1_000_000),
    maxHeldPerAddress: int('UNKNOWN_TENANT_MAX_HELD', 256, 0, 100_000),
    maxHeldTotal: int('UNKNOWN_TENANT_MAX_HELD_TOTAL', 4096, 0, 1_000_000),
  };
  if (!/^\d+(\.\d+)?$/.test(unknownRateRaw) || unknownTenantBudget.ratePerSecond > 1_000_000) {
    problems.push(`UNKNOWN_TENANT_RATE must be a number from 0 (no budget) to 1000000 (got "${unknownRateRaw}")`);
  }

  const platformAdminToken = str('PLATFORM_ADMIN_TOKEN');
  if (platformAdminToken !== undefined && Buffer.byteLength(platformAdminToken) < 16) {
    problems.push('PLATFORM_ADMIN_TOKEN must be at least 16 bytes');
  }

  const tenantRolePrefix = str('TENANT_ROLE_PREFIX');
  if (tenantRolePrefix !== undefined && !ROLE_PREFIX.test(tenantRolePrefix)) {
    problems.push(`TENANT_ROLE_PREFIX must be 1-${ROLE_PREFIX_MAX_LENGTH} characters: a-z, 0-9 and "_", starting with a letter (got "${tenantRolePrefix}")`);
  }
  const pgPoolMax = int('PG_POOL_MAX', 10, 1, 1000);
  const databases = databasesOf(str('DATABASES'), problems);

  const root = projectRoot();
  const config: AppConfig = {
    port: int('PORT', 3000, 0, 65535),
    nodeEnv,
    databaseUrl: url('DATABASE_URL', ['postgres:', 'postgresql:']),
    databases,
    databaseDirectUrl: url('DATABASE_DIRECT_URL', ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', ['redis:', 'rediss:']),
    databaseRuntimeUrl: url('DATABASE_RUNTIME_URL', ['postgres:', 'postgresql:']),
    tenantRolePrefix,
    tenantMaxConnections: int('TENANT_MAX_CONNECTIONS', Math.max(1, Math.floor(pgPoolMax / 2)), 1, 1000),
    tenantMaxHeavyConnections: int('TENANT_MAX_HEAVY_CONNECTIONS', 1, 1, 1000),
    pgParallelWorkersPerQuery: int('PG_PARALLEL_WORKERS_PER_QUERY', 0, 0, 64),
    baseDomain,
    jwt: {
      secret,
      secretGenerated,
      issuer: str('JWT_ISSUER') ?? 'tenantry',
      audience: str('JWT_AUDIENCE') ?? 'tenantry-api',
      accessTtlSeconds,
      refreshTtlSeconds,
      previous,
    },
    pgPoolMax,
    pgPoolMaxLifetimeSeconds: int('PG_POOL_MAX_LIFETIME_SECONDS', 3600, 0, 86_400 * 7),
    trustProxyHops: int('TRUST_PROXY', 0, 0, 10),
    tenantClientCacheSize: int('TENANT_CLIENT_CACHE_SIZE', 100, 1, 100_000),
    tenantCacheTtlMs: int('TENANT_CACHE_TTL_MS', 5000, 0, 3_600_000),
    logLevel: oneOf('LOG_LEVEL', ['error', 'warn', 'info', 'debug'] as const, 'info'),
    platformAdminToken,
    seedDemo: bool('SEED_DEMO', nodeEnv === 'development'),
    unknownTenantBudget,
    rateLimitScale,
    paths: {
      root,
      dataDir: join(root, '.data'),
      tenantMigrations: join(root, 'prisma', 'tenant', 'migrations'),
      controlMigrations: join(root, 'prisma', 'control', 'migrations'),
      schemaFile: join(root, 'schema.gql'),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The name DATABASE_URL goes by in placements. */
export const PRIMARY_DATABASE = 'primary';
export const DATABASE_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

// DATABASES='{"eu-2":"postgresql://…"}': every name and URL is checked, each problem listed.
function databasesOf(raw: string | undefined, problems: string[]): Record<string, string> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push('DATABASES must be a JSON object of name → postgresql:// URL');
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push('DATABASES must be a JSON object of name → postgresql:// URL');
    return {};
  }
  const databases: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name === PRIMARY_DATABASE) {
      problems.push(`DATABASES must not name "${PRIMARY_DATABASE}": that is DATABASE_URL`);
      continue;
    }
    if (!DATABASE_NAME.test(name)) {
      problems.push(`DATABASES names must be 1-40 characters: a-z, 0-9, "-" and "_", starting with a letter (got "${name}")`);
      continue;
    }
    let valid = typeof value === 'string';
    try {
      if (valid && !['postgres:', 'postgresql:'].includes(new URL(value as string).protocol)) valid = false;
    } catch {
      valid = false;
    }
    if (!valid) problems.push(`DATABASES.${name} must be a postgres:// or postgresql:// URL`);
    else databases[name] = value as string;
  }
  return databases;
}

// The same code runs from src/ (tests) and dist/src/ (npm start): find the checkout by its package.json.
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}
