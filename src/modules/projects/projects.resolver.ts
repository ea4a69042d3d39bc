import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../../auth/current-user.decorator';
import { PageArgs, type Connection } from '../../graphql/pagination';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { CreateProjectInput } from './dto/create-project.input';
import { UpdateProjectInput } from './dto/update-project.input';
import { Project, ProjectConnection } from './models/project.model';
import { ProjectsService } from './projects.service';

@Resolver(() => Project)
export class ProjectsResolver {
  constructor(private readonly service: ProjectsService) {}

  @Query(() => ProjectConnection, { description: 'Projects of the tenant, newest first.' })
  projects(@Args() { first, after }: PageArgs): Promise<Connection<Project>> {
    return this.service.list(first ?? undefined, after);
  }

  @Query(() => Project, { nullable: true, description: 'Null when absent, malformed, or not in this tenant.' })
  project(@Args('id', { type: () => ID }) id: string): Promise<Project | null> {
    return this.service.get(id);
  }

  @Mutation(() => Project)
  createProject(@CurrentUser() user: AuthenticatedUser, @Args('input') input: CreateProjectInput): Promise<Project> {
    return this.service.create(user, input);
  }

  @Mutation(() => Project)
  updateProject(
    @CurrentUser() user: AuthenticatedUser,
    @Args('id', { type: () => ID }) id: string,
    @Args('input') input: UpdateProjectInput,
  ): Promise<Project> {
    return this.service.update(user, id, input);
  }

  @Mutation(() => Boolean, { description: 'NOT_FOUND when absent or not in this tenant.' })
  deleteProject(@CurrentUser() user: AuthenticatedUser, @Args('id', { type: () => ID }) id: string): Promise<boolean> {
    return this.service.delete(user, id);
  }
}
