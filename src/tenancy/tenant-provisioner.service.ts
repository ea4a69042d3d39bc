import { Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PRIMARY_DATABASE, type AppConfig } from '../config/config';
import { DatabasePools } from '../database/database-pools';
import { APP_CONFIG } from '../config/config.module';
import { SHARED_POOL } from '../database/database-tokens';
import { directDatabaseUrl } from '../database/database-roles';
import { TENANT_PLANS, type TenantPlan, type TenantRecord } from '../control-plane/tenant-record';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/password.util';
import { AppError, badUserInput, ErrorCode } from '../graphql/app-error';
import { applyMigrationsInTransaction, loadMigrations } from './migration-runner';
import { quoteIdentifier, tenantIdProblem, tenantSchemaName } from './tenant-id.util';
import { TenantConnectionService } from './tenant-connection.service';
import { TenantRoles } from './tenant-roles.service';
import { tryTenantProvisioningLock, type TenantProvisioningLock } from './tenant-provisioning-lock';

export interface NewTenant {
  id: string;
  name: string;
  plan?: TenantPlan;
  adminEmail: string;
  adminPassword: string;
  /** The placement database (a DATABASES name); the primary when absent. */
  database?: string;
}

/** What identifies a new tenant in the registry. */
export interface TenantIdentity {
  id: string;
  name: string;
  plan?: TenantPlan;
  /** The placement database; the primary when absent. */
  database?: string;
}

/** Builds a new tenant's tables (and rows) in `schema`, inside provisioning's transaction (search_path unset). */
export type BuildSchema<T> = (client: PoolClient, schema: string) => Promise<SchemaBuild<T>>;

export interface SchemaBuild<T> {
  result: T;
  /** The newest migration in the schema's ledger (null: none), and how many it holds: for the control plane. */
  lastMigration: string | null;
  applied: number;
}

export type ProvisioningStep = 'register' | 'schema' | 'migrations' | 'admin' | 'activate';

/** Test seam: called after each provisioning step; throwing there simulates a failure at that point. */
export const PROVISIONING_FAULTS = Symbol('PROVISIONING_FAULTS');
export type ProvisioningFaults = (step: ProvisioningStep, tenantId: string) => void | Promise<void>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Creates tenants all-or-nothing: the schema, its migrations, the admin user and the ACTIVE status commit in
 * one transaction, so a failure — or a SIGKILL — at any point leaves no schema and no ACTIVE row.
 */
@Injectable()
export class TenantProvisioner implements OnApplicationBootstrap {
  private readonly logger = new Logger(TenantProvisioner.name);

