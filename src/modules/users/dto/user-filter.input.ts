import { Field, InputType } from '@nestjs/graphql';
import { IsEnum, IsOptional, MaxLength } from 'class-validator';
import { Role, UserStatus } from '../models/user.model';

@InputType()
export class UserFilter {
  @Field(() => Role, { nullable: true })
  @IsOptional()
  @IsEnum(Role)
  role?: Role | null;

  @Field(() => UserStatus, { nullable: true })
  @IsOptional()
  @IsEnum(UserStatus)
  status?: UserStatus | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the email.' })
  @IsOptional()
  @MaxLength(254)
  emailContains?: string | null;
}
