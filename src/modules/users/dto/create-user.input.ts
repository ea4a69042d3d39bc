import { Field, InputType } from '@nestjs/graphql';
import { IsEmail, IsEnum, Length, Matches, MaxLength } from 'class-validator';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../../auth/password.util';
import { Role } from '../models/user.model';

@InputType()
export class CreateUserInput {
  @Field({ description: 'Unique within the tenant, compared case-insensitively (stored lower-cased).' })
  @MaxLength(254)
  @IsEmail()
  email: string;

  @Field()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @Field(() => Role)
  @IsEnum(Role)
  role: Role;

  @Field({ description: `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters.` })
  @Length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH)
  password: string;
}
