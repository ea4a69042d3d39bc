import { Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository';
import { AuditResolver } from './audit.resolver';
import { AuditService } from './audit.service';

/** Import it to call AuditService.record from a service. */
@Module({ providers: [AuditRepository, AuditService, AuditResolver], exports: [AuditService] })
export class AuditModule {}
