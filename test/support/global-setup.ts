import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

declare global {
  // eslint-disable-next-line no-var
  var __TENANTRY_STOP_DB__: (() => Promise<void>) | undefined;
}

/** DATABASE_URL when given (any PostgreSQL the tests may create databases in); otherwise one embedded cluster. */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TENANTRY_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'tenantry-test-'));
  const started = Date.now();
  const db = await startEmbeddedPostgres(dir, { persistent: false });
  process.env.TENANTRY_TEST_ADMIN_URL = db.url;
  globalThis.__TENANTRY_STOP_DB__ = db.stop;
  process.stderr.write(`\nEmbedded PostgreSQL for tests started in ${Date.now() - started} ms\n`);
}
