import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { bearerMatches } from '../auth/platform-admin-token.util';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ErrorCode, graphqlErrorBody, httpStatusFor } from '../graphql/app-error';

/**
 * Answers any request to the admin endpoint without `Authorization: Bearer $PLATFORM_ADMIN_TOKEN` before Apollo
 * sees it, so not even the schema (introspection) is served to anyone else.
 */
@Injectable()
export class PlatformAdminMiddleware implements NestMiddleware {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const token = this.config.platformAdminToken;
    if (token !== undefined && bearerMatches(req.headers.authorization, token)) return next();
    res
      .status(httpStatusFor(ErrorCode.UNAUTHENTICATED))
      .setHeader('WWW-Authenticate', 'Bearer realm="admin"')
      .type('application/json')
      .send(JSON.stringify(graphqlErrorBody(ErrorCode.UNAUTHENTICATED, 'A platform admin token is required')));
  }
}
