import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { Public } from '../auth/public.decorator';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { REDIS } from '../database/database-tokens';

type Check = 'up' | 'down';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly registry: TenantRegistryRepository,
    @Inject(REDIS) private readonly redis: Redis | null,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** 503 only when the database is down; Redis being away degrades, it does not take us out. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response) {
    const checks: Record<string, Check> = { database: await this.check(() => this.registry.ping()) };
    if (this.redis) checks.redis = await this.check(() => this.redis!.ping());
    const status = checks.database === 'down' ? 'down' : Object.values(checks).includes('down') ? 'degraded' : 'ok';
    if (status === 'down') res.status(503);
    return { status, checks };
  }

  private async check(probe: () => Promise<unknown>): Promise<Check> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), 1000);
    });
    try {
      await Promise.race([probe(), timeout]);
      return 'up';
    } catch {
      return 'down';
    } finally {
      clearTimeout(timer);
    }
  }
}
