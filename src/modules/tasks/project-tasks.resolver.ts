import { Args, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { PageArgs, type Connection } from '../../graphql/pagination';
import { Project } from '../projects/models/project.model';
import type { ProjectRecord } from '../projects/projects.repository';
import { Task, TaskConnection } from './models/task.model';
import { TasksService } from './tasks.service';

// Project.tasks lives with tasks, so the projects module does not depend on this one.
@Resolver(() => Project)
export class ProjectTasksResolver {
  constructor(private readonly service: TasksService) {}

  @ResolveField(() => TaskConnection, { description: "The project's tasks, newest first." })
  tasks(@Parent() project: ProjectRecord, @Args() { first, after }: PageArgs): Promise<Connection<Task>> {
    return this.service.ofProject(project.id, first, after);
  }
}
