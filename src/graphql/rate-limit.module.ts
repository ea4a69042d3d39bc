import { Global, Module } from '@nestjs/common';
import { RateLimitPlugin } from './rate-limit.plugin';
import { RateLimiter } from './rate-limit.service';

/** Per-tenant operation limits by plan; global so metrics can count the rejections. */
@Global()
@Module({
  providers: [RateLimiter, RateLimitPlugin],
  exports: [RateLimiter],
})
export class RateLimitModule {}
