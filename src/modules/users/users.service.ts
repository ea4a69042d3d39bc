import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../../graphql/app-error';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import type { User } from './models/user.model';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  async me(current: AuthenticatedUser): Promise<User> {
    const user = await this.users.getById(current.id);
    // A valid token for a user who no longer exists authenticates nobody.
    if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token names no user of this tenant');
    return user;
  }
}
