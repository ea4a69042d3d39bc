import { Injectable } from '@nestjs/common';
import { afterKeyOf, orderByOf, type Sort, type SortKey } from '../../graphql/ordering';
import type { Keyset } from '../../graphql/pagination';
import { TenantConnectionService } from '../../tenancy/tenant-connection.service';
import type { Task, TaskStatus } from './models/task.model';

export interface TaskRecord extends Task {
  dueDate: Date | null;
  projectId: string;
  assigneeId: string | null;
}

export interface TaskListFilter {
  projectId?: string;
  status?: TaskStatus;
  assigneeId?: string;
}

export interface TaskData {
  title?: string;
  description?: string | null;
  status?: TaskStatus;
  dueDate?: Date | null;
  assigneeId?: string | null;
}

const SELECT = {
  id: true,
  title: true,
  description: true,
  status: true,
  dueDate: true,
  projectId: true,
  assigneeId: true,
  createdAt: true,
  updatedAt: true,
} as const;

type Row = Omit<TaskRecord, 'status'> & { status: string };

function toRecord(row: Row): TaskRecord {
  return { ...row, status: row.status as TaskStatus };
}

// Newest first, like every connection without an explicit order.
const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/** Tasks of the current tenant. The only code that touches Prisma for tasks. */
@Injectable()
export class TasksRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  async list(filter: TaskListFilter, sort: Sort, take: number, after?: SortKey): Promise<TaskRecord[]> {
    const rows = await this.connections.current().task.findMany({
      select: SELECT,
      where: { AND: [filter, after ? afterKeyOf(sort, after) : {}] },
      orderBy: orderByOf(sort),
      take,
    });
    return rows.map(toRecord);
  }

  count(filter: TaskListFilter): Promise<number> {
    return this.connections.current().task.count({ where: filter });
  }

  /**
   * Up to `take` tasks of each project, newest first, after the same keyset: one statement for all of them
   * (a lateral join with a LIMIT per project, so a big project is never read whole).
   */
  async listPerProject(projectIds: readonly string[], take: number, after?: Keyset): Promise<Map<string, TaskRecord[]>> {
    const projects = await this.connections.current().project.findMany({
      relationLoadStrategy: 'join',
      where: { id: { in: [...projectIds] } },
      select: {
        id: true,
        tasks: {
          select: SELECT,
          where: after && { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] },
          orderBy: NEWEST_FIRST,
          take,
        },
      },
    });
    return new Map(projects.map((project) => [project.id, project.tasks.map(toRecord)]));
  }

  /** How many tasks each project has; projects without tasks are absent. */
  async countPerProject(projectIds: readonly string[]): Promise<Map<string, number>> {
    const groups = await this.connections.current().task.groupBy({
      by: ['projectId'],
      where: { projectId: { in: [...projectIds] } },
      _count: { _all: true },
    });
    return new Map(groups.map((group) => [group.projectId, group._count._all]));
  }

  async getById(id: string): Promise<TaskRecord | null> {
    const row = await this.connections.current().task.findUnique({ where: { id }, select: SELECT });
    return row && toRecord(row);
  }

  async listByIds(ids: readonly string[]): Promise<TaskRecord[]> {
    const rows = await this.connections.current().task.findMany({ where: { id: { in: [...ids] } }, select: SELECT });
    return rows.map(toRecord);
  }

  async create(data: TaskData & { title: string; projectId: string }): Promise<TaskRecord> {
    return toRecord(await this.connections.current().task.create({ data, select: SELECT }));
  }

  /** Null when no such task exists in this tenant. */
  async update(id: string, data: TaskData): Promise<TaskRecord | null> {
    // UPDATE … RETURNING: one statement, where updating and reading back took two.
    const [row] = await this.connections.current().task.updateManyAndReturn({ where: { id }, data, select: SELECT });
    return row ? toRecord(row) : null;
  }

  /** False when no such task exists in this tenant. */
  async delete(id: string): Promise<boolean> {
    const { count } = await this.connections.current().task.deleteMany({ where: { id } });
    return count > 0;
  }
}
