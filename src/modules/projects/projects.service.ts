import { Injectable } from '@nestjs/common';
import { badUserInput } from '../../graphql/app-error';
import { decodeSortCursor, OrderDirection, sortCursor, type Sort, type SortColumn } from '../../graphql/ordering';
import { DEFAULT_PAGE_SIZE, isUuid, toConnectionBy, type Connection } from '../../graphql/pagination';
import { byKeys, requestLoader } from '../../graphql/request-loaders';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { AuditService } from '../audit/audit.service';
import { UserLoaderService } from '../users/user-loader.service';
import { LimitedResource } from '../plans/plan-limits.errors';
import { requireRoomFor } from '../plans/plan-limits.util';
import type { CreateProjectInput } from './dto/create-project.input';
import type { ProjectFilter } from './dto/project-filter.input';
import { ProjectOrderField, type ProjectOrder } from './dto/project-order.input';
import type { UpdateProjectInput } from './dto/update-project.input';
import { ProjectStatus } from './models/project.model';
import { ProjectsError, ProjectsErrorCode } from './projects.errors';
import { ProjectsRepository, type ProjectRecord } from './projects.repository';

const SORT_COLUMNS: Record<ProjectOrderField, SortColumn> = {
  NAME: { column: 'name', kind: 'string' },
  CREATED_AT: { column: 'createdAt', kind: 'date' },
  UPDATED_AT: { column: 'updatedAt', kind: 'date' },
};

export interface ProjectListArgs {
  first?: number | null;
  after?: string | null;
  filter?: ProjectFilter | null;
  orderBy?: ProjectOrder | null;
}

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly audit: AuditService,
    private readonly users: UserLoaderService,
  ) {}

  /** With `withOwners` (the client selected them), each project comes with its owner and its field resolver reads no more. */
  async list({ first, after, filter, orderBy }: ProjectListArgs, { withOwners = false } = {}): Promise<Connection<ProjectRecord>> {
    const size = first ?? DEFAULT_PAGE_SIZE;
    const field = orderBy?.field ?? ProjectOrderField.CREATED_AT;
    const sort: Sort = { name: field, spec: SORT_COLUMNS[field], direction: orderBy?.direction ?? OrderDirection.DESC };
    const key = after == null ? undefined : decodeSortCursor(sort, after);
    const where = { status: filter?.status ?? undefined, nameContains: filter?.nameContains?.trim() || undefined };
    let rows: ProjectRecord[];
    if (withOwners) {
      rows = await this.projects.listWithOwners(where, sort, size + 1, key);
      this.users.prime(rows.map((row) => row.owner!));
    } else {
      rows = await this.projects.list(where, sort, size + 1, key);
    }
    // Tasks of this page resolve their project without another query.
    for (const row of rows) this.loader().prime(row.id, row);
    return toConnectionBy(rows, size, after ?? undefined, () => this.projects.count(where), (row) => sortCursor(sort, row));
  }

  /** Absent, malformed and other tenants' ids all read as null. */
  get(id: string): Promise<ProjectRecord | null> {
    return isUuid(id) ? this.loader().load(id) : Promise.resolve(null);
  }

  async create(user: AuthenticatedUser, input: CreateProjectInput): Promise<ProjectRecord> {
    // Archived projects free their slot. Check-then-insert: concurrent creates may overshoot the limit by a few; an
    // interactive transaction would close that gap but holds a pooled connection across round trips under load.
    await requireRoomFor(LimitedResource.PROJECTS, () => this.projects.count({ status: ProjectStatus.ACTIVE }));
    const project = await this.projects.create({ name: input.name.trim(), description: input.description ?? null, ownerId: user.id });
    await this.audit.record({ action: 'project.create', entityType: 'Project', entityId: project.id, after: project });
    return project;
  }

  async update(user: AuthenticatedUser, id: string, input: UpdateProjectInput): Promise<ProjectRecord> {
    if (input.name === null) throw badUserInput('Invalid project', { name: 'cannot be null' });
    const before = await this.requireEditable(user, id);
    const updated = this.changed(await this.projects.update(id, { name: input.name?.trim(), description: input.description }));
    await this.audit.record({ action: 'project.update', entityType: 'Project', entityId: id, before, after: updated });
    return updated;
  }

  /** Archiving an archived project changes nothing and succeeds. */
  async archive(user: AuthenticatedUser, id: string): Promise<ProjectRecord> {
    const before = await this.requireEditable(user, id);
    const archived = this.changed(await this.projects.update(id, { status: ProjectStatus.ARCHIVED }));
    if (before.status !== archived.status) {
      await this.audit.record({ action: 'project.archive', entityType: 'Project', entityId: id, before, after: archived });
    }
    return archived;
  }

  async delete(user: AuthenticatedUser, id: string): Promise<boolean> {
    const before = await this.requireEditable(user, id);
    if (!(await this.projects.delete(id))) throw new ProjectsError(ProjectsErrorCode.PROJECT_NOT_FOUND);
    this.loader().clear(id);
    await this.audit.record({ action: 'project.delete', entityType: 'Project', entityId: id, before });
    return true;
  }

  /** Owners and admins may change a project and its tasks; anyone else in the tenant gets FORBIDDEN. */
  async requireEditable(user: AuthenticatedUser, id: string): Promise<ProjectRecord> {
    const project = await this.get(id);
    if (!project) throw new ProjectsError(ProjectsErrorCode.PROJECT_NOT_FOUND);
    if (project.ownerId !== user.id && user.role !== 'ADMIN') throw new ProjectsError(ProjectsErrorCode.PROJECT_NOT_EDITABLE);
    return project;
  }

  private changed(project: ProjectRecord | null): ProjectRecord {
    if (!project) throw new ProjectsError(ProjectsErrorCode.PROJECT_NOT_FOUND);
    this.loader().clear(project.id).prime(project.id, project);
    return project;
  }

  // Projects by id, batched and cached per request.
  private loader() {
    return requestLoader<string, ProjectRecord | null>('projects.byId', async (ids) => byKeys(ids, await this.projects.listByIds(ids), (p) => p.id));
  }
}
