import { GraphQLSchemaHost } from '@nestjs/graphql';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_SCHEMA_FILE } from '../../src/admin/admin.module';
import { TEST_ADMIN_TOKEN } from '../factories/admin';
import { startApp, type TestApp } from '../factories/app';

describe('admin-schema.gql', () => {
  let api: TestApp;

  const committed = (file: string) => readFileSync(join(api.config.paths.root, file), 'utf8').replace(/^#.*\n/gm, '').trim();

  beforeAll(async () => {
    api = await startApp({ PLATFORM_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
  });
  afterAll(() => api.close());

  it('and schema.gql are exactly the two schemas served with the admin API on (refresh: `npm start` in development with PLATFORM_ADMIN_TOKEN)', () => {
    const hosts = api.app.get(GraphQLSchemaHost, { each: true });
    const served = hosts.map((host) => printSchema(lexicographicSortSchema(host.schema)).trim());
    expect(served.sort()).toEqual([committed(ADMIN_SCHEMA_FILE), committed('schema.gql')].sort());
  });
});
