import { GraphQLSchemaHost } from '@nestjs/graphql';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { startApp, type TestApp } from '../factories/app';

describe('schema.gql', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(() => api.close());

  it('matches the schema the running API serves (run `npm start` in development to refresh it)', () => {
    const served = printSchema(lexicographicSortSchema(api.app.get(GraphQLSchemaHost).schema));
    const committed = readFileSync(api.config.paths.schemaFile, 'utf8').replace(/^#.*\n/gm, '').trim();
    expect(committed).toBe(served.trim());
  });
});
