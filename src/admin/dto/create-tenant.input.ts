import { Field, InputType } from '@nestjs/graphql';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../auth/password.util';
import type { TenantPlan } from '../../control-plane/tenant-record';
import { TenantPlanEnum } from '../models/tenant.model';

// Validated by the provisioner, which reports every bad field at once (BAD_USER_INPUT with extensions.fields).
@InputType()
export class CreateTenantInput {
  @Field({ description: '2-40 characters: lower-case letters, digits and "-", starting with a letter; not www, api or admin.' })
  id: string;

  @Field({ description: '1-200 characters.' })
  name: string;

  @Field(() => TenantPlanEnum, { nullable: true, description: 'FREE when absent.' })
  plan?: TenantPlan | null;

  @Field(() => String, { nullable: true, description: 'The configured database to place the schema on; "primary" when absent.' })
  database?: string | null;

  @Field({ description: 'The first ADMIN of the tenant.' })
  adminEmail: string;

  @Field({ description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; stored only as an argon2id hash.` })
  adminPassword: string;
}
