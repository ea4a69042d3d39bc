import { Injectable } from '@nestjs/common';
import { hashPassword, verifyPassword } from '../../auth/password.util';
import { RefreshTokens } from '../../auth/refresh-tokens.service';
import { AppError, badUserInput, ErrorCode } from '../../graphql/app-error';
import { DEFAULT_PAGE_SIZE, decodeCursor, isUuid, toConnection, type Connection } from '../../graphql/pagination';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { LimitedResource } from '../plans/plan-limits.errors';
import { requireRoomFor } from '../plans/plan-limits.util';
import { AuditService } from '../audit/audit.service';
import type { CreateUserInput } from './dto/create-user.input';
import type { UserFilter } from './dto/user-filter.input';
import { UserStatus, type Role, type User } from './models/user.model';
import { UsersRepository, type GuardedUpdate } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly refreshTokens: RefreshTokens,
    private readonly audit: AuditService,
  ) {}

  async me(current: AuthenticatedUser): Promise<User> {
    const user = await this.users.getById(current.id);
    // A valid token for a user who no longer exists authenticates nobody.
    if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token names no user of this tenant');
    return user;
  }

  async list(filter: UserFilter | null | undefined, first = DEFAULT_PAGE_SIZE, after?: string | null): Promise<Connection<User>> {
    const keyset = after == null ? undefined : decodeCursor(after);
    const where = {
      role: filter?.role ?? undefined,
      status: filter?.status ?? undefined,
      emailContains: filter?.emailContains?.trim().toLowerCase() || undefined,
    };
    const [rows, total] = await Promise.all([this.users.list(where, first + 1, keyset), this.users.count(where)]);
    return toConnection(rows, first, after ?? undefined, total);
  }

  /** Absent, malformed and other tenants' ids all read as null. */
  get(id: string): Promise<User | null> {
    return isUuid(id) ? this.users.getById(id) : Promise.resolve(null);
  }

  async create(current: AuthenticatedUser, input: CreateUserInput): Promise<User> {
    requireAdmin(current);
    // Deactivated users free their seat.
    await requireRoomFor(LimitedResource.USERS, () => this.users.count({ status: UserStatus.ACTIVE }));
    const user = await this.users.create({
      email: input.email.trim().toLowerCase(),
      name: input.name.trim(),
      role: input.role,
      passwordHash: await hashPassword(input.password),
    });
    await this.audit.record({ action: 'user.create', entityType: 'User', entityId: user.id, after: user });
    return user;
  }

  async updateMe(current: AuthenticatedUser, name: string): Promise<User> {
    const before = await this.users.getById(current.id);
    const user = await this.users.update(current.id, { name: name.trim() });
    if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token names no user of this tenant');
    await this.audit.record({ action: 'user.update', entityType: 'User', entityId: user.id, before, after: user });
    return user;
  }

  async changeRole(current: AuthenticatedUser, id: string, role: Role): Promise<User> {
    requireAdmin(current);
    if (!isUuid(id)) throw notFound();
    const { user, before } = unwrap(await this.users.updateKeepingAnAdmin(id, { role }));
    if (before.role !== user.role) await this.audit.record({ action: 'user.role.change', entityType: 'User', entityId: id, before, after: user });
    return user;
  }

  async deactivate(current: AuthenticatedUser, id: string): Promise<User> {
    requireAdmin(current);
    if (!isUuid(id)) throw notFound();
    const { user, before } = unwrap(await this.users.updateKeepingAnAdmin(id, { status: UserStatus.DEACTIVATED }));
    // Access tokens stop at once (the guard reads the status); refresh tokens are revoked too, not merely refused.
    await this.refreshTokens.revokeAllOf(id);
    if (before.status !== user.status) await this.audit.record({ action: 'user.deactivate', entityType: 'User', entityId: id, before, after: user });
    return user;
  }

  async changePassword(current: AuthenticatedUser, currentPassword: string, newPassword: string): Promise<boolean> {
    const hash = await this.users.getPasswordHash(current.id);
    if (!(await verifyPassword(hash ?? undefined, currentPassword)) || !hash) {
      throw badUserInput('The current password is incorrect', { currentPassword: 'is incorrect' });
    }
    await this.users.update(current.id, { passwordHash: await hashPassword(newPassword) });
    // A stolen refresh token must not outlive the password change.
    const revoked = await this.refreshTokens.revokeAllOf(current.id);
    await this.audit.record({ action: 'user.password.change', entityType: 'User', entityId: current.id, after: { sessionsRevoked: revoked } });
    return true;
  }
}

// The role comes from the database on every request (JwtAuthGuard), so a demotion takes effect at once.
function requireAdmin(current: AuthenticatedUser): void {
  if (current.role !== 'ADMIN') throw new AppError(ErrorCode.FORBIDDEN, 'Only an admin may manage users');
}

function unwrap(result: GuardedUpdate): { user: User; before: User } {
  if ('user' in result) return result;
  if (result.refused === 'last-admin') {
    throw new AppError(ErrorCode.LAST_ADMIN, 'The tenant must keep at least one active admin');
  }
  throw notFound();
}

// Absent, malformed and other tenants' ids must be indistinguishable.
function notFound(): AppError {
  return new AppError(ErrorCode.NOT_FOUND, 'User not found');
}
