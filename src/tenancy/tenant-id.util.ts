// A tenant id is a DNS label, so `<id>.<BASE_DOMAIN>` always works; it never reaches SQL unvalidated.
const TENANT_ID = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
const RESERVED = new Set(['www', 'api', 'admin']);

export const TENANT_SCHEMA_PREFIX = 'tenant_';

export function isValidTenantId(id: unknown): id is string {
  return typeof id === 'string' && TENANT_ID.test(id) && !RESERVED.has(id);
}

/** Why `id` cannot name a tenant, or undefined when it can. */
export function tenantIdProblem(id: string): string | undefined {
  if (RESERVED.has(id)) return `"${id}" is reserved`;
  if (!TENANT_ID.test(id)) {
    return 'a tenant id is 2-40 characters: lower-case letters, digits and "-", starting with a letter and not ending with "-"';
  }
  return undefined;
}

/** The one place a schema name is made: `-` becomes `_`, which ids cannot contain, so the mapping is one-to-one. */
export function tenantSchemaName(id: string): string {
  if (!isValidTenantId(id)) throw new Error(`Refusing to build a schema name from an invalid tenant id`);
  return TENANT_SCHEMA_PREFIX + id.replace(/-/g, '_');
}

export function quoteIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

const MAX_IDENTIFIER_BYTES = 63;

/**
 * A tenant's PostgreSQL role: the installation prefix + the id as it is (ids hold no "_", so no platform role —
 * whose suffix has one — can collide with it). Prefix ≤ 23 and id ≤ 40 characters fit PostgreSQL's 63 bytes.
 */
export function tenantRoleName(prefix: string, id: string): string {
  if (!isValidTenantId(id)) throw new Error('Refusing to build a role name from an invalid tenant id');
  const role = prefix + id;
  if (Buffer.byteLength(role) > MAX_IDENTIFIER_BYTES) throw new Error(`Role name ${role} exceeds ${MAX_IDENTIFIER_BYTES} bytes`);
  return role;
}

/** The tenant id whose schema is `schema` (the inverse of tenantSchemaName), or undefined. */
export function tenantIdOfSchema(schema: string): string | undefined {
  if (!schema.startsWith(TENANT_SCHEMA_PREFIX)) return undefined;
  const id = schema.slice(TENANT_SCHEMA_PREFIX.length).replace(/_/g, '-');
  return isValidTenantId(id) ? id : undefined;
}
