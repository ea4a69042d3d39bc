import { Field, ObjectType } from '@nestjs/graphql';
import { User } from '../../modules/users/models/user.model';

@ObjectType()
export class AuthPayload {
  @Field()
  accessToken: string;

  @Field(() => User)
  user: User;
}
