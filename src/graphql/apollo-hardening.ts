import type { ApolloDriverConfig } from '@nestjs/apollo';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLFormattedError } from 'graphql';
import type { AppConfig } from '../config/config';
import { formatError } from './error-formatter';
import { queryLimitRules, queryParseOptions } from './query-limits';
import { reachableTypesOnly } from './separate-endpoint';

/** The production hardening every Tenantry GraphQL endpoint shares (the tenant API's options spell out the same). */
export function hardenedApolloOptions(config: AppConfig): ApolloDriverConfig {
  const production = config.nodeEnv === 'production';
  return {
    sortSchema: true,
    transformSchema: reachableTypesOnly,
    transformAutoSchemaFile: true,
    nodeEnv: config.nodeEnv,
    // No landing page anywhere; no introspection and no "Did you mean …" hints in production.
    playground: false,
    // Nothing sets cache hints: without the default cache-control plugin no resolver is wrapped to collect them.
    plugins: [ApolloServerPluginCacheControlDisabled()],
    introspection: !production,
    hideSchemaDetailsFromClientErrors: production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    // A GET or a "simple" POST (text/plain, form) without a preflight header is refused as BAD_REQUEST.
    csrfPrevention: true,
    validationRules: queryLimitRules(),
    parseOptions: queryParseOptions,
    formatError: (formatted: GraphQLFormattedError, error: unknown) => formatError(formatted, error, production),
    context: ({ req }: { req: unknown }) => ({ req }),
  };
}
