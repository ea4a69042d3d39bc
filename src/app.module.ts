import { DynamicModule, Module } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { AdminModule } from './admin/admin.module';
import { AuthModule } from './auth/auth.module';
import type { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ControlPlaneModule } from './control-plane/control-plane.module';
import { DatabaseModule } from './database/database.module';
import { DemoSeeder } from './demo/demo-seeder.service';
import { GraphQLModule } from './graphql/graphql.module';
import { inputValidationPipe } from './graphql/input-validation.pipe';
import { RateLimitModule } from './graphql/rate-limit.module';
import { AuditModule } from './modules/audit/audit.module';
import { ProjectsModule } from './modules/projects/projects.module';
import { TasksModule } from './modules/tasks/tasks.module';
import { UsersModule } from './modules/users/users.module';
import { ObservabilityModule } from './observability/observability.module';
import type { ObservabilityOptions } from './observability/observability-options';
import { TenancyModule } from './tenancy/tenancy.module';

@Module({})
export class AppModule {
  /** The API: GraphQL, health, metrics and the tenancy plumbing. */
  static forRoot(config: AppConfig, observability: ObservabilityOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...AppModule.core(config),
        GraphQLModule,
        RateLimitModule,
        AuthModule,
        UsersModule,
        ProjectsModule,
        TasksModule,
        AuditModule,
        ObservabilityModule.forRoot(observability),
        // The admin API exists only with a token to guard it: unset, /admin/graphql answers 404.
        ...(config.platformAdminToken ? [AdminModule] : []),
      ],
      providers: [DemoSeeder, { provide: APP_PIPE, useFactory: inputValidationPipe }],
    };
  }

  /** What the tenants CLI needs: database, control plane and tenancy, without HTTP. */
  static forOperations(config: AppConfig): DynamicModule {
    return { module: AppModule, imports: AppModule.core(config) };
  }

  private static core(config: AppConfig) {
    return [ConfigModule.forRoot(config), DatabaseModule, ControlPlaneModule, TenancyModule];
  }
}
