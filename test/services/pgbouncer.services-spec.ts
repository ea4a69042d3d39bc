import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { derivedRolePrefix, runtimeRoleName } from '../../src/database/database-roles';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { startApp } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { describeIsolation } from '../support/isolation-suite';
import { startPgBouncer, type PgBouncerProcess } from '../support/pgbouncer';

// Fewer server connections than the API's request pool (PG_POOL_MAX) holds client connections, so PgBouncer must
// hand one server connection to several tenants' transactions in turn: exactly what session state would break.
const SERVER_CONNECTIONS = 3;
const REQUEST_POOL = 10;

let db: TestDatabase;
let bouncer: PgBouncerProcess;
let runtimeUrl: string;

beforeAll(async () => {
  db = await newDatabase();
  // The request pool's role, made by the operator as DATABASE_RUNTIME_URL expects; PgBouncer logs in with it.
  const role = runtimeRoleName(derivedRolePrefix(db.name));
  const password = randomBytes(12).toString('hex');
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${quoteIdentifier(role)} LOGIN NOSUPERUSER NOINHERIT PASSWORD '${password}'`);
  await admin.end();
  bouncer = await startPgBouncer(db.url, { poolMode: 'transaction', defaultPoolSize: SERVER_CONNECTIONS, users: { [role]: password } });
  const url = new URL(bouncer.urlFor(db.url));
  url.username = role;
  url.password = password;
  runtimeUrl = url.toString();
});

afterAll(async () => {
  await bouncer?.stop();
  await db?.drop();
});

describe('PgBouncer in front of the request pool', () => {
  it('pools in transaction mode with fewer server connections than the API opens', async () => {
    const settings = await bouncer.settings();
    expect(settings.pool_mode).toBe('transaction');
    expect(Number(settings.default_pool_size)).toBe(SERVER_CONNECTIONS);
    expect(SERVER_CONNECTIONS).toBeLessThan(REQUEST_POOL);
  });
});

// Tenant requests go through PgBouncer; migrations, provisioning and the registry keep DATABASE_URL (direct).
describeIsolation('tenant isolation through PgBouncer in transaction mode', () =>
  startApp({ DATABASE_RUNTIME_URL: runtimeUrl, PG_POOL_MAX: String(REQUEST_POOL) }, db),
);

describe('after the isolation suite', () => {
  it('relayed the tenant transactions through PgBouncer', async () => {
    expect(await bouncer.transactions(db.name)).toBeGreaterThan(100);
  });
});
