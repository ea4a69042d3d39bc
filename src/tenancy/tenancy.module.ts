import { Global, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { TenantConnectionService } from './tenant-connection.service';
import { TenantProvisioner } from './tenant-provisioner.service';
import { TenantMiddleware } from './tenant.middleware';

@Global()
@Module({
  providers: [TenantConnectionService, TenantProvisioner],
  exports: [TenantConnectionService, TenantProvisioner],
})
export class TenancyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(TenantMiddleware).forRoutes('graphql');
  }
}
