import { Global, Inject, Module, OnModuleInit } from '@nestjs/common';
import { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { SHARED_POOL } from '../database/database-tokens';
import { IsolationCheckRepository } from './isolation-check.repository';
import { migrateControlPlane } from './control-plane-migrator';
import { ensureControlPlaneRole } from './control-plane-role';
import { MigrationLedgerRepository } from './migration-ledger.repository';
import { TenantAuditRepository } from './tenant-audit.repository';
import { TenantLifecycleService } from './tenant-lifecycle.service';
import { TenantMover } from './tenant-move.service';
import { TenantRegistryRepository } from './tenant-registry.repository';
import { TenantRegistry } from './tenant-registry.service';

@Global()
@Module({
  // TenantLifecycleService also uses TenancyModule's (global) provisioner and connection LRU.
  providers: [IsolationCheckRepository, MigrationLedgerRepository, TenantRegistryRepository, TenantAuditRepository, TenantRegistry, TenantLifecycleService, TenantMover],
  exports: [IsolationCheckRepository, MigrationLedgerRepository, TenantRegistryRepository, TenantAuditRepository, TenantRegistry, TenantLifecycleService, TenantMover],
})
export class ControlPlaneModule implements OnModuleInit {
  constructor(
    @Inject(SHARED_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // The migration lock is session state: behind a pooler it needs the direct URL.
    if (!this.config.databaseDirectUrl) await migrateControlPlane(this.pool, this.config.paths.controlMigrations);
    else {
      const direct = new Pool({ connectionString: this.config.databaseDirectUrl, max: 1, application_name: 'tenantry-migrate' });
      try {
        await migrateControlPlane(direct, this.config.paths.controlMigrations);
      } finally {
        await direct.end();
      }
    }
    // Before any repository query: they all run as this role (CONTROL_PLANE_POOL).
    await ensureControlPlaneRole(this.pool, this.config);
  }
}
