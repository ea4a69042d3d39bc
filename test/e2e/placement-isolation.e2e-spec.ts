import { PRIMARY_DATABASE } from '../../src/config/config';
import { startApp } from '../factories/app';
import { describeIsolation } from '../support/isolation-suite';
import { SECOND_DATABASE, startSecondDatabase, type SecondDatabase } from '../support/second-database';

// Tenant A on the primary, tenant B on a second PostgreSQL server: the whole cross-tenant suite still holds.
let second: SecondDatabase;

beforeAll(async () => {
  second = await startSecondDatabase();
}, 120_000);
afterAll(() => second?.destroy());

describeIsolation('tenant isolation across two databases', () => startApp(second.env), { a: PRIMARY_DATABASE, b: SECOND_DATABASE });
