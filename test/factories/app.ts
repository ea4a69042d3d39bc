import type { INestApplication } from '@nestjs/common';
import { createApp } from '../../src/bootstrap';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { newDatabase, type TestDatabase } from './database';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export interface TestApp {
  app: INestApplication;
  config: AppConfig;
  db: TestDatabase;
  /** `http://127.0.0.1:<port>` */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

/** The whole API on a random port over its own fresh database; `env` overrides configuration variables. */
export async function startApp(env: Record<string, string> = {}, db?: TestDatabase): Promise<TestApp> {
  const database = db ?? (await newDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    ...env,
  });
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as { port: number }).port;
  return {
    app,
    config,
    db: database,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      if (!db) await database.drop();
    },
  };
}
