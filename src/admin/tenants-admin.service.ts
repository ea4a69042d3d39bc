import { Injectable } from '@nestjs/common';
import { TenantLifecycleService } from '../control-plane/tenant-lifecycle.service';
import type { TenantRecord, TenantStatus } from '../control-plane/tenant-record';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { badUserInput } from '../graphql/app-error';
import { DEFAULT_PAGE_SIZE, type Connection } from '../graphql/pagination';
import { isValidTenantId, tenantIdProblem } from '../tenancy/tenant-id.util';
import type { CreateTenantInput } from './dto/create-tenant.input';
import type { UpdateTenantInput } from './dto/update-tenant.input';
import type { DeleteTenantPayload, Tenant } from './models/tenant.model';

/** Who the audit log records for actions taken through the admin API. */
export const ADMIN_API_ACTOR = 'admin-api';

/** The admin API's operations: each one a call into the lifecycle service, answered with the tenant as it is now. */
@Injectable()
export class TenantsAdminService {
  constructor(
    private readonly lifecycle: TenantLifecycleService,
    private readonly registry: TenantRegistryRepository,
  ) {}

  async list(first: number | undefined, after: string | undefined, status: TenantStatus | undefined): Promise<Connection<Tenant>> {
    const size = first ?? DEFAULT_PAGE_SIZE;
    const afterId = after === undefined ? undefined : decodeTenantCursor(after);
    const { tenants, total } = await this.registry.listPage({ status, afterId, limit: size + 1 });
    const page = await this.withDomains(tenants.slice(0, size));
    const edges = page.map((node) => ({ cursor: encodeTenantCursor(node.id), node }));
    return {
      edges,
      totalCount: total,
      pageInfo: {
        hasNextPage: tenants.length > size,
        hasPreviousPage: after !== undefined,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges.at(-1)?.cursor ?? null,
      },
    };
  }

  /** Null when there is no such tenant (or it is still being provisioned). */
  async get(id: string): Promise<Tenant | null> {
    const problem = tenantIdProblem(id);
    if (problem) throw badUserInput('Invalid tenant id', { id: problem });
    const tenant = await this.registry.getById(id);
    return tenant && tenant.status !== 'PROVISIONING' ? this.withDomain(tenant) : null;
  }

  async create(input: CreateTenantInput): Promise<Tenant> {
    const tenant = await this.lifecycle.create(
      { id: input.id, name: input.name, plan: input.plan ?? undefined, adminEmail: input.adminEmail, adminPassword: input.adminPassword, database: input.database ?? undefined },
      ADMIN_API_ACTOR,
    );
    return { ...tenant, domains: [] };
  }

  async update(id: string, input: UpdateTenantInput): Promise<Tenant> {
    return this.withDomain(await this.lifecycle.update(id, { name: input.name ?? undefined, plan: input.plan ?? undefined }, ADMIN_API_ACTOR));
  }

  async transition(action: 'suspend' | 'resume' | 'restore', id: string): Promise<Tenant> {
    return this.withDomain(await this.lifecycle[action](id, ADMIN_API_ACTOR));
  }

  async delete(id: string, hard: boolean): Promise<DeleteTenantPayload> {
    if (hard) {
      await this.lifecycle.hardDelete(id, ADMIN_API_ACTOR);
      return { id, hard, tenant: null };
    }
    return { id, hard, tenant: await this.withDomain(await this.lifecycle.softDelete(id, ADMIN_API_ACTOR)) };
  }

  async addDomain(id: string, hostname: string): Promise<Tenant> {
    await this.lifecycle.addDomain(id, hostname, ADMIN_API_ACTOR);
    return (await this.get(id))!;
  }

  async removeDomain(id: string, hostname: string): Promise<Tenant> {
    await this.lifecycle.removeDomain(id, hostname, ADMIN_API_ACTOR);
    return (await this.get(id))!;
  }

  private async withDomain(tenant: TenantRecord): Promise<Tenant> {
    return (await this.withDomains([tenant]))[0];
  }

  private async withDomains(tenants: TenantRecord[]): Promise<Tenant[]> {
    const domains = await this.registry.listDomainsOf(tenants.map((tenant) => tenant.id));
    return tenants.map((tenant) => ({ ...tenant, domains: domains.get(tenant.id) ?? [] }));
  }
}

// Tenants are listed in id order, so a cursor is the last id seen; opaque to clients all the same.
function encodeTenantCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

function decodeTenantCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isValidTenantId(id) || encodeTenantCursor(id) !== cursor) {
    throw badUserInput('Invalid cursor', { after: 'is not a cursor this API issued' });
  }
  return id;
}
