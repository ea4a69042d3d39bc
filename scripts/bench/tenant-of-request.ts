// How the baseline servers name the tenant: `<id>.localhost` or x-tenant-id, with Tenantry's id rule, so a
// hostile value cannot reach SQL there either. Deliberately minimal: no registry, no status, no mismatch check.
import type { IncomingHttpHeaders } from 'node:http';

const TENANT_ID = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

export function schemaOfRequest(headers: IncomingHttpHeaders): string {
  const host = (headers.host ?? '').replace(/:\d+$/, '');
  const id = host.endsWith('.localhost') ? host.slice(0, -'.localhost'.length) : String(headers['x-tenant-id'] ?? '');
  if (!TENANT_ID.test(id)) throw new Error('bad tenant');
  return `tenant_${id.replace(/-/g, '_')}`;
}
