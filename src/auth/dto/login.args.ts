import { ArgsType, Field } from '@nestjs/graphql';
import { MaxLength } from 'class-validator';
import { PASSWORD_MAX_LENGTH } from '../password.util';

@ArgsType()
export class LoginArgs {
  @Field()
  @MaxLength(254)
  email: string;

  // Only the upper bound is checked here: it caps the work an attacker can make argon2 do.
  @Field()
  @MaxLength(PASSWORD_MAX_LENGTH)
  password: string;
}
