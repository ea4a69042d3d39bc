import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FleetMigrator } from './fleet-migrator.service';
import { SchemaDriftService } from './schema-drift.service';
import { MigrationScaffolder } from './migration-scaffold.service';
import { TenantExporter } from './tenant-export.service';
import { TenantImporter } from './tenant-import.service';
import { TenantConnectionService } from './tenant-connection.service';
import { IsolationChecker } from './isolation-check.service';
import { IsolationReporter } from './isolation-report.service';
import { TenantRoles } from './tenant-roles.service';
import { TenantProvisioner } from './tenant-provisioner.service';
import { TenantRejections } from './tenant-rejections';
import { TenantMiddleware } from './tenant.middleware';
import { UnknownTenantBudget } from './unknown-tenant-budget';
import { OperationTransactionPlugin } from './operation-transaction.plugin';

// Every tenancy service is available to the rest of the app: one list, provided and exported.
const TENANCY_SERVICES = [
  TenantRoles,
  IsolationReporter,
  IsolationChecker,
  TenantConnectionService,
  TenantProvisioner,
  FleetMigrator,
  SchemaDriftService,
  TenantExporter,
  TenantImporter,
  MigrationScaffolder,
  TenantRejections,
  UnknownTenantBudget,
  // Also a provider: bootstrap.ts puts its early rejection in front of the body parser.
  TenantMiddleware,
];

@Global()
@Module({ providers: [...TENANCY_SERVICES, OperationTransactionPlugin], exports: TENANCY_SERVICES })
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('graphql');
  }
}
