import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FleetMigrator } from './fleet-migrator.service';
import { SchemaDriftService } from './schema-drift.service';
import { TenantConnectionService } from './tenant-connection.service';
import { TenantProvisioner } from './tenant-provisioner.service';
import { TenantRejections } from './tenant-rejections';
import { TenantMiddleware } from './tenant.middleware';

@Global()
@Module({
  providers: [TenantConnectionService, TenantProvisioner, FleetMigrator, SchemaDriftService, TenantRejections],
  exports: [TenantConnectionService, TenantProvisioner, FleetMigrator, SchemaDriftService, TenantRejections],
})
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('graphql');
  }
}
