import { Field, ObjectType } from '@nestjs/graphql';
import { User } from '../../modules/users/models/user.model';

@ObjectType()
export class AuthPayload {
  @Field({ description: 'A bearer token for the API, valid until accessTokenExpiresAt.' })
  accessToken: string;

  @Field()
  accessTokenExpiresAt: Date;

  @Field({ description: 'Single use: refreshToken(token:) returns a new pair. Presenting a used one again ends the session.' })
  refreshToken: string;

  @Field(() => User)
  user: User;
}
