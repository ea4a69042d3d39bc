import { ArgsType, Field } from '@nestjs/graphql';
import { IsOptional } from 'class-validator';
import type { TenantStatus } from '../../control-plane/tenant-record';
import { PageArgs } from '../../graphql/pagination';
import { TenantStatusEnum } from '../models/tenant.model';

@ArgsType()
export class TenantsArgs extends PageArgs {
  @Field(() => TenantStatusEnum, { nullable: true, description: 'Only tenants in this status.' })
  @IsOptional()
  status?: TenantStatus | null;
}
