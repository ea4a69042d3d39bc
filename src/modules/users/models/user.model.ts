import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { connectionOf } from '../../../graphql/pagination';

export enum Role {
  ADMIN = 'ADMIN',
  MEMBER = 'MEMBER',
}
registerEnumType(Role, { name: 'Role' });

export enum UserStatus {
  ACTIVE = 'ACTIVE',
  DEACTIVATED = 'DEACTIVATED',
}
registerEnumType(UserStatus, { name: 'UserStatus', description: 'DEACTIVATED users cannot log in; their access tokens stop working.' });

@ObjectType()
export class User {
  @Field(() => ID)
  id: string;

  @Field()
  email: string;

  @Field({ description: 'Empty for the admin created with the tenant until they set it with updateMe.' })
  name: string;

  @Field(() => Role)
  role: Role;

  @Field(() => UserStatus)
  status: UserStatus;

  @Field()
  createdAt: Date;
}

export const UserConnection = connectionOf(User, 'User');
