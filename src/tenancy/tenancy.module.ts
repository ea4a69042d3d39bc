import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { FleetMigrator } from './fleet-migrator.service';
import { TenantConnectionService } from './tenant-connection.service';
import { TenantProvisioner } from './tenant-provisioner.service';
import { TenantMiddleware } from './tenant.middleware';

@Global()
@Module({
  providers: [TenantConnectionService, TenantProvisioner, FleetMigrator],
  exports: [TenantConnectionService, TenantProvisioner, FleetMigrator],
})
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('graphql');
  }
}
