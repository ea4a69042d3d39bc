import { Injectable } from '@nestjs/common';
import { afterKeyOf, orderByOf, type Sort, type SortKey } from '../../graphql/ordering';
import { prismaCode } from '../../tenancy/prisma-errors.util';
import { TenantConnectionService } from '../../tenancy/tenant-connection.service';
import type { User } from '../users/models/user.model';
import { toUser, USER_SELECT } from '../users/users.repository';
import { ProjectsError, ProjectsErrorCode } from './projects.errors';
import type { Project, ProjectStatus } from './models/project.model';

export interface ProjectRecord extends Project {
  ownerId: string;
  /** Set when the owner was read in the same statement (listWithOwners). */
  owner?: User;
}

export interface ProjectListFilter {
  status?: ProjectStatus;
  nameContains?: string;
}

const SELECT = { id: true, name: true, description: true, status: true, ownerId: true, createdAt: true, updatedAt: true } as const;

type Row = Omit<ProjectRecord, 'status'> & { status: string };

function toRecord(row: Row): ProjectRecord {
  return { ...row, status: row.status as ProjectStatus };
}

/** Projects of the current tenant. The only code that touches Prisma for projects. */
@Injectable()
export class ProjectsRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  async list(filter: ProjectListFilter, sort: Sort, take: number, after?: SortKey): Promise<ProjectRecord[]> {
    const rows = await this.connections.current().project.findMany({ ...pageOf(filter, sort, take, after), select: SELECT });
    return rows.map(toRecord);
  }

  /** The same page, each project's owner read in the same statement (a lateral join): one round trip, not two. */
  async listWithOwners(filter: ProjectListFilter, sort: Sort, take: number, after?: SortKey): Promise<(ProjectRecord & { owner: User })[]> {
    const rows = await this.connections.current().project.findMany({
      ...pageOf(filter, sort, take, after),
      select: { ...SELECT, owner: { select: USER_SELECT } },
    });
    return rows.map(({ owner, ...row }) => ({ ...toRecord(row), owner: toUser(owner) }));
  }

  count(filter: ProjectListFilter): Promise<number> {
    return this.connections.current().project.count({ where: whereOf(filter) });
  }

  async getById(id: string): Promise<ProjectRecord | null> {
    const row = await this.connections.current().project.findUnique({ where: { id }, select: SELECT });
    return row && toRecord(row);
  }

  /** The projects among `ids` (any order); other tenants' ids simply are not found. */
  async listByIds(ids: readonly string[]): Promise<ProjectRecord[]> {
    const rows = await this.connections.current().project.findMany({ where: { id: { in: [...ids] } }, select: SELECT });
    return rows.map(toRecord);
  }

  /** CONFLICT when the name is taken. Plan limits are the service's. */
  async create(data: { name: string; description: string | null; ownerId: string }): Promise<ProjectRecord> {
    return toRecord(await translated(() => this.connections.current().project.create({ data, select: SELECT })));
  }

  /** Null when no such project exists in this tenant; CONFLICT when the new name is taken. */
  async update(id: string, data: { name?: string; description?: string | null; status?: ProjectStatus }): Promise<ProjectRecord | null> {
    // UPDATE … RETURNING: one statement, where updating and reading back took two.
    const [row] = await translated(() => this.connections.current().project.updateManyAndReturn({ where: { id }, data, select: SELECT }));
    return row ? toRecord(row) : null;
  }

  /** False when no such project exists in this tenant. Its tasks go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<boolean> {
    const { count } = await this.connections.current().project.deleteMany({ where: { id } });
    return count > 0;
  }
}

function pageOf(filter: ProjectListFilter, sort: Sort, take: number, after?: SortKey) {
  return { where: { AND: [whereOf(filter), after ? afterKeyOf(sort, after) : {}] }, orderBy: orderByOf(sort), take };
}

function whereOf(filter: ProjectListFilter) {
  return {
    ...(filter.status && { status: filter.status }),
    // Prisma passes `contains` to (I)LIKE unescaped: a `%` or `_` in the filter must match itself.
    ...(filter.nameContains && { name: { contains: filter.nameContains.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' as const } }),
  };
}

// The unique index on name is the one arbiter of duplicates, also between concurrent requests.
async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (prismaCode(error) === 'P2002') throw new ProjectsError(ProjectsErrorCode.PROJECT_NAME_TAKEN);
    throw error;
  }
}
