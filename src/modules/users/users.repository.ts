import { Injectable } from '@nestjs/common';
import { TenantConnectionService } from '../../tenancy/tenant-connection.service';
import type { Role, User } from './models/user.model';

export interface UserWithHash extends User {
  passwordHash: string;
}

const PUBLIC_FIELDS = { id: true, email: true, role: true } as const;

/** Users of the current tenant; the tenant client comes from the request's context. */
@Injectable()
export class UsersRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  async getById(id: string): Promise<User | null> {
    const user = await this.connections.current().user.findUnique({ where: { id }, select: PUBLIC_FIELDS });
    return user && { ...user, role: user.role as Role };
  }

  /** `email` must already be lower-cased: that is how emails are stored. */
  async getByEmailWithHash(email: string): Promise<UserWithHash | null> {
    const user = await this.connections.current().user.findUnique({
      where: { email },
      select: { ...PUBLIC_FIELDS, passwordHash: true },
    });
    return user && { ...user, role: user.role as Role };
  }
}
