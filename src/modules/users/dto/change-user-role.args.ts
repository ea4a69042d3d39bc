import { ArgsType, Field, ID } from '@nestjs/graphql';
import { IsEnum } from 'class-validator';
import { Role } from '../models/user.model';

@ArgsType()
export class ChangeUserRoleArgs {
  @Field(() => ID)
  id: string;

  @Field(() => Role)
  @IsEnum(Role)
  role: Role;
}
