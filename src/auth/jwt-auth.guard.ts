import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError, ErrorCode } from '../graphql/app-error';
import { TenantContext, type AuthenticatedUser } from '../tenancy/tenant-context';
import { IS_PUBLIC } from './public.decorator';
import { requestOf } from './request-of.util';

export interface AccessTokenClaims {
  sub: string;
  tid: string;
  role: AuthenticatedUser['role'];
  exp: number;
}

/** Authenticates the bearer token: HS256 only, and `iss`, `aud` and `exp` are all required. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
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
      typeof claims.tid !== 'string' ||
      (claims.role !== 'ADMIN' && claims.role !== 'MEMBER')
    ) {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token is invalid or expired');
    }
    TenantContext.require().user = { id: claims.sub, tenantId: claims.tid, role: claims.role };
    return true;
  }
}
