import { UseGuards } from '@nestjs/common';
import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Public } from '../auth/public.decorator';
import type { Connection } from '../graphql/pagination';
import { CreateTenantInput } from './dto/create-tenant.input';
import { TenantsArgs } from './dto/tenants.args';
import { UpdateTenantInput } from './dto/update-tenant.input';
import { DeleteTenantPayload, Tenant, TenantConnection } from './models/tenant.model';
import { PlatformAdminGuard } from './platform-admin.guard';
import { TenantsAdminService } from './tenants-admin.service';

// Public: no tenant and no tenant user here; the platform admin token is checked instead.
@Public()
@UseGuards(PlatformAdminGuard)
@Resolver(() => Tenant)
export class TenantsAdminResolver {
  constructor(private readonly service: TenantsAdminService) {}

  @Query(() => TenantConnection, { description: 'Every tenant in id order, optionally of one status.' })
  tenants(@Args() { first, after, status }: TenantsArgs): Promise<Connection<Tenant>> {
    return this.service.list(first ?? undefined, after ?? undefined, status ?? undefined);
  }

  @Query(() => Tenant, { nullable: true, description: 'Null when there is no such tenant; BAD_USER_INPUT for a malformed id.' })
  tenant(@Args('id', { type: () => ID }) id: string): Promise<Tenant | null> {
    return this.service.get(id);
  }

  @Mutation(() => Tenant, {
    description: 'Creates the schema, applies the migrations and creates the ADMIN user, all or nothing. CONFLICT when the id is taken.',
  })
  createTenant(@Args('input') input: CreateTenantInput): Promise<Tenant> {
    return this.service.create(input);
  }

  @Mutation(() => Tenant, { description: 'Changes the name and/or the plan.' })
  updateTenant(@Args('id', { type: () => ID }) id: string, @Args('input') input: UpdateTenantInput): Promise<Tenant> {
    return this.service.update(id, input);
  }

  @Mutation(() => Tenant, { description: 'ACTIVE → SUSPENDED; CONFLICT from any other status.' })
  suspendTenant(@Args('id', { type: () => ID }) id: string): Promise<Tenant> {
    return this.service.transition('suspend', id);
  }

  @Mutation(() => Tenant, { description: 'SUSPENDED → ACTIVE; CONFLICT from any other status.' })
  resumeTenant(@Args('id', { type: () => ID }) id: string): Promise<Tenant> {
    return this.service.transition('resume', id);
  }

  @Mutation(() => DeleteTenantPayload, {
    description: 'Soft delete (ACTIVE/SUSPENDED → DELETED, data kept), or with hard: true drop the schema and the registry row for good.',
  })
  deleteTenant(
    @Args('id', { type: () => ID }) id: string,
    @Args('hard', { type: () => Boolean, defaultValue: false }) hard: boolean,
  ): Promise<DeleteTenantPayload> {
    return this.service.delete(id, hard);
  }

  @Mutation(() => Tenant, { description: 'DELETED → ACTIVE with its data intact; CONFLICT from any other status.' })
  restoreTenant(@Args('id', { type: () => ID }) id: string): Promise<Tenant> {
    return this.service.transition('restore', id);
  }

  @Mutation(() => Tenant, { description: 'Serves the tenant on `hostname` too (lower-cased). CONFLICT when another tenant has it.' })
  addTenantDomain(@Args('tenantId', { type: () => ID }) tenantId: string, @Args('hostname') hostname: string): Promise<Tenant> {
    return this.service.addDomain(tenantId, hostname);
  }

  @Mutation(() => Tenant, { description: 'NOT_FOUND when the tenant does not have `hostname`.' })
  removeTenantDomain(@Args('tenantId', { type: () => ID }) tenantId: string, @Args('hostname') hostname: string): Promise<Tenant> {
    return this.service.removeDomain(tenantId, hostname);
  }
}