  constructor(
    @Inject(SHARED_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistryRepository,
    private readonly connections: TenantConnectionService,
    private readonly roles: TenantRoles,
    private readonly pools: DatabasePools,
    @Optional() @Inject(PROVISIONING_FAULTS) private readonly faults?: ProvisioningFaults,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const cleaned = await this.cleanupLeftovers();
    if (cleaned.length > 0) this.logger.warn(`Removed unfinished tenants: ${cleaned.join(', ')}`);
  }

  async create(input: NewTenant): Promise<TenantRecord> {
    const plan = input.plan ?? 'free';
    validate(input, plan);
    const email = input.adminEmail.toLowerCase();
    // argon2 runs on libuv's thread pool while the schema is built; awaited just before the admin row needs it.
    const passwordHash = hashPassword(input.adminPassword);
    passwordHash.catch(() => undefined);
    const migrations = loadMigrations(this.config.paths.tenantMigrations);
    const { tenant } = await this.provision({ id: input.id, name: input.name, plan, database: input.database }, async (client, schema) => {
      const applied = await applyMigrationsInTransaction(client, schema, migrations);
      await this.fault('migrations', input.id);
      await client.query(
        `INSERT INTO ${quoteIdentifier(schema)}."User" (id, email, "passwordHash", role, "createdAt", "updatedAt")
         VALUES (gen_random_uuid(), $1, $2, 'ADMIN', now(), now())`,
        [email, await passwordHash],
      );
      await this.fault('admin', input.id);
      return { result: undefined, lastMigration: applied.at(-1) ?? null, applied: applied.length };
    });
    return tenant;
  }

  /**
   * The one path that creates a tenant schema (create, import): registers the tenant as PROVISIONING (so a crash
   * leaves a row cleanupLeftovers removes), then in one transaction creates its schema, runs `build` (tables and
   * rows), grants the tenant's role, records its migrations and marks it ACTIVE. On any failure nothing remains.
   */
  async provision<T>(identity: TenantIdentity, build: BuildSchema<T>): Promise<{ tenant: TenantRecord; result: T }> {
    const plan = identity.plan ?? 'free';
    const problems = identityProblems(identity, plan);
    if (Object.keys(problems).length > 0) throw badUserInput('Invalid tenant', problems);
    const { id } = identity;
    const database = this.pools.check(identity.database ?? PRIMARY_DATABASE);
    const schema = tenantSchemaName(id);

    const lock = await this.lockTenant(id);
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      await lock.release();
      throw error;
    }
    let registered = false;
    let placed: PoolClient | undefined;
    let placedCommitted = false;
    let result: T;
    try {
      const existing = await this.registry.getById(id, client);
      if (existing?.status === 'PROVISIONING') await this.dropLeftover(client, existing);
      else if (existing) throw new AppError(ErrorCode.CONFLICT, `Tenant "${id}" already exists`);

      // On the connection already held (before BEGIN, so it commits at once): a second pool connection per
      // create would deadlock PG_POOL_MAX concurrent creates, each holding one and waiting for another.
      await this.registry.create({ id, name: identity.name, plan, schemaName: schema, database }, client);
      registered = true;
      await this.fault('register', id);

      await client.query('BEGIN');
      // On another database the schema's transaction commits just before the registry's: a failure in between
      // drops the schema, a kill leaves a PROVISIONING row whose cleanup drops it.
      if (database !== PRIMARY_DATABASE) {
        placed = await this.pools.owner(database).connect();
        await placed.query('BEGIN');
      }
      const target = placed ?? client;
      await target.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      await this.fault('schema', id);
      const built = await build(target, schema);
      result = built.result;
      // After the tables exist: the role's grants cover them, and the ledger is kept from it.
      await this.roles.ensureTenantRole(target, id, schema);
      if (placed) {
        await placed.query('COMMIT');
        placedCommitted = true;
      }
      await this.registry.recordMigrations(id, built.lastMigration, built.applied, client);
      await this.registry.updateStatus(id, 'ACTIVE', client);
      await this.fault('activate', id);
      // Without the lock a cleanup could judge this create abandoned and drop what it is about to commit.
      if (!(await lock.stillHeld())) throw new Error(`Lost the provisioning lock of tenant "${id}" (its connection ended); nothing was committed`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      await placed?.query('ROLLBACK').catch(() => undefined);
      if (placed && placedCommitted) await this.dropPlacedSchema(placed, id, schema).catch(() => undefined);
      if (registered) await this.registry.delete(id, client).catch(() => undefined);
      throw error;
    } finally {
      client.release();
      placed?.release();
      await lock.release();
    }
    const tenant = await this.registry.getById(id);
    if (!tenant) throw new Error(`Tenant ${id} vanished after provisioning`);
    return { tenant, result };
  }

  /** Removes tenants left in PROVISIONING by a crashed create (one whose creator still runs is skipped). */
  async cleanupLeftovers(): Promise<string[]> {
    const cleaned: string[] = [];
    for (const tenant of await this.registry.listByStatus('PROVISIONING')) {
      const lock = await tryTenantProvisioningLock(directDatabaseUrl(this.config), tenant.id);
      if (!lock) continue;
      const client = await this.pool.connect().catch(async (error: unknown) => {
        await lock.release();
        throw error;
      });
      try {
        const current = await this.registry.getById(tenant.id, client);
        if (current?.status !== 'PROVISIONING') continue;
        await this.dropLeftover(client, current);
        cleaned.push(tenant.id);
      } finally {
        client.release();
        await lock.release();
      }
    }
    return cleaned;
  }

  // A session lock per tenant id: released by the server when the creating process dies.
  private async lockTenant(id: string): Promise<TenantProvisioningLock> {
    const lock = await tryTenantProvisioningLock(directDatabaseUrl(this.config), id);
    if (!lock) throw new AppError(ErrorCode.CONFLICT, `Tenant "${id}" is being provisioned by another process`);
    return lock;
  }

  private async dropLeftover(client: PoolClient, tenant: TenantRecord): Promise<void> {
    this.connections.release(tenant.schemaName);
    if (tenant.database === PRIMARY_DATABASE) await this.dropPlacedSchema(client, tenant.id, tenant.schemaName);
    else {
      const placed = await this.pools.owner(tenant.database).connect();
      try {
        await this.dropPlacedSchema(placed, tenant.id, tenant.schemaName);
      } finally {
        placed.release();
      }
    }
    await this.registry.delete(tenant.id, client);
  }

  private async dropPlacedSchema(client: PoolClient, tenantId: string, schema: string): Promise<void> {
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await this.roles.dropTenantRole(client, tenantId);
  }


  private async fault(step: ProvisioningStep, tenantId: string): Promise<void> {
    await this.faults?.(step, tenantId);
  }
}

function identityProblems(identity: TenantIdentity, plan: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const idProblem = tenantIdProblem(identity.id);
  if (idProblem) fields.id = idProblem;
  if (identity.name.trim().length === 0 || identity.name.length > 200) fields.name = 'must be 1-200 characters';
  if (!TENANT_PLANS.includes(plan as TenantPlan)) fields.plan = `must be one of ${TENANT_PLANS.join(', ')}`;
  return fields;
}

/** Every problem of a create's input at once. */
function validate(input: NewTenant, plan: string): void {
  const fields = identityProblems(input, plan);
  if (input.adminEmail.length > 254 || !EMAIL.test(input.adminEmail)) fields.adminEmail = 'must be an email address of at most 254 characters';
  if (input.adminPassword.length < PASSWORD_MIN_LENGTH || input.adminPassword.length > PASSWORD_MAX_LENGTH) {
    fields.adminPassword = `must be ${PASSWORD_MIN_LENGTH}-${PASSWORD_MAX_LENGTH} characters`;
  }
  if (Object.keys(fields).length > 0) throw badUserInput('Invalid tenant', fields);
}
