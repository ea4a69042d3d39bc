import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { bearerMatches } from '../auth/platform-admin-token.util';
import { requestOf } from '../auth/request-of.util';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AppError, ErrorCode } from '../graphql/app-error';

/** Every admin resolver checks the token again: the middleware in front of the endpoint is not its only lock. */
@Injectable()
export class PlatformAdminGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.config.platformAdminToken;
    if (token === undefined || !bearerMatches(requestOf(context).headers.authorization, token)) {
      throw new AppError(ErrorCode.UNAUTHENTICATED, 'A platform admin token is required');
    }
    return true;
  }
}
