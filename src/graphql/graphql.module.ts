import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { formatError } from './error-formatter';

@Module({
  imports: [
    NestGraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        path: '/graphql',
        // Development boots rewrite the committed schema.gql; a test fails when it is stale.
        autoSchemaFile: config.nodeEnv === 'development' ? config.paths.schemaFile : true,
        sortSchema: true,
        playground: false,
        introspection: config.nodeEnv !== 'production',
        includeStacktraceInErrorResponses: false,
        allowBatchedHttpRequests: false,
        formatError,
        context: ({ req }: { req: unknown }) => ({ req }),
      }),
    }),
  ],
})
export class GraphQLModule {}
