import { Injectable } from '@nestjs/common';
import { isWriteConflict, prismaCode } from '../../database/prisma-errors.util';
import { AppError, ErrorCode } from '../../graphql/app-error';
import type { Keyset } from '../../graphql/pagination';
import { TenantConnectionService } from '../../tenancy/tenant-connection.service';
import type { Role, User, UserStatus } from './models/user.model';

export interface UserWithHash extends User {
  passwordHash: string;
}

export interface UserListFilter {
  role?: Role;
  status?: UserStatus;
  /** Lower-cased already: emails are stored lower-cased. */
  emailContains?: string;
}

/** What a role or status change may be refused for, decided inside the transaction that applies it. */
export type GuardedUpdate = { user: User; before: User } | { refused: 'not-found' | 'last-admin' };

/** The columns a User exposes; other modules select related users with it. */
export const USER_SELECT = { id: true, email: true, name: true, role: true, status: true, createdAt: true } as const;

type UserRow = { id: string; email: string; name: string; role: string; status: string; createdAt: Date };

export function toUser<T extends UserRow>(row: T): T & { role: Role; status: UserStatus } {
  return { ...row, role: row.role as Role, status: row.status as UserStatus };
}

const MAX_SERIALIZATION_RETRIES = 5;

/** Users of the current tenant; the tenant client comes from the request's context. */
@Injectable()
export class UsersRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  async getById(id: string): Promise<User | null> {
    const user = await this.connections.current().user.findUnique({ where: { id }, select: USER_SELECT });
    return user && toUser(user);
  }

  /** The users among `ids` (any order); ids of other tenants simply are not found. */
  async listByIds(ids: readonly string[]): Promise<User[]> {
    const rows = await this.connections.current().user.findMany({ where: { id: { in: [...ids] } }, select: USER_SELECT });
    return rows.map(toUser);
  }

  /**
   * Role and status only: what the JWT guard reads on every authenticated request (a primary-key lookup). Tenancy
   * sends it with the opening of the request's transaction, one round trip for both and no Prisma on the hot path.
   */
  getAuthState(id: string): Promise<{ role: string; status: string } | null> {
    return this.connections.userAuthState(id);
  }

  /** `email` must already be lower-cased: that is how emails are stored. */
  async getByEmailWithHash(email: string): Promise<UserWithHash | null> {
    const user = await this.connections.current().user.findUnique({
      where: { email },
      select: { ...USER_SELECT, passwordHash: true },
    });
    return user && toUser(user);
  }

  async getPasswordHash(id: string): Promise<string | null> {
    const user = await this.connections.current().user.findUnique({ where: { id }, select: { passwordHash: true } });
    return user?.passwordHash ?? null;
  }

  /** Newest first, `createdAt DESC, id DESC`, like every connection. */
  async list(filter: UserListFilter, take: number, after?: Keyset): Promise<User[]> {
    const rows = await this.connections.current().user.findMany({
      select: USER_SELECT,
      where: {
        ...whereOf(filter),
        ...(after && { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
    return rows.map(toUser);
  }

  count(filter: UserListFilter): Promise<number> {
    return this.connections.current().user.count({ where: whereOf(filter) });
  }

  /** CONFLICT when the (lower-cased) email is taken. */
  async create(data: { email: string; name: string; role: Role; passwordHash: string }): Promise<User> {
    try {
      return toUser(await this.connections.current().user.create({ data, select: USER_SELECT }));
    } catch (error) {
      if (prismaCode(error) === 'P2002') throw new AppError(ErrorCode.CONFLICT, 'A user with this email already exists');
      throw error;
    }
  }

  /** Null when no such user exists in this tenant. */
  async update(id: string, data: { name?: string; passwordHash?: string }): Promise<User | null> {
    // UPDATE … RETURNING: one statement, where updating and reading back took two.
    const [row] = await this.connections.current().user.updateManyAndReturn({ where: { id }, data, select: USER_SELECT });
    return row ? toUser(row) : null;
  }

  /**
   * Changes a user's role or status unless that would leave the tenant without an active ADMIN.
   * Serializable, so two admins demoting each other at once cannot both succeed; a serialization failure retries.
   */
  async updateKeepingAnAdmin(id: string, data: { role?: Role; status?: UserStatus }): Promise<GuardedUpdate> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connections.current().$transaction(
          async (tx): Promise<GuardedUpdate> => {
            const user = await tx.user.findUnique({ where: { id }, select: USER_SELECT });
            if (!user) return { refused: 'not-found' };
            const wasActiveAdmin = user.role === 'ADMIN' && user.status === 'ACTIVE';
            const staysActiveAdmin = (data.role ?? user.role) === 'ADMIN' && (data.status ?? user.status) === 'ACTIVE';
            if (wasActiveAdmin && !staysActiveAdmin) {
              const admins = await tx.user.count({ where: { role: 'ADMIN', status: 'ACTIVE' } });
              if (admins <= 1) return { refused: 'last-admin' };
            }
            const changed = (data.role !== undefined && data.role !== user.role) || (data.status !== undefined && data.status !== user.status);
            if (!changed) return { user: toUser(user), before: toUser(user) };
            return { user: toUser(await tx.user.update({ where: { id }, data, select: USER_SELECT })), before: toUser(user) };
          },
          { isolationLevel: 'Serializable' },
        );
      } catch (error) {
        if (!isWriteConflict(error) || attempt >= MAX_SERIALIZATION_RETRIES) throw error;
      }
    }
  }
}

function whereOf(filter: UserListFilter) {
  return {
    ...(filter.role && { role: filter.role }),
    ...(filter.status && { status: filter.status }),
    // Prisma passes `contains` to LIKE unescaped: a `%` or `_` in the filter must match itself.
    ...(filter.emailContains && { email: { contains: filter.emailContains.replace(/[\\%_]/g, '\\$&') } }),
  };
}
