import { Injectable } from '@nestjs/common';
import { byKeys, requestLoader } from '../../graphql/request-loaders';
import type { User } from './models/user.model';
import { UsersRepository } from './users.repository';

/** Users by id, batched per request: every owner and assignee in a response costs one query together. */
@Injectable()
export class UserLoaderService {
  constructor(private readonly users: UsersRepository) {}

  load(id: string): Promise<User | null> {
    return this.loader().load(id);
  }

  /** Users another statement of this request already read (owners joined to their projects): no query for them. */
  prime(users: User[]): void {
    const loader = this.loader();
    for (const user of users) loader.prime(user.id, user);
  }

  private loader() {
    return requestLoader<string, User | null>('users.byId', async (ids) => byKeys(ids, await this.users.listByIds(ids), (user) => user.id));
  }
}
