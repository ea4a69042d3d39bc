import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { ProjectsRepository } from './projects.repository';
import { ProjectsResolver } from './projects.resolver';
import { ProjectsService } from './projects.service';

@Module({
  imports: [UsersModule],
  providers: [ProjectsRepository, ProjectsService, ProjectsResolver],
  exports: [ProjectsRepository, ProjectsService],
})
export class ProjectsModule {}
