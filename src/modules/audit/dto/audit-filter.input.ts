import { Field, ID, InputType } from '@nestjs/graphql';
import { IsOptional, IsUUID, MaxLength } from 'class-validator';

@InputType({ description: 'Every given field must match exactly.' })
export class AuditFilter {
  @Field(() => ID, { nullable: true, description: 'The id of the user who acted.' })
  @IsOptional()
  @IsUUID()
  actor?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  action?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  entityType?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  entityId?: string | null;
}
