import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, createLogger, resolveRuntime } from './bootstrap';
import { ConfigError, loadConfig } from './config/config';
import { DemoSeeder } from './demo/demo-seeder.service';
import { HttpDrain } from './http-drain';

// Requests still running this long after SIGTERM are cut (a Kubernetes pod gets 30 s by default).
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  const loaded = loadConfig();
  // JSON lines from the first message on, including the embedded database's.
  const pinoLogger = createLogger(loaded);
  Logger.overrideLogger(pinoLogger);
  const logger = new Logger('Tenantry');
  const runtime = await resolveRuntime(loaded);
  const { config } = runtime;
  if (config.jwt.secretGenerated) {
    logger.warn('JWT_SECRET is not set: using a random secret, so tokens die with this process');
  }
  const app = await createApp(config, { logger: pinoLogger });
  const http = new HttpDrain(app);
  // Stop accepting and finish the requests in flight, then close the app (Apollo, the pool), then the embedded
  // database if this process started it.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal}: shutting down`);
      void http
        .drain(SHUTDOWN_GRACE_MS)
        .then(({ cut }) => logger.log(cut === 0 ? 'Requests in flight finished' : `Cut ${cut} request(s) still running after ${SHUTDOWN_GRACE_MS} ms`))
        .then(() => app.close())
        .then(() => runtime.stop())
        .then(() => process.exit(0), () => process.exit(1));
    });
  }
  await app.listen(config.port);
  logger.log(`GraphQL API on http://localhost:${config.port}/graphql (tenants: <id>.${config.baseDomain} or x-tenant-id)`);
  if (config.seedDemo) {
    const seeder = app.get(DemoSeeder);
    await seeder.seedIfEmpty();
    logger.log('Demo tenants acme and globex are ready');
    // For a human at a terminal, not a log line: plain text on stderr, so it stays copy-pasteable.
    process.stderr.write(`Try:\n\n${seeder.tryItCommand()}\n\n`);
  }
}

main().catch((error: unknown) => {
  // eslint-disable-next-line no-console
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
