import { ArgsType, Field } from '@nestjs/graphql';
import { MaxLength } from 'class-validator';

@ArgsType()
export class LogoutArgs {
  @Field({ description: 'Any refresh token of the session; the whole session (token family) is revoked.' })
  @MaxLength(200)
  refreshToken: string;
}
