import { Injectable } from '@nestjs/common';
import type { Keyset } from '../../graphql/pagination';
import { TenantConnectionService } from '../../tenancy/tenant-connection.service';
import { toUser, USER_SELECT } from '../users/users.repository';
import type { Project } from './models/project.model';

export interface ProjectRecord extends Project {
  ownerId: string;
}

const SELECT = {
  id: true,
  name: true,
  description: true,
  ownerId: true,
  createdAt: true,
  owner: { select: USER_SELECT },
} as const;

type Row = { id: string; name: string; description: string | null; ownerId: string; createdAt: Date; owner: Parameters<typeof toUser>[0] };

function toRecord(row: Row): ProjectRecord {
  return { ...row, owner: toUser(row.owner) };
}

/** Projects of the current tenant. The only code that touches Prisma for projects. */
@Injectable()
export class ProjectsRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  async list(take: number, after?: Keyset): Promise<ProjectRecord[]> {
    const rows = await this.connections.current().project.findMany({
      select: SELECT,
      where: after && {
        OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
    return rows.map(toRecord);
  }

  count(): Promise<number> {
    return this.connections.current().project.count();
  }

  async getById(id: string): Promise<ProjectRecord | null> {
    const row = await this.connections.current().project.findUnique({ where: { id }, select: SELECT });
    return row && toRecord(row);
  }

  async create(data: { name: string; description: string | null; ownerId: string }): Promise<ProjectRecord> {
    return toRecord(await this.connections.current().project.create({ data, select: SELECT }));
  }

  /** Null when no such project exists in this tenant. */
  async update(id: string, data: { name?: string; description?: string | null }): Promise<ProjectRecord | null> {
    const client = this.connections.current();
    const { count } = await client.project.updateMany({ where: { id }, data });
    return count === 0 ? null : this.getById(id);
  }

  /** False when no such project exists in this tenant. */
  async delete(id: string): Promise<boolean> {
    const { count } = await this.connections.current().project.deleteMany({ where: { id } });
    return count > 0;
  }
}
