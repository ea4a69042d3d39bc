import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '../auth/public.decorator';
import { AppError, ErrorCode } from '../graphql/app-error';
import { TenantContext } from './tenant-context';

/** Runs after the JWT guard: a token issued by one tenant is worthless on another tenant's endpoint. */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const { tenant, user } = TenantContext.require();
    if (!user || user.tenantId !== tenant.id) {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'The access token belongs to another tenant');
    }
    return true;
  }
}
