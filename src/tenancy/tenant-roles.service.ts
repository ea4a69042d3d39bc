import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CONTROL_SCHEMA } from '../control-plane/control-plane-migrator';
import { PRIMARY_DATABASE } from '../config/config';
import { inTransaction } from '../control-plane/in-transaction.util';
import { DatabasePools } from '../database/database-pools';
import { databaseNameOf, derivedRolePassword, rolePrefixOf, runtimeRoleOf } from '../database/database-roles';
import { LEDGER_TABLE } from './migration-runner';
import { quoteIdentifier, tenantRoleName } from './tenant-id.util';

type Queryable = Pool | PoolClient;

const TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';
const SEQUENCE_PRIVILEGES = 'USAGE, SELECT, UPDATE';
// Serialises role changes of instances booting at once (CREATE ROLE is not idempotent).
const ROLES_LOCK = `hashtext('tenantry:roles')`;

/**
 * The PostgreSQL roles that enforce tenant isolation: one NOLOGIN role per tenant, holding privileges on its own
 * schema's tables and sequences only, and the non-superuser runtime role the request pool logs in as, a member of
 * every tenant role without inheriting their privileges (it must `SET ROLE` to use one). Managed over the owner pool.
 */
@Injectable()
export class TenantRoles implements OnApplicationBootstrap {
  private readonly logger = new Logger(TenantRoles.name);
  readonly prefix: string;
  readonly runtimeRole: string;

  constructor(
    private readonly pools: DatabasePools,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.prefix = rolePrefixOf(config);
    this.runtimeRole = runtimeRoleOf(config);
  }

  roleOf(tenantId: string): string {
    return tenantRoleName(this.prefix, tenantId);
  }

  async onApplicationBootstrap(): Promise<void> {
    const ensured = await this.ensureAll();
    if (ensured.length > 0) this.logger.log(`Ensured the roles of ${ensured.length} tenant(s)`);
  }

  /**
   * On every placement database: the runtime role, then a role for every tenant placed there that lacks one or whose
   * grants the runtime role lacks; returns those tenant ids. Idempotent: run at every boot and after every fleet
   * migration.
   */
  async ensureAll(): Promise<string[]> {
    const { rows: tenants } = await this.pools.owner(PRIMARY_DATABASE).query<{ id: string; schema_name: string; database: string }>(
      `SELECT id, schema_name, database FROM ${CONTROL_SCHEMA}.tenants WHERE status <> 'PROVISIONING' ORDER BY id`,
    );
    const ensured: string[] = [];
    for (const database of this.pools.names()) {
      const placed = tenants.filter((t) => t.database === database);
      ensured.push(...(await this.inLockedTransaction(database, async (client) => {
        await this.ensureRuntimeRole(client, database);
        const { rows } = await client.query<{ id: string; schema_name: string }>(
          `SELECT t.id, t.schema_name FROM unnest($3::text[], $4::text[]) AS t(id, schema_name)
            WHERE EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = t.schema_name)
              AND NOT EXISTS (SELECT 1 FROM pg_roles r JOIN pg_auth_members m ON m.roleid = r.oid
                               WHERE r.rolname = $1 || t.id AND m.member = (SELECT oid FROM pg_roles WHERE rolname = $2))
            ORDER BY t.id`,
          [this.prefix, this.runtimeRole, placed.map((t) => t.id), placed.map((t) => t.schema_name)],
        );
        for (const row of rows) await this.ensureTenantRole(client, row.id, row.schema_name);
        return rows.map((row) => row.id);
      })));
    }
    return ensured.sort();
  }

  /**
   * Creates the runtime role on `database`'s server if missing and (re)asserts what it may do; public loses CREATE
   * (CVE-2018-1058).
   */
  async ensureRuntimeRole(client: PoolClient, database = PRIMARY_DATABASE): Promise<void> {
    const adminUrl = this.pools.urlOf(database);
    const role = quoteIdentifier(this.runtimeRole);
    const { rows } = await client.query<{ rolsuper: boolean }>(`SELECT rolsuper FROM pg_roles WHERE rolname = $1`, [this.runtimeRole]);
    if (this.config.databaseRuntimeUrl) {
      // An operator-managed role: it must exist and must not be a superuser, or isolation would be void.
      if (!rows[0]) throw new Error(`The role of DATABASE_RUNTIME_URL (${this.runtimeRole}) does not exist on database ${database}`);
      if (rows[0].rolsuper) throw new Error(`The role of DATABASE_RUNTIME_URL (${this.runtimeRole}) is a superuser`);
    } else {
      if (!rows[0]) await client.query(`CREATE ROLE ${role}`);
      const password = derivedRolePassword(adminUrl, this.runtimeRole);
      await client.query(
        `ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS` +
          (password ? ` PASSWORD ${quoteLiteral(password)}` : ''),
      );
    }
    await client.query(`GRANT CONNECT ON DATABASE ${quoteIdentifier(databaseNameOf(adminUrl))} TO ${role}`);
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  }

  /**
   * Creates (if missing) and grants the tenant's role in the caller's transaction: USAGE on its schema, DML on its
   * tables, its sequences, the same on objects later migrations create (default privileges of the migrating role),
   * nothing on the migration ledger; membership for the runtime role. Run again after migrations, so objects created
   * by another owner are covered too.
   */
  async ensureTenantRole(client: PoolClient, tenantId: string, schemaName: string): Promise<void> {
    const name = this.roleOf(tenantId);
    const role = quoteIdentifier(name);
    const schema = quoteIdentifier(schemaName);
    const { rowCount } = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name]);
    if (!rowCount) await client.query(`CREATE ROLE ${role} NOLOGIN NOINHERIT`);
    await client.query(
      `GRANT USAGE ON SCHEMA ${schema} TO ${role};
       GRANT ${TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA ${schema} TO ${role};
       GRANT ${SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role};
       ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT ${TABLE_PRIVILEGES} ON TABLES TO ${role};
       ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT ${SEQUENCE_PRIVILEGES} ON SEQUENCES TO ${role};
       GRANT ${role} TO ${quoteIdentifier(this.runtimeRole)}`,
    );
    const ledger = `${schema}.${quoteIdentifier(LEDGER_TABLE)}`;
    const { rows } = await client.query<{ ledger: string | null }>(`SELECT to_regclass($1) AS ledger`, [ledger]);
    if (rows[0].ledger) await client.query(`REVOKE ALL ON TABLE ${ledger} FROM ${role}`);
  }

  /** Drops the tenant's role in the caller's transaction (its schema is being dropped); nothing when it has none. */
  async dropTenantRole(client: Queryable, tenantId: string): Promise<void> {
    const name = this.roleOf(tenantId);
    const { rowCount } = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name]);
    if (!rowCount) return;
    // DROP OWNED revokes its grants and default privileges in this database; it owns nothing.
    await client.query(`DROP OWNED BY ${quoteIdentifier(name)}`);
    await client.query(`DROP ROLE ${quoteIdentifier(name)}`);
  }

  private inLockedTransaction<T>(database: string, run: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pools.owner(database), async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(${ROLES_LOCK})`);
      return run(client);
    });
  }

}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
