import { Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../../auth/current-user.decorator';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { User } from './models/user.model';
import { UsersService } from './users.service';

@Resolver(() => User)
export class UsersResolver {
  constructor(private readonly users: UsersService) {}

  @Query(() => User, { description: 'The authenticated user.' })
  me(@CurrentUser() user: AuthenticatedUser): Promise<User> {
    return this.users.me(user);
  }
}
