import { randomBytes } from 'node:crypto';
import type { TenantPlan } from '../../src/control-plane/tenant-record';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { LoginDocument } from '../generated/graphql';
import type { TestApp } from './app';
import { gql } from './http';

export const TEST_PASSWORD = 'correct-horse-battery';

export interface TestTenant {
  id: string;
  schemaName: string;
  adminEmail: string;
  adminId: string;
  /** An access token of the tenant's admin. */
  token: string;
}

export function randomTenantId(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * Provisions a tenant with a random id through the real provisioner, and logs its admin in over HTTP.
 * Enterprise unless `plan` says otherwise, so that only tests about plan limits meet them.
 */
export async function newTenant(api: TestApp, options: { id?: string; plan?: TenantPlan; database?: string } = {}): Promise<TestTenant> {
  const id = options.id ?? randomTenantId();
  const adminEmail = `admin@${id}.test`;
  const tenant = await api.app.get(TenantProvisioner).create({
    id,
    name: `Tenant ${id}`,
    plan: options.plan ?? 'enterprise',
    adminEmail,
    adminPassword: TEST_PASSWORD,
    database: options.database,
  });
  const login = await gql(api.baseUrl, LoginDocument, { email: adminEmail, password: TEST_PASSWORD }, { header: id });
  if (!login.body.data) throw new Error(`login failed for ${id}: ${JSON.stringify(login.body)}`);
  return { id, schemaName: tenant.schemaName, adminEmail, adminId: login.body.data.login.user.id, token: login.body.data.login.accessToken };
}
