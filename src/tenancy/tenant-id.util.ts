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
