import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ProjectsRepository } from './projects.repository';
import { ProjectsResolver } from './projects.resolver';
import { ProjectsService } from './projects.service';

@Module({ imports: [AuditModule], providers: [ProjectsRepository, ProjectsService, ProjectsResolver], exports: [ProjectsRepository] })
export class ProjectsModule {}
