import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the e2e tests, from the committed schema.gql: a schema change that breaks
// an operation the tests use fails the type check.
const config: CodegenConfig = {
  schema: 'schema.gql',
  documents: ['test/**/*.graphql'],
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: 'string' } },
    },
  },
  silent: true,
};

export default config;
