import { Injectable } from '@nestjs/common';
import { badUserInput } from '../../graphql/app-error';
import { decodeSortCursor, OrderDirection, sortCursor, type Sort, type SortColumn } from '../../graphql/ordering';
import { decodeCursor, DEFAULT_PAGE_SIZE, isUuid, toConnection, toConnectionBy, type Connection } from '../../graphql/pagination';
import { byKeys, requestLoader } from '../../graphql/request-loaders';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { AuditService } from '../audit/audit.service';
import { ProjectStatus } from '../projects/models/project.model';
import { ProjectsError, ProjectsErrorCode } from '../projects/projects.errors';
import type { ProjectRecord } from '../projects/projects.repository';
import { ProjectsService } from '../projects/projects.service';
import { UserStatus } from '../users/models/user.model';
import { UserLoaderService } from '../users/user-loader.service';
import { parseDay } from './dto/due-date.util';
import type { CreateTaskInput } from './dto/create-task.input';
import type { TaskFilter } from './dto/task-filter.input';
import { TaskOrderField, type TaskOrder } from './dto/task-order.input';
import type { UpdateTaskInput } from './dto/update-task.input';
import { TaskStatus } from './models/task.model';
import { TasksError, TasksErrorCode } from './tasks.errors';
import { TasksRepository, type TaskData, type TaskRecord } from './tasks.repository';

const SORT_COLUMNS: Record<TaskOrderField, SortColumn> = {
  CREATED_AT: { column: 'createdAt', kind: 'date' },
  UPDATED_AT: { column: 'updatedAt', kind: 'date' },
  DUE_DATE: { column: 'dueDate', kind: 'date', nullable: true },
  TITLE: { column: 'title', kind: 'string' },
};

export interface TaskListArgs {
  first?: number | null;
  after?: string | null;
  filter?: TaskFilter | null;
  orderBy?: TaskOrder | null;
}

@Injectable()
export class TasksService {
  constructor(
    private readonly tasks: TasksRepository,
    private readonly projects: ProjectsService,
    private readonly users: UserLoaderService,
    private readonly audit: AuditService,
  ) {}

  async list({ first, after, filter, orderBy }: TaskListArgs): Promise<Connection<TaskRecord>> {
    const size = first ?? DEFAULT_PAGE_SIZE;
    const field = orderBy?.field ?? TaskOrderField.CREATED_AT;
    const sort: Sort = { name: field, spec: SORT_COLUMNS[field], direction: orderBy?.direction ?? OrderDirection.DESC };
    const key = after == null ? undefined : decodeSortCursor(sort, after);
    const where = { projectId: filter?.projectId ?? undefined, status: filter?.status ?? undefined, assigneeId: filter?.assigneeId ?? undefined };
    // A malformed id matches nothing, exactly like an absent or foreign one.
    if ((where.projectId !== undefined && !isUuid(where.projectId)) || (where.assigneeId !== undefined && !isUuid(where.assigneeId))) {
      return toConnectionBy([], size, after ?? undefined, 0, (row: TaskRecord) => sortCursor(sort, row));
    }
    const rows = await this.tasks.list(where, sort, size + 1, key);
    return toConnectionBy(rows, size, after ?? undefined, () => this.tasks.count(where), (row) => sortCursor(sort, row));
  }

  /** A page of one project's tasks, newest first; every project of a response shares one query per page shape. */
  async ofProject(projectId: string, first?: number | null, after?: string | null): Promise<Connection<TaskRecord>> {
    const size = first ?? DEFAULT_PAGE_SIZE;
    const key = after == null ? undefined : decodeCursor(after);
    const pages = requestLoader<string, TaskRecord[]>(`tasks.ofProject:${size}:${after ?? ''}`, async (ids) => {
      const found = await this.tasks.listPerProject(ids, size + 1, key);
      return ids.map((id) => found.get(id) ?? []);
    });
    const counts = requestLoader<string, number>('tasks.countOfProject', async (ids) => {
      const found = await this.tasks.countPerProject(ids);
      return ids.map((id) => found.get(id) ?? 0);
    });
    return toConnection(await pages.load(projectId), size, after ?? undefined, () => counts.load(projectId));
  }

