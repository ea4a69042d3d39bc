import { ArgsType, Field } from '@nestjs/graphql';
import { MaxLength } from 'class-validator';

@ArgsType()
export class LoginArgs {
  @Field()
  @MaxLength(254)
  email: string;

  // No length rule here: a password outside the policy fails like a wrong one (AuthService), revealing nothing.
  @Field()
  password: string;
}
