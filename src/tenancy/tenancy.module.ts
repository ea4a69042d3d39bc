import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FleetMigrator } from './fleet-migrator.service';
import { SchemaDriftService } from './schema-drift.service';
import { MigrationScaffolder } from './migration-scaffold.service';
import { TenantExporter } from './tenant-export.service';
import { TenantImporter } from './tenant-import.service';
import { TenantConnectionService } from './tenant-connection.service';
import { TenantProvisioner } from './tenant-provisioner.service';
import { TenantMiddleware } from './tenant.middleware';

@Global()
@Module({
  providers: [TenantConnectionService, TenantProvisioner, FleetMigrator, SchemaDriftService, TenantExporter, TenantImporter, MigrationScaffolder],
  exports: [TenantConnectionService, TenantProvisioner, FleetMigrator, SchemaDriftService, TenantExporter, TenantImporter, MigrationScaffolder],
})
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('graphql');
  }
}
