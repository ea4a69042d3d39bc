import { Injectable } from '@nestjs/common';
import { byKeys, requestLoader } from '../../graphql/request-loaders';
import type { User } from './models/user.model';
import { UsersRepository } from './users.repository';

/** Users by id, batched per request: every owner and assignee in a response costs one query together. */
@Injectable()
export class UserLoaderService {
  constructor(private readonly users: UsersRepository) {}

  load(id: string): Promise<User | null> {
    return requestLoader<string, User | null>('users.byId', async (ids) => byKeys(ids, await this.users.listByIds(ids), (user) => user.id)).load(id);
  }
}
