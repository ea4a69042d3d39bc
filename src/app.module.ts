import { DynamicModule, Module } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { AuthModule } from './auth/auth.module';
import type { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ControlPlaneModule } from './control-plane/control-plane.module';
import { DatabaseModule } from './database/database.module';
import { DemoSeeder } from './demo/demo-seeder.service';
import { GraphQLModule } from './graphql/graphql.module';
import { inputValidationPipe } from './graphql/input-validation.pipe';
import { ProjectsModule } from './modules/projects/projects.module';
import { UsersModule } from './modules/users/users.module';
import { HealthController } from './observability/health.controller';
import { TenancyModule } from './tenancy/tenancy.module';

@Module({})
export class AppModule {
  /** The API: GraphQL, health and the tenancy plumbing. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [...AppModule.core(config), GraphQLModule, AuthModule, UsersModule, ProjectsModule],
      controllers: [HealthController],
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
