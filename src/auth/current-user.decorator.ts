import { createParamDecorator } from '@nestjs/common';
import { AppError, ErrorCode } from '../graphql/app-error';
import { TenantContext, type AuthenticatedUser } from '../tenancy/tenant-context';

/** The authenticated user of the current request (set by JwtAuthGuard). */
export const CurrentUser = createParamDecorator((): AuthenticatedUser => {
  const user = TenantContext.require().user;
  if (!user) throw new AppError(ErrorCode.UNAUTHENTICATED, 'An access token is required');
  return user;
});
