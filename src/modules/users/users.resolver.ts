import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../../auth/current-user.decorator';
import type { Connection } from '../../graphql/pagination';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { ChangePasswordArgs } from './dto/change-password.args';
import { ChangeUserRoleArgs } from './dto/change-user-role.args';
import { CreateUserInput } from './dto/create-user.input';
import { UpdateMeInput } from './dto/update-me.input';
import { UsersArgs } from './dto/users.args';
import { User, UserConnection } from './models/user.model';
import { UsersService } from './users.service';

@Resolver(() => User)
export class UsersResolver {
  constructor(private readonly service: UsersService) {}

  @Query(() => User, { description: 'The authenticated user.' })
  me(@CurrentUser() user: AuthenticatedUser): Promise<User> {
    return this.service.me(user);
  }

  @Query(() => UserConnection, { description: 'Users of the tenant, newest first.' })
  users(@Args() { first, after, filter }: UsersArgs): Promise<Connection<User>> {
    return this.service.list(filter, first ?? undefined, after);
  }

  @Query(() => User, { nullable: true, description: 'Null when absent, malformed, or not in this tenant.' })
  user(@Args('id', { type: () => ID }) id: string): Promise<User | null> {
    return this.service.get(id);
  }

  @Mutation(() => User, { description: 'ADMIN only. CONFLICT when the email is taken (case-insensitively).' })
  createUser(@CurrentUser() user: AuthenticatedUser, @Args('input') input: CreateUserInput): Promise<User> {
    return this.service.create(user, input);
  }

  @Mutation(() => User, { description: "Changes the authenticated user's own profile." })
  updateMe(@CurrentUser() user: AuthenticatedUser, @Args('input') input: UpdateMeInput): Promise<User> {
    return this.service.updateMe(user, input.name);
  }

  @Mutation(() => User, { description: 'ADMIN only. LAST_ADMIN when it would leave the tenant without an active admin.' })
  changeUserRole(@CurrentUser() user: AuthenticatedUser, @Args() { id, role }: ChangeUserRoleArgs): Promise<User> {
    return this.service.changeRole(user, id, role);
  }

  @Mutation(() => User, {
    description: 'ADMIN only. The user can no longer log in and their access tokens stop working. LAST_ADMIN for the last active admin.',
  })
  deactivateUser(@CurrentUser() user: AuthenticatedUser, @Args('id', { type: () => ID }) id: string): Promise<User> {
    return this.service.deactivate(user, id);
  }

  @Mutation(() => Boolean, { description: "Changes the authenticated user's password; BAD_USER_INPUT when currentPassword is wrong." })
  changePassword(@CurrentUser() user: AuthenticatedUser, @Args() { currentPassword, newPassword }: ChangePasswordArgs): Promise<boolean> {
    return this.service.changePassword(user, currentPassword, newPassword);
  }
}