  /** Absent, malformed and other tenants' ids all read as null. */
  get(id: string): Promise<TaskRecord | null> {
    return isUuid(id) ? this.loader().load(id) : Promise.resolve(null);
  }

  /** Only the project's owner or an admin; the project must be ACTIVE and the assignee an ACTIVE user. */
  async create(user: AuthenticatedUser, input: CreateTaskInput): Promise<TaskRecord> {
    const project = await this.projects.requireEditable(user, input.projectId);
    requireActive(project);
    if (input.assigneeId != null) await this.requireAssignable(input.assigneeId);
    const task = await this.tasks.create({
      projectId: project.id,
      title: input.title.trim(),
      description: input.description ?? null,
      status: input.status ?? TaskStatus.TODO,
      dueDate: input.dueDate == null ? null : parseDay(input.dueDate),
      assigneeId: input.assigneeId ?? null,
    });
    await this.audit.record({ action: 'task.create', entityType: 'Task', entityId: task.id, after: task });
    return task;
  }

  /** The project's owner, an admin, or the task's assignee; not in an archived project. */
  async update(user: AuthenticatedUser, id: string, input: UpdateTaskInput): Promise<TaskRecord> {
    const nulls = Object.fromEntries((['title', 'status'] as const).filter((field) => input[field] === null).map((field) => [field, 'cannot be null']));
    if (Object.keys(nulls).length > 0) throw badUserInput('Invalid task', nulls);
    const task = await this.get(id);
    if (!task) throw new TasksError(TasksErrorCode.TASK_NOT_FOUND);
    const project = await this.projects.get(task.projectId);
    if (!project) throw new TasksError(TasksErrorCode.TASK_NOT_FOUND);
    if (project.ownerId !== user.id && user.role !== 'ADMIN' && task.assigneeId !== user.id) {
      throw new TasksError(TasksErrorCode.TASK_NOT_EDITABLE);
    }
    requireActive(project);
    if (input.assigneeId != null) await this.requireAssignable(input.assigneeId);
    const data: TaskData = {
      title: input.title?.trim(),
      description: input.description,
      status: input.status ?? undefined,
      dueDate: input.dueDate === undefined ? undefined : input.dueDate === null ? null : parseDay(input.dueDate),
      assigneeId: input.assigneeId,
    };
    const updated = await this.tasks.update(id, data);
    if (!updated) throw new TasksError(TasksErrorCode.TASK_NOT_FOUND);
    this.loader().clear(id).prime(id, updated);
    await this.audit.record({ action: 'task.update', entityType: 'Task', entityId: id, before: task, after: updated });
    return updated;
  }

  /** Only the project's owner or an admin. */
  async delete(user: AuthenticatedUser, id: string): Promise<boolean> {
    const task = await this.get(id);
    if (!task) throw new TasksError(TasksErrorCode.TASK_NOT_FOUND);
    await this.projects.requireEditable(user, task.projectId);
    if (!(await this.tasks.delete(id))) throw new TasksError(TasksErrorCode.TASK_NOT_FOUND);
    this.loader().clear(id);
    await this.audit.record({ action: 'task.delete', entityType: 'Task', entityId: id, before: task });
    return true;
  }

  // Unknown, malformed and other tenants' user ids are NOT_FOUND alike; a deactivated user of this tenant is bad input.
  private async requireAssignable(assigneeId: string): Promise<void> {
    const assignee = isUuid(assigneeId) ? await this.users.load(assigneeId) : null;
    if (!assignee) throw new TasksError(TasksErrorCode.ASSIGNEE_NOT_FOUND);
    if (assignee.status !== UserStatus.ACTIVE) throw badUserInput('Invalid task', { assigneeId: 'is not an active user' });
  }

  private loader() {
    return requestLoader<string, TaskRecord | null>('tasks.byId', async (ids) => byKeys(ids, await this.tasks.listByIds(ids), (t) => t.id));
  }
}

function requireActive(project: ProjectRecord): void {
  if (project.status !== ProjectStatus.ACTIVE) throw new ProjectsError(ProjectsErrorCode.PROJECT_ARCHIVED);
}
