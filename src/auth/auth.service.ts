import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../graphql/app-error';
import { AuditService } from '../modules/audit/audit.service';
import type { User } from '../modules/users/models/user.model';
import { UsersRepository } from '../modules/users/users.repository';
import { TenantContext } from '../tenancy/tenant-context';
import { AccessTokens } from './access-tokens.service';
import { LoginThrottle } from './login-throttle.service';
import type { AuthPayload } from './models/auth-payload.model';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, verifyPassword } from './password.util';
import { RefreshTokens } from './refresh-tokens.service';

// One message for every refused login: unknown email, wrong password, deactivated user, throttled.
const invalidLogin = () => new AppError(ErrorCode.UNAUTHENTICATED, 'Invalid email or password');
const invalidRefresh = () => new AppError(ErrorCode.UNAUTHENTICATED, 'The refresh token is invalid or expired');

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly accessTokens: AccessTokens,
    private readonly refreshTokens: RefreshTokens,
    private readonly throttle: LoginThrottle,
    private readonly audit: AuditService,
  ) {}

  /** Logs in to the request's tenant from `address`. */
  async login(email: string, password: string, address: string): Promise<AuthPayload> {
    const tenantId = TenantContext.require().tenant.id;
    const account = email.trim().toLowerCase();
    // Throttled attempts check no password, so they cost nothing and tell nothing.
    if (!this.throttle.allows(tenantId, account, address)) throw invalidLogin();
    const user = await this.users.getByEmailWithHash(account);
    const withinPolicy = password.length >= PASSWORD_MIN_LENGTH && password.length <= PASSWORD_MAX_LENGTH;
    const valid = withinPolicy && (await verifyPassword(user?.passwordHash, password));
    if (!user || !valid || user.status !== 'ACTIVE') {
      this.throttle.failed(tenantId, account, address);
      // Only for real accounts: an unknown "email" may be a password typed into the wrong field.
      if (user) await this.audit.record({ action: 'auth.login.fail', entityType: 'User', entityId: user.id, actorId: null });
      throw invalidLogin();
    }
    this.throttle.succeeded(tenantId, account, address);
    const { passwordHash: _hash, ...publicUser } = user;
    const payload = await this.issue(publicUser, await this.refreshTokens.issue(user.id));
    await this.audit.record({ action: 'auth.login', entityType: 'User', entityId: user.id, actorId: user.id });
    return payload;
  }

  /** Rotates the refresh token: the presented one is spent, a new pair is returned. */
  async refresh(token: string): Promise<AuthPayload> {
    const { token: next, outcome } = await this.refreshTokens.rotate(token);
    if ('refused' in outcome) {
      if (outcome.refused === 'reused') {
        await this.audit.record({
          action: 'auth.refresh.reuse',
          entityType: 'RefreshTokenFamily',
          entityId: outcome.familyId,
          actorId: null,
          after: { userId: outcome.userId, revoked: true },
        });
      }
      throw invalidRefresh();
    }
    const user = await this.users.getById(outcome.rotated.userId);
    if (!user) throw invalidRefresh();
    return this.issue(user, next);
  }

  /** Revokes the session (token family) the refresh token belongs to; UNAUTHENTICATED for a token this tenant never issued. */
  async logout(token: string): Promise<boolean> {
    const family = await this.refreshTokens.revokeFamilyOf(token);
    if (!family) throw invalidRefresh();
    await this.audit.record({ action: 'auth.logout', entityType: 'RefreshTokenFamily', entityId: family.familyId, actorId: family.userId });
    return true;
  }

  private async issue(user: User, refreshToken: string): Promise<AuthPayload> {
    const { accessToken, expiresAt } = await this.accessTokens.issue({ sub: user.id, tid: TenantContext.require().tenant.id, role: user.role });
    return { accessToken, accessTokenExpiresAt: expiresAt, refreshToken, user };
  }
}
