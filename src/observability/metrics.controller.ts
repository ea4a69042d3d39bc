import { Controller, Get, Headers, HttpCode, Inject, NotFoundException, Res, UnauthorizedException } from '@nestjs/common';
import type { Response } from 'express';
import { bearerMatches } from '../auth/platform-admin-token.util';
import { Public } from '../auth/public.decorator';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint for platform operators: `Authorization: Bearer $PLATFORM_ADMIN_TOKEN`. */
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @HttpCode(200)
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    const token = this.config.platformAdminToken;
    // No token configured: the endpoint does not exist rather than being open.
    if (token === undefined) throw new NotFoundException();
    if (!bearerMatches(authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new UnauthorizedException();
    }
    const { contentType, body } = await this.metrics.render();
    res.type(contentType).send(body);
  }
}
