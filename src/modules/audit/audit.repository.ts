import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../../prisma/generated/tenant-client/client';
import type { Keyset } from '../../graphql/pagination';
import { TenantConnectionService } from '../../tenancy/tenant-connection.service';
import { toUser, USER_SELECT } from '../users/users.repository';
import type { AuditEntry } from './models/audit-entry.model';

export interface AuditRecord {
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string | null;
  before: unknown;
  after: unknown;
}

export interface AuditListFilter {
  actorId?: string;
  action?: string;
  entityType?: string;
  entityId?: string;
}

export type AuditEntryRecord = AuditEntry & Keyset;

/** The audit log of the current tenant; entries are only ever added. */
@Injectable()
export class AuditRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  async create(entry: AuditRecord): Promise<void> {
    await this.connections.current().auditEntry.create({
      data: { ...entry, before: (entry.before ?? undefined) as Prisma.InputJsonValue, after: (entry.after ?? undefined) as Prisma.InputJsonValue },
    });
  }

  /** Newest first, `createdAt DESC, id DESC`, with each entry's actor read in one more query. */
  async list(filter: AuditListFilter, take: number, after?: Keyset): Promise<AuditEntryRecord[]> {
    const client = this.connections.current();
    const rows = await client.auditEntry.findMany({
      where: {
        ...filter,
        ...(after && { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
    const actorIds = [...new Set(rows.flatMap((row) => (row.actorId ? [row.actorId] : [])))];
    const actors = actorIds.length === 0 ? [] : await client.user.findMany({ where: { id: { in: actorIds } }, select: USER_SELECT });
    const byId = new Map(actors.map((actor) => [actor.id, toUser(actor)]));
    return rows.map((row) => ({
      id: row.id,
      actor: (row.actorId && byId.get(row.actorId)) || null,
      action: row.action,
      entityType: row.entityType,
      entityId: row.entityId,
      before: row.before,
      after: row.after,
      at: row.createdAt,
      createdAt: row.createdAt,
    }));
  }

  count(filter: AuditListFilter): Promise<number> {
    return this.connections.current().auditEntry.count({ where: filter });
  }
}
