import { Args, ID, Info, Mutation, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { CurrentUser } from '../../auth/current-user.decorator';
import type { Connection } from '../../graphql/pagination';
import { selects } from '../../graphql/selection.util';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { User } from '../users/models/user.model';
import { UserLoaderService } from '../users/user-loader.service';
import { CreateProjectInput } from './dto/create-project.input';
import { ProjectsArgs } from './dto/projects.args';
import { UpdateProjectInput } from './dto/update-project.input';
import { Project, ProjectConnection } from './models/project.model';
import type { ProjectRecord } from './projects.repository';
import { ProjectsService } from './projects.service';

@Resolver(() => Project)
export class ProjectsResolver {
  constructor(
    private readonly service: ProjectsService,
    private readonly users: UserLoaderService,
  ) {}

  @Query(() => ProjectConnection, { description: 'Projects of the tenant, newest first unless orderBy says otherwise.' })
  projects(@Args() args: ProjectsArgs, @Info() info: GraphQLResolveInfo): Promise<Connection<Project>> {
    return this.service.list(args, { withOwners: selects(info, ['edges', 'node', 'owner']) });
  }

  @Query(() => Project, { nullable: true, description: 'Null when absent, malformed, or not in this tenant.' })
  project(@Args('id', { type: () => ID }) id: string): Promise<Project | null> {
    return this.service.get(id);
  }

  @Mutation(() => Project, { description: 'CONFLICT when the name is taken; PLAN_LIMIT_REACHED past the plan\'s active projects.' })
  createProject(@CurrentUser() user: AuthenticatedUser, @Args('input') input: CreateProjectInput): Promise<Project> {
    return this.service.create(user, input);
  }

  @Mutation(() => Project, { description: 'Owner or ADMIN. CONFLICT when the new name is taken.' })
  updateProject(
    @CurrentUser() user: AuthenticatedUser,
    @Args('id', { type: () => ID }) id: string,
    @Args('input') input: UpdateProjectInput,
  ): Promise<Project> {
    return this.service.update(user, id, input);
  }

  @Mutation(() => Project, { description: 'Owner or ADMIN. An archived project takes no new tasks and frees a plan slot.' })
  archiveProject(@CurrentUser() user: AuthenticatedUser, @Args('id', { type: () => ID }) id: string): Promise<Project> {
    return this.service.archive(user, id);
  }

  @Mutation(() => Boolean, { description: 'Owner or ADMIN; deletes its tasks too. NOT_FOUND when absent or not in this tenant.' })
  deleteProject(@CurrentUser() user: AuthenticatedUser, @Args('id', { type: () => ID }) id: string): Promise<boolean> {
    return this.service.delete(user, id);
  }

  // No parameter decorators on field resolvers: Nest then calls them with GraphQL's (parent, args, context, info)
  // directly, not through its per-call context creator (P1: 20 owners a page; see README "Performance").
  @ResolveField(() => User)
  owner(project: ProjectRecord): User | Promise<User> {
    return project.owner ?? this.loadOwner(project);
  }

  private async loadOwner(project: ProjectRecord): Promise<User> {
    // The foreign key keeps owners from disappearing; a missing row would be a bug, not a client error.
    const owner = await this.users.load(project.ownerId);
    if (!owner) throw new Error(`Project ${project.id} has no owner row`);
    return owner;
  }
}
