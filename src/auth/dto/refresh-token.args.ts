import { ArgsType, Field } from '@nestjs/graphql';
import { MaxLength } from 'class-validator';

@ArgsType()
export class RefreshTokenArgs {
  @Field({ description: 'The refreshToken of the last AuthPayload.' })
  @MaxLength(200)
  token: string;
}
