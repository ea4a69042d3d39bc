import { Logger, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { AppModule } from './app.module';
import type { AppConfig, LogLevel } from './config/config';
import { startEmbeddedPostgres } from './database/embedded-postgres';
import { ErrorCode, graphqlErrorBody, httpStatusFor } from './graphql/app-error';
import { createRootLogger, PinoLoggerService } from './observability/logger';
import type { ObservabilityOptions } from './observability/observability-options';
import { TenantMiddleware } from './tenancy/tenant.middleware';

// 100 KiB: a 10,000-character description still fits even when every character is JSON-escaped (60 KB).
export const MAX_BODY_BYTES = 100 * 1024;

export interface Runtime {
  config: AppConfig & { databaseUrl: string };
  /** Stops what this process started (the embedded PostgreSQL, if it owns it). */
  stop(): Promise<void>;
}

/** Resolves the database: DATABASE_URL when set, otherwise the embedded PostgreSQL shared through `.data/`. */
export async function resolveRuntime(
  config: AppConfig,
  log: (message: string) => void = (message) => new Logger('Database').log(message),
): Promise<Runtime> {
  if (config.databaseUrl) return { config: { ...config, databaseUrl: config.databaseUrl }, stop: async () => undefined };
  const embedded = await startEmbeddedPostgres(config.paths.dataDir);
  log(embedded.owned ? `Started embedded PostgreSQL in ${config.paths.dataDir}` : 'Reusing the running embedded PostgreSQL');
  return { config: { ...config, databaseUrl: embedded.url }, stop: () => embedded.stop() };
}

export function nestLogLevels(level: LogLevel): NestLogLevel[] {
  const order: NestLogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  const upto = { error: 'error', warn: 'warn', info: 'log', debug: 'verbose' } as const;
  return order.slice(0, order.indexOf(upto[level]) + 1);
}

/** Nest's logger for this process: JSON lines from pino at LOG_LEVEL (tests may pass a destination). */
export function createLogger(config: AppConfig, options: ObservabilityOptions = {}): PinoLoggerService {
  return new PinoLoggerService(createRootLogger(config.logLevel, options.logDestination));
}

export interface AppOptions extends ObservabilityOptions {
  /** A logger made earlier by createLogger (main.ts logs before the app exists). */
  logger?: PinoLoggerService;
}

/** Builds the HTTP API (not yet listening). Used by main.ts and by the e2e tests. */
export async function createApp(config: AppConfig, options: AppOptions = {}): Promise<NestExpressApplication> {
  const { logger, ...observability } = options;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, observability), {
    bodyParser: false,
    logger: logger ?? createLogger(config, observability),
  });
  // The client address login throttling keys on: behind a load balancer, every client would otherwise share its address.
  if (config.trustProxyHops > 0) app.set('trust proxy', config.trustProxyHops);
  // No ETag: every answer is a POST's, never revalidated, and hashing each body costs CPU on every request.
  app.set('etag', false);
  answerUnknownTenantsFirst(app.getHttpServer() as Server, app.get(TenantMiddleware));
  app.use(express.json({ limit: MAX_BODY_BYTES }));
  app.use(bodyErrors);
  return app;
}

// Express's path matching: case-insensitive, a prefix up to a '/' (what app.use('/graphql') and Nest's route see).
const GRAPHQL_PATH = /^\/graphql(?:[/?#]|$)/i;

/**
 * Requests naming a tenant that certainly does not exist are answered by node:http itself, before Express routes them
 * or their body is read (R3: a flood of unknown tenants must cost the real ones as little as it can); Express costs
 * several times node:http per request. Every other request goes on to Express, and to TenantMiddleware.use.
 */
function answerUnknownTenantsFirst(server: Server, tenants: TenantMiddleware): void {
  const listeners = server.listeners('request') as RequestListener[];
  if (listeners.length !== 1) throw new Error(`Expected Express as the only request listener, found ${listeners.length}`);
  const [expressApp] = listeners;
  server.removeListener('request', expressApp);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (GRAPHQL_PATH.test(req.url ?? '') && tenants.answerIfCertainlyUnknown(req, res)) return;
    expressApp(req, res);
  });
}

// Body-parser failures still answer in GraphQL's shape: too large → PAYLOAD_TOO_LARGE, unparsable → BAD_REQUEST.
function bodyErrors(error: { type?: string; status?: number } | undefined, _req: Request, res: Response, next: NextFunction): void {
  if (!error) return next();
  const code = error.type === 'entity.too.large' ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.BAD_REQUEST;
  const message = code === ErrorCode.PAYLOAD_TOO_LARGE ? `Request body exceeds ${MAX_BODY_BYTES} bytes` : 'Malformed request body';
  res.status(httpStatusFor(code)).json(graphqlErrorBody(code, message));
}
