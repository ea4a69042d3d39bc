import type { Pool } from 'pg';
import type { AppConfig } from '../config/config';
import { controlPlaneRoleName, databaseNameOf, derivedRolePassword, rolePrefixOf } from '../database/database-roles';
import { LEDGER_TABLE } from '../tenancy/migration-runner';
import { quoteIdentifier } from '../tenancy/tenant-id.util';
import { CONTROL_SCHEMA } from './control-plane-migrator';
import { inTransaction } from './in-transaction.util';

const TABLE_PRIVILEGES = 'SELECT, INSERT, UPDATE, DELETE';
const SEQUENCE_PRIVILEGES = 'USAGE, SELECT, UPDATE';
// The lock TenantRoles takes too: CREATE ROLE is not idempotent when instances boot at once.
const ROLES_LOCK = `hashtext('tenantry:roles')`;

/**
 * Creates (if missing) the control plane's login role and (re)asserts what it may do, over the owner pool, after the
 * control-plane migrations: DML on the control schema's tables and sequences (now and, through default privileges,
 * later), nothing on its migration ledger, nothing in any tenant schema, no DDL, no superuser. Returns its name.
 */
export async function ensureControlPlaneRole(owner: Pool, config: Pick<AppConfig, 'tenantRolePrefix' | 'databaseUrl'>): Promise<string> {
  const name = controlPlaneRoleName(rolePrefixOf(config));
  const role = quoteIdentifier(name);
  const password = derivedRolePassword(config.databaseUrl!, name);
  return inTransaction(owner, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${ROLES_LOCK})`);
    const { rowCount } = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [name]);
    if (!rowCount) await client.query(`CREATE ROLE ${role}`);
    // Grants only when a table lacks them (a new role or a new migration): GRANT would wait behind any lock on a
    // control-plane table, and booting must not.
    const { rows } = await client.query<{ missing: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $2 AND tablename <> $3
                 AND NOT has_table_privilege($1, format('%I.%I', schemaname, tablename), 'SELECT, INSERT, UPDATE, DELETE')) AS missing`,
      [name, CONTROL_SCHEMA, LEDGER_TABLE],
    );
    await client.query(
      `ALTER ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS` +
        (password ? ` PASSWORD '${password.replace(/'/g, "''")}'` : ''),
    );
    const database = quoteIdentifier(databaseNameOf(config.databaseUrl!));
    // CVE-2018-1058: names resolve in pg_catalog and the control schema only, never in one others can create objects in.
    await client.query(`ALTER ROLE ${role} IN DATABASE ${database} SET search_path TO pg_catalog, ${CONTROL_SCHEMA}`);
    if (!rowCount || rows[0].missing) {
      await client.query(
        `GRANT CONNECT ON DATABASE ${database} TO ${role};
         GRANT USAGE ON SCHEMA ${CONTROL_SCHEMA} TO ${role};
         GRANT ${TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA ${CONTROL_SCHEMA} TO ${role};
         GRANT ${SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA ${CONTROL_SCHEMA} TO ${role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA ${CONTROL_SCHEMA} GRANT ${TABLE_PRIVILEGES} ON TABLES TO ${role};
         ALTER DEFAULT PRIVILEGES IN SCHEMA ${CONTROL_SCHEMA} GRANT ${SEQUENCE_PRIVILEGES} ON SEQUENCES TO ${role};
         REVOKE ALL ON TABLE ${CONTROL_SCHEMA}.${quoteIdentifier(LEDGER_TABLE)} FROM ${role};
         REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
      );
    }
    return name;
  });
}
