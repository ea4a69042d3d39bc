import { ConfigError, loadConfig } from './config';

const SECRET = 'a-secret-that-is-at-least-32-bytes!';

/** The ConfigError `env` produces; fails the test when loadConfig accepts it. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      nodeEnv: 'development',
      databaseUrl: undefined,
      redisUrl: undefined,
      baseDomain: 'localhost',
      jwt: { issuer: 'tenantry', audience: 'tenantry-api', accessTtlSeconds: 900, secretGenerated: true },
      pgPoolMax: 10,
      pgPoolMaxLifetimeSeconds: 3600,
      tenantClientCacheSize: 100,
      tenantCacheTtlMs: 5000,
      logLevel: 'info',
      platformAdminToken: undefined,
      seedDemo: true,
      rateLimitScale: 1,
    });
    expect(config.paths.tenantMigrations).toMatch(/prisma[\\/]tenant[\\/]migrations$/);
  });

  it('seeds the demo only in development unless told otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).seedDemo).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET }).seedDemo).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', SEED_DEMO: 'yes' }).seedDemo).toBe(true);
    expect(loadConfig({ SEED_DEMO: 'off' }).seedDemo).toBe(false);
  });

  it('reads every variable it documents', () => {
    const config = loadConfig({
      PORT: '8080',
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://u:p@db:5432/tenantry',
      REDIS_URL: 'rediss://cache:6380',
      BASE_DOMAIN: 'Api.Example.COM',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'issuer',
      JWT_AUDIENCE: 'audience',
      JWT_ACCESS_TTL: '1h',
      PG_POOL_MAX: '25',
      PG_POOL_MAX_LIFETIME_SECONDS: '0',
      TENANT_CLIENT_CACHE_SIZE: '7',
      TENANT_CACHE_TTL_MS: '0',
      LOG_LEVEL: 'debug',
      PLATFORM_ADMIN_TOKEN: 'metrics-token-0123456789',
      RATE_LIMIT_SCALE: '0.01',
    });
    expect(config).toMatchObject({
      port: 8080,
      nodeEnv: 'production',
      databaseUrl: 'postgresql://u:p@db:5432/tenantry',
      redisUrl: 'rediss://cache:6380',
      // Hosts are compared lower-cased by the tenant middleware.
      baseDomain: 'api.example.com',
      jwt: { secret: SECRET, secretGenerated: false, issuer: 'issuer', audience: 'audience', accessTtlSeconds: 3600 },
      pgPoolMax: 25,
      pgPoolMaxLifetimeSeconds: 0,
      tenantClientCacheSize: 7,
      tenantCacheTtlMs: 0,
      logLevel: 'debug',
      platformAdminToken: 'metrics-token-0123456789',
      rateLimitScale: 0.01,
    });
  });

  it('fails once, listing every bad variable', () => {
    const bad = {
      PORT: '70000',
      NODE_ENV: 'staging',
      DATABASE_URL: 'mysql://db/tenantry',
      REDIS_URL: 'http://cache',
      BASE_DOMAIN: 'not a domain',
      JWT_SECRET: 'too-short',
      JWT_ACCESS_TTL: '15 minutes',
      PG_POOL_MAX: '0',
      TENANT_CLIENT_CACHE_SIZE: '-1',
      TENANT_CACHE_TTL_MS: '1.5',
      LOG_LEVEL: 'verbose',
      PLATFORM_ADMIN_TOKEN: 'short',
      SEED_DEMO: 'maybe',
      RATE_LIMIT_SCALE: '0',
    };
    const problems = problemsOf(bad);
    expect(problems.map((problem) => problem.split(' ')[0]).sort()).toEqual(Object.keys(bad).sort());
    let error: unknown;
    try {
      loadConfig(bad);
    } catch (thrown) {
      error = thrown;
    }
    for (const name of Object.keys(bad)) expect((error as Error).message).toContain(`  - ${name} `);
  });

  it('requires JWT_SECRET in production', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET is required in production (at least 32 bytes)']);
  });

  it('rejects a JWT_SECRET shorter than 32 bytes, counting bytes rather than characters', () => {
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(31) })).toEqual(['JWT_SECRET must be at least 32 bytes']);
    expect(problemsOf({ JWT_SECRET: 'x'.repeat(31) })).toEqual(['JWT_SECRET must be at least 32 bytes']);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwt.secret).toBe('x'.repeat(32));
    // 16 characters, 32 bytes in UTF-8.
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16) }).jwt).toMatchObject({ secret: 'é'.repeat(16), secretGenerated: false });
  });

  it('generates a fresh random secret outside production when none is set', () => {
    const first = loadConfig({}).jwt;
    const second = loadConfig({ NODE_ENV: 'test' }).jwt;
    expect(first.secretGenerated).toBe(true);
    expect(second.secretGenerated).toBe(true);
    expect(Buffer.byteLength(first.secret)).toBeGreaterThanOrEqual(32);
    expect(first.secret).not.toBe(second.secret);
  });

  it.each([
    ['900', 900],
    ['45s', 45],
    ['15m', 900],
    ['1h', 3600],
    ['2d', 172_800],
  ])('reads JWT_ACCESS_TTL=%s as %i seconds', (raw, seconds) => {
    expect(loadConfig({ JWT_ACCESS_TTL: raw }).jwt.accessTtlSeconds).toBe(seconds);
  });

  it.each(['0', '0m', '1.5h', '-5', '15 m', '15M', '1w', 'm', 'soon'])('rejects JWT_ACCESS_TTL=%s', (raw) => {
    expect(problemsOf({ JWT_ACCESS_TTL: raw })).toEqual([`JWT_ACCESS_TTL must be a duration such as 900, 15m or 1h (got "${raw}")`]);
  });
});

describe('loadConfig: JWT key rotation and refresh tokens', () => {
  const OLD = 'an-older-secret-that-is-32-bytes-long!';

  it('reads the previous secret with the end of its overlap, and the refresh-token lifetime', () => {
    const config = loadConfig({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: OLD, JWT_PREVIOUS_SECRET_UNTIL: '2026-12-01T00:00:00Z', JWT_REFRESH_TTL: '7d' });
    expect(config.jwt.previous).toEqual({ secret: OLD, until: new Date('2026-12-01T00:00:00Z') });
    expect(config.jwt.refreshTtlSeconds).toBe(7 * 86400);
    expect(loadConfig({}).jwt).toMatchObject({ previous: undefined, refreshTtlSeconds: 30 * 86400 });
  });

  it('trusts X-Forwarded-For only through the configured number of proxies', () => {
    expect(loadConfig({}).trustProxyHops).toBe(0);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxyHops).toBe(2);
    expect(problemsOf({ TRUST_PROXY: 'yes' })).toEqual([expect.stringContaining('TRUST_PROXY')]);
  });

  it('budgets unknown-tenant answers per address: 20/s, burst 100, 256 held per address, 4096 in all, unless set', () => {
    expect(loadConfig({}).unknownTenantBudget).toEqual({ ratePerSecond: 20, burst: 100, maxHeldPerAddress: 256, maxHeldTotal: 4096 });
    const set = { UNKNOWN_TENANT_RATE: '0.5', UNKNOWN_TENANT_BURST: '3', UNKNOWN_TENANT_MAX_HELD: '0', UNKNOWN_TENANT_MAX_HELD_TOTAL: '10' };
    expect(loadConfig(set).unknownTenantBudget).toEqual({ ratePerSecond: 0.5, burst: 3, maxHeldPerAddress: 0, maxHeldTotal: 10 });
    expect(loadConfig({ UNKNOWN_TENANT_RATE: '0' }).unknownTenantBudget.ratePerSecond).toBe(0);
    expect(problemsOf({ UNKNOWN_TENANT_RATE: '-1', UNKNOWN_TENANT_BURST: '0', UNKNOWN_TENANT_MAX_HELD: 'many' })).toEqual([
      expect.stringContaining('UNKNOWN_TENANT_BURST'),
      expect.stringContaining('UNKNOWN_TENANT_MAX_HELD'),
      expect.stringContaining('UNKNOWN_TENANT_RATE'),
    ]);
  });

  it('refuses a previous secret without an overlap end, a short or reused one, and a malformed time', () => {
    expect(problemsOf({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: OLD })).toEqual([expect.stringContaining('JWT_PREVIOUS_SECRET_UNTIL')]);
    expect(problemsOf({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET_UNTIL: '2026-12-01T00:00:00Z' })).toEqual([
      expect.stringContaining('JWT_PREVIOUS_SECRET must be at least 32 bytes'),
    ]);
    expect(problemsOf({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: 'short', JWT_PREVIOUS_SECRET_UNTIL: 'tomorrow' })).toHaveLength(2);
    expect(problemsOf({ JWT_SECRET: SECRET, JWT_PREVIOUS_SECRET: SECRET, JWT_PREVIOUS_SECRET_UNTIL: '2026-12-01T00:00:00Z' })).toEqual([
      expect.stringContaining('must differ'),
    ]);
  });
});

describe('loadConfig: placement databases', () => {
  it('reads DATABASES by name and the direct URL of the primary', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:p@pgbouncer:6432/tenantry',
      DATABASE_DIRECT_URL: 'postgresql://u:p@db:5432/tenantry',
      DATABASES: '{"eu-2":"postgresql://u:p@db2:5432/tenantry","big_1":"postgres://u:p@db3/t"}',
    });
    expect(config.databases).toEqual({ 'eu-2': 'postgresql://u:p@db2:5432/tenantry', big_1: 'postgres://u:p@db3/t' });
    expect(config.databaseDirectUrl).toBe('postgresql://u:p@db:5432/tenantry');
    expect(loadConfig({})).toMatchObject({ databases: {}, databaseDirectUrl: undefined });
  });

  it('lists every bad database: malformed JSON, the reserved primary, bad names and bad URLs', () => {
    expect(problemsOf({ DATABASES: '{nope' })).toEqual(['DATABASES must be a JSON object of name → postgresql:// URL']);
    expect(problemsOf({ DATABASES: '["postgresql://db/x"]' })).toEqual(['DATABASES must be a JSON object of name → postgresql:// URL']);
    const problems = problemsOf({
      DATABASES: '{"primary":"postgresql://db/x","Bad Name":"postgresql://db/x","eu":"mysql://db/x","us":42}',
      DATABASE_DIRECT_URL: 'http://db',
    });
    expect(problems).toEqual([
      expect.stringContaining('"primary"'),
      expect.stringContaining('(got "Bad Name")'),
      'DATABASES.eu must be a postgres:// or postgresql:// URL',
      'DATABASES.us must be a postgres:// or postgresql:// URL',
      expect.stringContaining('DATABASE_DIRECT_URL'),
    ]);
  });
});
