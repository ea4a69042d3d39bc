import { Args, Query, Resolver } from '@nestjs/graphql';
import { CurrentUser } from '../../auth/current-user.decorator';
import type { Connection } from '../../graphql/pagination';
import type { AuthenticatedUser } from '../../tenancy/tenant-context';
import { AuditService } from './audit.service';
import { AuditLogArgs } from './dto/audit-log.args';
import { AuditEntry, AuditEntryConnection } from './models/audit-entry.model';

@Resolver(() => AuditEntry)
export class AuditResolver {
  constructor(private readonly service: AuditService) {}

  @Query(() => AuditEntryConnection, { description: "ADMIN only. The tenant's audit log, newest first." })
  auditLog(@CurrentUser() user: AuthenticatedUser, @Args() { first, after, filter }: AuditLogArgs): Promise<Connection<AuditEntry>> {
    return this.service.list(user, filter, first ?? undefined, after);
  }
}

