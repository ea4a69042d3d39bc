import { NotFoundException, UnauthorizedException } from '@nestjs/common';
import type { Response } from 'express';
import type { AppConfig } from '../config/config';
import { MetricsController } from './metrics.controller';
import type { MetricsService } from './metrics.service';

const metrics = { render: async () => ({ contentType: 'text/plain', body: 'up 1\n' }) } as unknown as MetricsService;

function response() {
  const res = { headers: {} as Record<string, string>, sent: undefined as unknown };
  return Object.assign(res, {
    setHeader: (name: string, value: string) => void (res.headers[name] = value),
    type: () => res,
    send: (body: unknown) => void (res.sent = body),
  });
}

describe('MetricsController', () => {
  it('answers 404 when PLATFORM_ADMIN_TOKEN is not configured, whatever is sent', async () => {
    const controller = new MetricsController(metrics, { platformAdminToken: undefined } as AppConfig);
    await expect(controller.scrape('Bearer anything', response() as unknown as Response)).rejects.toBeInstanceOf(NotFoundException);
  });

  it.each([undefined, '', 'Bearer', 'Bearer wrong-token-of-some-length', 'bearer-the-right-token', 'Basic the-right-token-0123'])(
    'answers 401 to authorization %p',
    async (header) => {
      const controller = new MetricsController(metrics, { platformAdminToken: 'the-right-token-0123' } as AppConfig);
      const res = response();
      await expect(controller.scrape(header, res as unknown as Response)).rejects.toBeInstanceOf(UnauthorizedException);
      expect(res.headers['WWW-Authenticate']).toMatch(/^Bearer/);
    },
  );

  it('serves the registry to the right bearer token', async () => {
    const controller = new MetricsController(metrics, { platformAdminToken: 'the-right-token-0123' } as AppConfig);
    const res = response();
    await controller.scrape('Bearer the-right-token-0123', res as unknown as Response);
    expect(res.sent).toBe('up 1\n');
  });
});
