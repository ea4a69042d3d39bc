import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DatabasePools } from '../database/database-pools';
import { AppError, badUserInput, ErrorCode } from '../graphql/app-error';
import { TenantConnectionService } from '../tenancy/tenant-connection.service';
import { customDomainProblem, normalizeDomain } from '../tenancy/tenant-domain.util';
import { isValidTenantId, tenantIdProblem } from '../tenancy/tenant-id.util';
import { TenantRoles } from '../tenancy/tenant-roles.service';
import { TenantProvisioner, type NewTenant } from '../tenancy/tenant-provisioner.service';
import { TENANT_PLANS, type TenantPlan, type TenantRecord, type TenantStatus } from './tenant-record';
import { TenantAuditRepository, type AuditRecord } from './tenant-audit.repository';
import {
  TenantRegistryRepository,
  type MigrationSummary,
  type TenantDomain,
} from './tenant-registry.repository';

export type LifecycleAction =
  | 'create'
  | 'update'
  | 'suspend'
  | 'resume'
  | 'delete'
  | 'restore'
  | 'hard-delete'
  | 'purge'
  | 'domain-add'
  | 'domain-remove';

/** What `purgeDeletedBefore` did (or, in a dry run, would do) to one tenant. */
export interface PurgeOutcome {
  id: string;
  deletedAt: Date;
  status: 'purged' | 'failed' | 'would-purge';
  elapsedMs: number;
  error?: { code: string; message: string };
}

export interface TenantOverview {
  tenant: TenantRecord;
  domains: TenantDomain[];
  migrations: MigrationSummary | null;
  /** Newest first. */
  audit: AuditRecord[];
}

interface Transition {
  from: TenantStatus[];
  to: TenantStatus;
  /** Why the transition is refused from any other status. */
  rule: string;
}

const TRANSITIONS = {
  suspend: { from: ['ACTIVE'], to: 'SUSPENDED', rule: 'only an ACTIVE tenant can be suspended' },
  resume: { from: ['SUSPENDED'], to: 'ACTIVE', rule: 'only a SUSPENDED tenant can be resumed' },
  delete: { from: ['ACTIVE', 'SUSPENDED'], to: 'DELETED', rule: 'only an ACTIVE or SUSPENDED tenant can be deleted' },
  restore: { from: ['DELETED'], to: 'ACTIVE', rule: 'only a DELETED tenant can be restored' },
} satisfies Record<string, Transition>;

const AUDIT_ROWS_SHOWN = 10;
// Actions that drop a schema and a role: DDL the control-plane role may not run, so they use an owner connection.
const OWNER = 'owner';

/**
 * The tenant lifecycle for operators (CLI, later the admin API): every action is validated before any SQL,
 * applied atomically, and leaves an audit row — `ok` in the action's own transaction, `error` when it failed.
 */
@Injectable()
export class TenantLifecycleService {
  private readonly logger = new Logger(TenantLifecycleService.name);

  constructor(
    private readonly registry: TenantRegistryRepository,
    private readonly audit: TenantAuditRepository,
    private readonly provisioner: TenantProvisioner,
    private readonly connections: TenantConnectionService,
    private readonly roles: TenantRoles,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pools: DatabasePools,
  ) {}

  async create(input: NewTenant, actor: string): Promise<TenantRecord> {
    // An invalid id is the provisioner's to report (with every other bad field), and is not audited.
    if (!isValidTenantId(input.id)) return this.provisioner.create(input);
    const details = { name: input.name, plan: input.plan ?? 'free', adminEmail: input.adminEmail, database: input.database ?? PRIMARY_DATABASE };
    try {
      const tenant = await this.provisioner.create(input);
      await this.audit.create({ tenantId: tenant.id, action: 'create', actor, result: 'ok', details });
      return tenant;
    } catch (error) {
      await this.auditFailure(input.id, 'create', actor, details, error);
      throw error;
    }
  }

  async show(id: string): Promise<TenantOverview> {
    const tenant = await this.require(checkId(id), undefined, true);
    const [domains, migrations, audit] = await Promise.all([
      this.registry.listDomains(id),
      this.registry.getMigrationSummary(id),
      this.audit.list(id, AUDIT_ROWS_SHOWN),
    ]);
    return { tenant, domains, migrations, audit };
  }

