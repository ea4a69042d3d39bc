// Injection tokens and connection names of DatabaseModule (a file of their own: DatabasePools needs them too).

/**
 * The owner pool (DATABASE_URL): control plane, provisioning, migrations and role management. Tenant data on the
 * request path never goes through it.
 */
export const SHARED_POOL = Symbol('SHARED_POOL');
/**
 * The request pool: one pg pool shared by every tenant's PrismaClient, connected as the non-superuser runtime role,
 * which reaches a tenant's tables only through `SET LOCAL ROLE` (see tenancy/tenant-scoped-pool.ts).
 */
export const TENANT_POOL = Symbol('TENANT_POOL');
/** ioredis client when REDIS_URL is set, otherwise null (caches stay in-process). */
export const REDIS = Symbol('REDIS');

/** application_name of the request pool's connections. */
export const APPLICATION_NAME = 'tenantry';
/** application_name of the owner pool's connections. */
export const ADMIN_APPLICATION_NAME = 'tenantry-admin';
/**
 * The control plane's pool (registry, ledgers, audit, isolation checks) on the primary database, connected as the
 * control-plane role: its own schema only, no tenant schema, no DDL (see control-plane/control-plane-role.ts).
 */
export const CONTROL_PLANE_POOL = Symbol('CONTROL_PLANE_POOL');
/** application_name of the control plane pool's connections. */
export const CONTROL_PLANE_APPLICATION_NAME = 'tenantry-control';
