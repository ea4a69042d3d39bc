import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError } from 'graphql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { formatError } from './error-formatter';
import { queryLimitRules, queryParseOptions } from './query-limits';
import { reachableTypesOnly, tenantApiModules } from './separate-endpoint';

@Module({
  imports: [
    NestGraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [APP_CONFIG, ModulesContainer],
      useFactory: (config: AppConfig, modules: ModulesContainer) => ({
        path: '/graphql',
        // The admin API's resolvers are served on /admin/graphql only.
        include: tenantApiModules(modules),
        transformSchema: reachableTypesOnly,
        transformAutoSchemaFile: true,
        // Development boots rewrite the committed schema.gql; a test fails when it is stale.
        autoSchemaFile: config.nodeEnv === 'development' ? config.paths.schemaFile : true,
        sortSchema: true,
        nodeEnv: config.nodeEnv,
        // No landing page in any environment; no introspection and no "Did you mean …" hints in production.
        playground: false,
        // Nothing sets cache hints: without the default cache-control plugin no resolver is wrapped to collect them.
        plugins: [ApolloServerPluginCacheControlDisabled()],
        introspection: config.nodeEnv !== 'production',
        hideSchemaDetailsFromClientErrors: config.nodeEnv === 'production',
        includeStacktraceInErrorResponses: false,
        allowBatchedHttpRequests: false,
        // A GET or a "simple" POST (text/plain, form) without a preflight header is refused as BAD_REQUEST.
        csrfPrevention: true,
        // Depth, aliases and cost as validation rules; tokens in the parser. All answer QUERY_TOO_COMPLEX.
        validationRules: queryLimitRules(),
        parseOptions: queryParseOptions,
        formatError: (formatted: GraphQLFormattedError, error: unknown) => formatError(formatted, error, config.nodeEnv === 'production'),
        context: ({ req }: { req: unknown }) => ({ req }),
      }),
    }),
  ],
})
export class GraphQLModule {}
