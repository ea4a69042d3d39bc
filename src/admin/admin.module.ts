import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { GraphQLModule as NestGraphQLModule } from '@nestjs/graphql';
import { join } from 'node:path';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { hardenedApolloOptions } from '../graphql/apollo-hardening';
import { SeparateGraphqlEndpoint } from '../graphql/separate-endpoint';
import { PlatformAdminGuard } from './platform-admin.guard';
import { PlatformAdminMiddleware } from './platform-admin.middleware';
import { TenantsAdminResolver } from './tenants-admin.resolver';
import { TenantsAdminService } from './tenants-admin.service';

export const ADMIN_GRAPHQL_PATH = '/admin/graphql';
export const ADMIN_SCHEMA_FILE = 'admin-schema.gql';

/**
 * The platform admin API (tenant sign-up and lifecycle) on its own GraphQL endpoint and schema, behind
 * PLATFORM_ADMIN_TOKEN. No tenant middleware runs here: it is bound to `/graphql` only.
 */
@SeparateGraphqlEndpoint()
@Module({
  imports: [
    NestGraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...hardenedApolloOptions(config),
        path: ADMIN_GRAPHQL_PATH,
        include: [AdminModule],
        // Development boots rewrite the committed admin-schema.gql; a test fails when it is stale.
        autoSchemaFile: config.nodeEnv === 'development' ? join(config.paths.root, ADMIN_SCHEMA_FILE) : true,
      }),
    }),
  ],
  providers: [TenantsAdminResolver, TenantsAdminService, PlatformAdminGuard],
})
export class AdminModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(PlatformAdminMiddleware).forRoutes(ADMIN_GRAPHQL_PATH);
  }
}
