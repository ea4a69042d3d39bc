import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError, ErrorCode } from '../graphql/app-error';
import { isUuid } from '../graphql/pagination';
import { UsersRepository } from '../modules/users/users.repository';
import { TenantContext, type AuthenticatedUser } from '../tenancy/tenant-context';
import { IS_PUBLIC } from './public.decorator';
import { requestOf } from './request-of.util';

export interface AccessTokenClaims {
  sub: string;
  tid: string;
  role: AuthenticatedUser['role'];
  exp: number;
}

/**
 * Authenticates the bearer token: HS256 only, and `iss`, `aud` and `exp` are all required. A token of the request's
 * tenant is then checked against its user's row (one primary-key lookup): a deactivated or deleted user's tokens
 * stop working at once, and the role comes from the row, so a role change applies to tokens already issued.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
    private readonly users: UsersRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const header = requestOf(context).headers.authorization;
    const token = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header ?? '')?.[1];
    if (!token) throw new AppError(ErrorCode.UNAUTHENTICATED, 'An access token is required');
    const claims = await this.jwt
      .verifyAsync<Partial<AccessTokenClaims>>(token, {
        algorithms: ['HS256'],
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
      })
      .catch(() => undefined);
    if (
      !claims ||
      typeof claims.exp !== 'number' ||
      typeof claims.sub !== 'string' ||
      !isUuid(claims.sub) ||
      typeof claims.tid !== 'string' ||
      (claims.role !== 'ADMIN' && claims.role !== 'MEMBER')
    ) {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token is invalid or expired');
    }
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