  async update(id: string, changes: { name?: string; plan?: string }, actor: string): Promise<TenantRecord> {
    checkId(id);
    const fields: Record<string, string> = {};
    if (changes.name === undefined && changes.plan === undefined) fields.name = 'give a name or a plan to change';
    if (changes.name !== undefined && (changes.name.trim().length === 0 || changes.name.length > 200)) fields.name = 'must be 1-200 characters';
    if (changes.plan !== undefined && !TENANT_PLANS.includes(changes.plan as TenantPlan)) fields.plan = `must be one of ${TENANT_PLANS.join(', ')}`;
    const change = { name: changes.name, plan: changes.plan as TenantPlan | undefined };
    if (Object.keys(fields).length > 0) throw await this.refused(id, 'update', actor, { ...change }, badUserInput('Invalid tenant update', fields));
    return this.audited(id, 'update', actor, { ...change }, async (db) => {
      const before = await this.require(id, db);
      const after = (await this.registry.update(id, change, db))!;
      return { result: after, details: { before: { name: before.name, plan: before.plan } } };
    });
  }

  suspend(id: string, actor: string): Promise<TenantRecord> {
    return this.transition(id, 'suspend', actor);
  }

  resume(id: string, actor: string): Promise<TenantRecord> {
    return this.transition(id, 'resume', actor);
  }

  /** Soft delete: DELETED with deletedAt; the schema and its data stay until a hard delete. */
  softDelete(id: string, actor: string): Promise<TenantRecord> {
    return this.transition(id, 'delete', actor);
  }

  restore(id: string, actor: string): Promise<TenantRecord> {
    return this.transition(id, 'restore', actor);
  }

  /** Drops the schema (CASCADE), its role and the registry row; domains and migration summary go with it. Irreversible. */
  async hardDelete(id: string, actor: string): Promise<void> {
    checkId(id);
    const dropped = await this.audited(id, 'hard-delete', actor, {}, async (db) => {
      const tenant = await this.require(id, db, true);
      const placed = this.placedElsewhere(tenant);
      await this.registry.deleteWithSchema(tenant, db, placed);
      await this.roles.dropTenantRole(placed ?? db, tenant.id);
      return { result: tenant, details: { status: tenant.status, schema: tenant.schemaName, database: tenant.database } };
    }, OWNER);
    // A client cached for the dropped schema would only fail; queries already running finish first.
    this.connections.release(dropped.schemaName);
  }

  async addDomain(id: string, hostname: string, actor: string): Promise<string> {
    checkId(id);
    const domain = normalizeDomain(hostname);
    const problem = customDomainProblem(domain, this.config.baseDomain);
    if (problem) {
      // Bounded: the hostname is the caller's text.
      throw await this.refused(id, 'domain-add', actor, { domain: domain.slice(0, 300) }, badUserInput('Invalid domain', { hostname: problem }));
    }
    await this.audited(id, 'domain-add', actor, { domain }, async (db) => {
      await this.require(id, db);
      await this.registry.addDomain(id, domain, db);
      return { result: undefined };
    });
    return domain;
  }

  async removeDomain(id: string, hostname: string, actor: string): Promise<string> {
    checkId(id);
    const domain = normalizeDomain(hostname);
    await this.audited(id, 'domain-remove', actor, { domain }, async (db) => {
      await this.require(id, db);
      if (!(await this.registry.removeDomain(id, domain, db))) {
        throw new AppError(ErrorCode.NOT_FOUND, `Tenant "${id}" has no domain ${domain}`);
      }
      return { result: undefined };
    });
    return domain;
  }

  /**
   * Hard-deletes every tenant soft-deleted more than `olderThanMs` ago (by the database's clock), one at a time, each
   * audited as `purge`; a failure is reported and the rest continue. A dry run only lists them.
   */
  async purgeDeleted(
    olderThanMs: number,
    actor: string,
    options: { dryRun?: boolean; onOutcome?: (outcome: PurgeOutcome, done: number, total: number) => void } = {},
  ): Promise<{ cutoff: Date; outcomes: PurgeOutcome[] }> {
    const cutoff = new Date((await this.registry.databaseNow()).getTime() - olderThanMs);
    const candidates = await this.registry.listDeletedBefore(cutoff);
    const outcomes: PurgeOutcome[] = [];
    for (const candidate of candidates) {
      const started = Date.now();
      const outcome: PurgeOutcome = { id: candidate.id, deletedAt: candidate.deletedAt!, status: 'would-purge', elapsedMs: 0 };
      if (!options.dryRun) {
        try {
          await this.purge(candidate.id, cutoff, actor);
          outcome.status = 'purged';
        } catch (error) {
          outcome.status = 'failed';
          outcome.error = errorReason(error);
        }
      }
      outcome.elapsedMs = Date.now() - started;
      outcomes.push(outcome);
      options.onOutcome?.(outcome, outcomes.length, candidates.length);
    }
    return { cutoff, outcomes };
  }

