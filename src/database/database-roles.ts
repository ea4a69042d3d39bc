import { createHash, createHmac } from 'node:crypto';
import type { AppConfig } from '../config/config';

/** Longest installation prefix: with a 40-character tenant id the role name still fits PostgreSQL's 63 bytes. */
export const ROLE_PREFIX_MAX_LENGTH = 23;
export const ROLE_PREFIX = /^[a-z][a-z0-9_]{0,22}$/;

// Tenant ids never contain "_", so a suffix with one can never collide with a tenant's role.
const RUNTIME_SUFFIX = 'platform_runtime';
const CONTROL_PLANE_SUFFIX = 'control_plane';

/**
 * Roles are cluster-wide: every installation (one database) names its roles with its own prefix —
 * TENANT_ROLE_PREFIX, or one derived from the database name, so test databases of one cluster never collide.
 */
export function rolePrefixOf(config: Pick<AppConfig, 'tenantRolePrefix' | 'databaseUrl'>): string {
  if (config.tenantRolePrefix) return config.tenantRolePrefix;
  if (!config.databaseUrl) throw new Error('The database URL must be resolved before naming roles');
  return derivedRolePrefix(databaseNameOf(config.databaseUrl));
}

/** `<db>_` when the database name is short and plain, else a shortened name plus a hash of the full one. */
export function derivedRolePrefix(databaseName: string): string {
  const plain = databaseName.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '');
  if (plain === databaseName && plain.length > 0 && plain.length <= 15) return `${plain}_`;
  const hash = createHash('sha256').update(databaseName).digest('hex').slice(0, 6);
  return `${(plain.slice(0, 10) || 'db').replace(/_+$/, '')}_${hash}_`;
}

export function runtimeRoleName(prefix: string): string {
  return prefix + RUNTIME_SUFFIX;
}

/** The role the control plane's repositories log in as: its own schema only, never a tenant's. */
export function controlPlaneRoleName(prefix: string): string {
  return prefix + CONTROL_PLANE_SUFFIX;
}

export function databaseNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

/**
 * The URL the request pool connects with: DATABASE_RUNTIME_URL when configured, otherwise DATABASE_URL with the
 * runtime role as user and a password derived from the admin's (so every instance derives the same one).
 */
export function runtimeDatabaseUrl(config: Pick<AppConfig, 'tenantRolePrefix' | 'databaseUrl' | 'databaseRuntimeUrl'>): string {
  if (config.databaseRuntimeUrl) return config.databaseRuntimeUrl;
  if (!config.databaseUrl) throw new Error('The database URL must be resolved before the app starts');
  return withDerivedLogin(config.databaseUrl, runtimeRoleName(rolePrefixOf(config)));
}

/**
 * The URL the control plane connects with: `base` (DATABASE_URL, or the direct URL for LISTEN) with the control-plane
 * role and its password derived from DATABASE_URL's.
 */
export function controlPlaneDatabaseUrl(config: Pick<AppConfig, 'tenantRolePrefix' | 'databaseUrl'>, base = config.databaseUrl): string {
  if (!config.databaseUrl || !base) throw new Error('The database URL must be resolved before the app starts');
  return withDerivedLogin(config.databaseUrl, controlPlaneRoleName(rolePrefixOf(config)), base);
}

function withDerivedLogin(adminUrl: string, role: string, base = adminUrl): string {
  const url = new URL(base);
  url.username = role;
  url.password = derivedRolePassword(adminUrl, role) ?? '';
  return url.toString();
}

/**
 * A platform role's password when derived from the admin URL (so every instance derives the same one); undefined when
 * the admin URL has none (trust, peer).
 */
export function derivedRolePassword(adminUrl: string, role: string): string | undefined {
  const secret = decodeURIComponent(new URL(adminUrl).password);
  if (!secret) return undefined;
  return createHmac('sha256', secret).update(`tenantry-runtime:${role}`).digest('base64url');
}

/** The role name of a runtime URL (DATABASE_RUNTIME_URL's user, or the derived one). */
export function runtimeRoleOf(config: Pick<AppConfig, 'tenantRolePrefix' | 'databaseUrl' | 'databaseRuntimeUrl'>): string {
  return decodeURIComponent(new URL(runtimeDatabaseUrl(config)).username);
}

/** The primary without a pooler: DATABASE_DIRECT_URL, else DATABASE_URL. Session state (locks, LISTEN) goes here. */
export function directDatabaseUrl(config: Pick<AppConfig, 'databaseUrl' | 'databaseDirectUrl'>): string {
  const url = config.databaseDirectUrl ?? config.databaseUrl;
  if (!url) throw new Error('The database URL must be resolved before the app starts');
  return url;
}

/**
 * The runtime URL of a placement database whose owner URL is `adminUrl`: the same runtime role on that server.
 * With DATABASE_RUNTIME_URL, its user and password; otherwise the derived role and a password derived from `adminUrl`.
 */
export function runtimeUrlFor(
  config: Pick<AppConfig, 'tenantRolePrefix' | 'databaseUrl' | 'databaseRuntimeUrl'>,
  adminUrl: string,
): string {
  const url = new URL(adminUrl);
  if (config.databaseRuntimeUrl) {
    const runtime = new URL(config.databaseRuntimeUrl);
    url.username = runtime.username;
    url.password = runtime.password;
    return url.toString();
  }
  const role = runtimeRoleName(rolePrefixOf(config));
  url.username = role;
  url.password = derivedRolePassword(adminUrl, role) ?? '';
  return url.toString();
}
