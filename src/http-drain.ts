import type { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { UnknownTenantBudget } from './tenancy/unknown-tenant-budget';

/**
 * Graceful stop of the HTTP side: stop accepting, let the requests in flight finish (their connections are
 * closed after the response instead of kept alive), and only then let Nest stop Apollo and the pool —
 * Nest's own close() stops Apollo before it closes the listener, which would fail requests still running.
 */
export class HttpDrain {
  private readonly inFlight = new Set<Response>();
  private closing = false;
  private onIdle?: () => void;

  constructor(private readonly app: INestApplication) {
    app.use(this.track);
  }

  /** Resolves when no request is in flight, or after `graceMs` (then open connections are cut). */
  async drain(graceMs: number): Promise<{ cut: number }> {
    this.closing = true;
    // Unknown-tenant answers held by the budget go now (node:http answered them, so they are not in inFlight).
    this.app.get(UnknownTenantBudget).close();
    const server = this.app.getHttpServer() as Server;
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => {
      if (this.inFlight.size === 0) return resolve(true);
      this.onIdle = () => resolve(true);
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const drained = await idle;
    clearTimeout(timer);
    const cut = drained ? 0 : this.inFlight.size;
    // Keep-alive sockets of finished requests hold the listener open; nothing runs on them any more.
    server.closeAllConnections();
    await closed;
    return { cut };
  }

  private readonly track = (_req: Request, res: Response, next: NextFunction): void => {
    if (this.closing) res.setHeader('connection', 'close');
    this.inFlight.add(res);
    res.once('close', () => {
      this.inFlight.delete(res);
      if (this.inFlight.size === 0) this.onIdle?.();
    });
    next();
  };
}
