import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppError, ErrorCode } from '../graphql/app-error';
import { UsersRepository } from '../modules/users/users.repository';
import { TenantContext } from '../tenancy/tenant-context';
import { AccessTokens, type AccessTokenClaims } from './access-tokens.service';
import { IS_PUBLIC } from './public.decorator';
import { requestOf } from './request-of.util';

/**
 * Authenticates the bearer token (see AccessTokens.verify). A token of the request's
 * tenant is then checked against its user's row (one primary-key lookup): a deactivated or deleted user's tokens
 * stop working at once, and the role comes from the row, so a role change applies to tokens already issued.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokens,
    private readonly users: UsersRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const header = requestOf(context).headers.authorization;
    const token = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header ?? '')?.[1];
    if (!token) throw new AppError(ErrorCode.UNAUTHENTICATED, 'An access token is required');
    const claims = await this.tokens.verify(token);
    if (!claims) throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token is invalid or expired');
    const bound = TenantContext.require();
    let role = claims.role;
    // Another tenant's token is TenantGuard's to reject; its `sub` means nothing in this tenant's schema.
    if (claims.tid === bound.tenant.id) {
      const state = await this.users.getAuthState(claims.sub);
      if (state?.status !== 'ACTIVE') throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token is invalid or expired');
      role = state.role as AccessTokenClaims['role'];
    }
    bound.user = { id: claims.sub, tenantId: claims.tid, role };
    return true;
  }
}