  /** Hard-deletes `id` only if it is still DELETED since before `cutoff`: a restore in the meantime wins. */
  async purge(id: string, cutoff: Date, actor: string): Promise<TenantRecord> {
    checkId(id);
    const dropped = await this.audited(id, 'purge', actor, { cutoff: cutoff.toISOString() }, async (db) => {
      const tenant = await this.registry.lockById(id, db);
      if (!tenant) throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Unknown tenant "${id}"`);
      if (tenant.status !== 'DELETED' || !tenant.deletedAt || tenant.deletedAt >= cutoff) {
        throw new AppError(ErrorCode.CONFLICT, `Tenant "${id}" is ${tenant.status}: only a tenant deleted before ${cutoff.toISOString()} is purged`);
      }
      const placed = this.placedElsewhere(tenant);
      await this.registry.deleteWithSchema(tenant, db, placed);
      await this.roles.dropTenantRole(placed ?? db, tenant.id);
      return { result: tenant, details: { deletedAt: tenant.deletedAt.toISOString(), schema: tenant.schemaName } };
    }, OWNER);
    this.connections.release(dropped.schemaName);
    return dropped;
  }

  private async transition(id: string, action: keyof typeof TRANSITIONS, actor: string): Promise<TenantRecord> {
    checkId(id);
    const { from, to, rule }: Transition = TRANSITIONS[action];
    return this.audited(id, action, actor, {}, async (db) => {
      const before = await this.require(id, db);
      // Compare-and-set: a concurrent change between the read and the update is refused, not overwritten.
      const after = await this.registry.transition(id, from, to, db);
      if (!after) throw new AppError(ErrorCode.CONFLICT, `Tenant "${id}" is ${before.status}: ${rule}`);
      return { result: after, details: { from: before.status, to } };
    });
  }

  /** The owner pool of the tenant's database when that is not the primary (whose work joins the registry's transaction). */
  private placedElsewhere(tenant: TenantRecord): Pool | undefined {
    return tenant.database === PRIMARY_DATABASE ? undefined : this.pools.owner(this.pools.check(tenant.database));
  }

  /** The tenant, or TENANT_NOT_FOUND; one still being provisioned counts as absent unless `acceptProvisioning`. */
  private async require(id: string, db?: PoolClient, acceptProvisioning = false): Promise<TenantRecord> {
    const tenant = await this.registry.getById(id, db);
    if (!tenant || (!acceptProvisioning && tenant.status === 'PROVISIONING')) {
      throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Unknown tenant "${id}"`);
    }
    return tenant;
  }

  /** Runs `run` in a transaction that also writes the `ok` audit row; a failure is audited as `error`, then rethrown. */
  private async audited<T>(
    tenantId: string,
    action: LifecycleAction,
    actor: string,
    details: Record<string, unknown>,
    run: (db: PoolClient) => Promise<{ result: T; details?: Record<string, unknown> }>,
    as: 'control-plane' | typeof OWNER = 'control-plane',
  ): Promise<T> {
    try {
      const inTransaction = <R>(body: (db: PoolClient) => Promise<R>) =>
        as === OWNER ? this.registry.inOwnerTransaction(body) : this.registry.inTransaction(body);
      return await inTransaction(async (db) => {
        const outcome = await run(db);
        await this.audit.create({ tenantId, action, actor, result: 'ok', details: { ...details, ...outcome.details } }, db);
        return outcome.result;
      });
    } catch (error) {
      await this.auditFailure(tenantId, action, actor, details, error);
      throw error;
    }
  }

  /** Audits a request refused before it reached the database, and returns the error to throw. */
  private async refused(tenantId: string, action: LifecycleAction, actor: string, details: Record<string, unknown>, error: AppError): Promise<AppError> {
    await this.auditFailure(tenantId, action, actor, details, error);
    return error;
  }

  private async auditFailure(tenantId: string, action: LifecycleAction, actor: string, details: Record<string, unknown>, error: unknown) {
    await this.audit
      .create({ tenantId, action, actor, result: 'error', details: { ...details, error: errorReason(error) } })
      .catch((auditError: Error) => this.logger.error(`Could not audit a failed ${action} of ${tenantId}: ${auditError.message}`));
  }
}

/** What an audit row or a report keeps of an error: its code and message, never a stack, a query or its parameters. */
function errorReason(error: unknown): { code: string; message: string } {
  return error instanceof AppError
    ? { code: error.code, message: error.message }
    : { code: ErrorCode.INTERNAL_SERVER_ERROR, message: String((error as Error).message ?? error).slice(0, 500) };
}

/** Rejects a malformed id before it reaches SQL. */
function checkId(id: string): string {
  const problem = tenantIdProblem(id);
  if (problem) throw badUserInput('Invalid tenant id', { id: problem });
  return id;
}
