import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ProjectsModule } from '../projects/projects.module';
import { UsersModule } from '../users/users.module';
import { ProjectTasksResolver } from './project-tasks.resolver';
import { TasksRepository } from './tasks.repository';
import { TasksResolver } from './tasks.resolver';
import { TasksService } from './tasks.service';

@Module({
  imports: [ProjectsModule, UsersModule, AuditModule],
  providers: [TasksRepository, TasksService, TasksResolver, ProjectTasksResolver],
})
export class TasksModule {}
