import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { ProjectsRepository } from './projects.repository';
import { ProjectsResolver } from './projects.resolver';
import { ProjectsService } from './projects.service';

@Module({
  imports: [UsersModule, AuditModule],
  providers: [ProjectsRepository, ProjectsService, ProjectsResolver],
  exports: [ProjectsRepository, ProjectsService],
})
export class ProjectsModule {}
