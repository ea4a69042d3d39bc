import { Field, InputType } from '@nestjs/graphql';
import type { TenantPlan } from '../../control-plane/tenant-record';
import { TenantPlanEnum } from '../models/tenant.model';

@InputType()
export class UpdateTenantInput {
  @Field(() => String, { nullable: true, description: '1-200 characters.' })
  name?: string | null;

  @Field(() => TenantPlanEnum, { nullable: true })
  plan?: TenantPlan | null;
}
