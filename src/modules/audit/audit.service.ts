import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../../graphql/app-error';
import { DEFAULT_PAGE_SIZE, decodeCursor, toConnection, type Connection } from '../../graphql/pagination';
import { TenantContext, type AuthenticatedUser } from '../../tenancy/tenant-context';
import { redact } from './audit-redaction.util';
import { AuditRepository, type AuditEntryRecord } from './audit.repository';
import type { AuditFilter } from './dto/audit-filter.input';

export interface AuditEvent {
  /** `<entity>.<verb>`, e.g. `user.create`, `project.delete`, `auth.logout`. */
  action: string;
  entityType: string;
  entityId?: string | null;
  before?: unknown;
  after?: unknown;
  /** Defaults to the request's authenticated user; null when nobody is (a failed login). */
  actorId?: string | null;
}

/** The tenant's audit log. Services call `record` after each change they make; snapshots are redacted here. */
@Injectable()
export class AuditService {
  constructor(private readonly audit: AuditRepository) {}

  record(event: AuditEvent): Promise<void> {
    const actorId = event.actorId !== undefined ? event.actorId : (TenantContext.current()?.user?.id ?? null);
    return this.audit.create({
      actorId,
      action: event.action,
      entityType: event.entityType,
      entityId: event.entityId ?? null,
      before: redact(event.before),
      after: redact(event.after),
    });
  }

  async list(
    current: AuthenticatedUser,
    filter: AuditFilter | null | undefined,
    first = DEFAULT_PAGE_SIZE,
    after?: string | null,
  ): Promise<Connection<AuditEntryRecord>> {
    if (current.role !== 'ADMIN') throw new AppError(ErrorCode.FORBIDDEN, 'Only an admin may read the audit log');
    const keyset = after == null ? undefined : decodeCursor(after);
    const where = {
      actorId: filter?.actor ?? undefined,
      action: filter?.action ?? undefined,
      entityType: filter?.entityType ?? undefined,
      entityId: filter?.entityId ?? undefined,
    };
    const [rows, total] = await Promise.all([this.audit.list(where, first + 1, keyset), this.audit.count(where)]);
    return toConnection(rows, first, after ?? undefined, total);
  }
}
