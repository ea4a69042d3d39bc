import { Args, ID, Mutation, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../../auth/current-user.decorator';
import type { Connection } from '../../graphql/pagination';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { Project } from '../projects/models/project.model';
import { ProjectsService } from '../projects/projects.service';
import { User } from '../users/models/user.model';
import { UserLoaderService } from '../users/user-loader.service';
import { CreateTaskInput } from './dto/create-task.input';
import { formatDay } from './dto/due-date.util';
import { TasksArgs } from './dto/tasks.args';
import { UpdateTaskInput } from './dto/update-task.input';
import { Task, TaskConnection } from './models/task.model';
import type { TaskRecord } from './tasks.repository';
import { TasksService } from './tasks.service';

@Resolver(() => Task)
export class TasksResolver {
  constructor(
    private readonly service: TasksService,
    private readonly projects: ProjectsService,
    private readonly users: UserLoaderService,
  ) {}

  @Query(() => TaskConnection, { description: 'Tasks of the tenant, newest first unless orderBy says otherwise.' })
  tasks(@Args() args: TasksArgs): Promise<Connection<Task>> {
    return this.service.list(args);
  }

  @Query(() => Task, { nullable: true, description: 'Null when absent, malformed, or not in this tenant.' })
  task(@Args('id', { type: () => ID }) id: string): Promise<Task | null> {
    return this.service.get(id);
  }

  @Mutation(() => Task, { description: "The project's owner or ADMIN; the project must be ACTIVE, the assignee an ACTIVE user." })
  createTask(@CurrentUser() user: AuthenticatedUser, @Args('input') input: CreateTaskInput): Promise<Task> {
    return this.service.create(user, input);
  }

  @Mutation(() => Task, { description: "The project's owner, ADMIN, or the task's assignee; not in an archived project." })
  updateTask(
    @CurrentUser() user: AuthenticatedUser,
    @Args('id', { type: () => ID }) id: string,
    @Args('input') input: UpdateTaskInput,
  ): Promise<Task> {
    return this.service.update(user, id, input);
  }

  @Mutation(() => Boolean, { description: "The project's owner or ADMIN. NOT_FOUND when absent or not in this tenant." })
  deleteTask(@CurrentUser() user: AuthenticatedUser, @Args('id', { type: () => ID }) id: string): Promise<boolean> {
    return this.service.delete(user, id);
  }

  // Field resolvers take no parameter decorators: Nest calls them with GraphQL's arguments, skipping its context creator.
  @ResolveField(() => String, { nullable: true, description: 'A calendar date, YYYY-MM-DD.' })
  dueDate(task: TaskRecord): string | null {
    return task.dueDate && formatDay(task.dueDate);
  }

  @ResolveField(() => Project)
  async project(task: TaskRecord): Promise<Project> {
    // The foreign key (ON DELETE CASCADE) keeps a task's project; a missing row would be a bug.
    const project = await this.projects.get(task.projectId);
    if (!project) throw new Error(`Task ${task.id} has no project row`);
    return project;
  }

  @ResolveField(() => User, { nullable: true })
  assignee(task: TaskRecord): Promise<User | null> {
    return task.assigneeId ? this.users.load(task.assigneeId) : Promise.resolve(null);
  }
}
