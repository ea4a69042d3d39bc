import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import type { TenantPlan, TenantStatus } from '../../control-plane/tenant-record';
import { connectionOf } from '../../graphql/pagination';

export const TenantStatusEnum = {
  PROVISIONING: 'PROVISIONING',
  ACTIVE: 'ACTIVE',
  SUSPENDED: 'SUSPENDED',
  MOVING: 'MOVING',
  DELETED: 'DELETED',
} as const satisfies Record<TenantStatus, TenantStatus>;
registerEnumType(TenantStatusEnum, {
  name: 'TenantStatus',
  description:
    'SUSPENDED tenants answer TENANT_SUSPENDED; MOVING ones the retryable TENANT_MOVING; DELETED ones TENANT_NOT_FOUND (their data is kept until a hard delete).',
});

// GraphQL enum names are upper-case; the registry stores the plan in lower case.
export const TenantPlanEnum = {
  FREE: 'free',
  STARTER: 'starter',
  PRO: 'pro',
  ENTERPRISE: 'enterprise',
} as const satisfies Record<string, TenantPlan>;
registerEnumType(TenantPlanEnum, { name: 'TenantPlan' });

@ObjectType()
export class Tenant {
  @Field(() => ID, { description: 'A DNS label; the tenant API serves it on <id>.<BASE_DOMAIN>.' })
  id: string;

  @Field()
  name: string;

  @Field(() => TenantStatusEnum)
  status: TenantStatus;

  @Field(() => TenantPlanEnum)
  plan: TenantPlan;

  @Field({ description: 'The PostgreSQL schema holding its data.' })
  schemaName: string;

  @Field({ description: 'The configured database holding the schema: "primary" (DATABASE_URL) or a DATABASES name.' })
  database: string;

  @Field(() => [String], { description: 'Custom domains serving this tenant, sorted.' })
  domains: string[];

  @Field(() => Date, { nullable: true, description: 'When it was soft-deleted; null unless DELETED.' })
  deletedAt: Date | null;

  @Field()
  createdAt: Date;

  @Field()
  updatedAt: Date;
}

export const TenantConnection = connectionOf(Tenant, 'Tenant');

@ObjectType()
export class DeleteTenantPayload {
  @Field(() => ID)
  id: string;

  @Field({ description: 'True when the schema and the registry row were dropped.' })
  hard: boolean;

  @Field(() => Tenant, { nullable: true, description: 'The soft-deleted tenant; null after a hard delete.' })
  tenant: Tenant | null;
}
