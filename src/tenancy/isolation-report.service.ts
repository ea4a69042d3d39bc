import { Inject, Injectable } from '@nestjs/common';
import { IsolationCheckRepository, type IsolationCheckRecord } from '../control-plane/isolation-check.repository';
import type { TenantRecord } from '../control-plane/tenant-record';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { DatabasePools } from '../database/database-pools';
import { AppError, ErrorCode } from '../graphql/app-error';
import { TenantRoles } from './tenant-roles.service';

/** One grantee's privileges on one object of the tenant's schema (PUBLIC as "PUBLIC"). */
export interface IsolationGrant {
  kind: string;
  object: string;
  owner: string;
  grantee: string;
  privileges: string[];
}

/** A role that can reach the tenant's objects, and how. */
export interface IsolationReach {
  role: string;
  via: 'privileges' | 'membership' | 'superuser';
  objects: string[];
}

export interface IsolationReport {
  tenant: string;
  status: TenantRecord['status'];
  schema: string;
  /** The placement database the report was read from. */
  database: string;
  schemaExists: boolean;
  schemaOwner: string | null;
  role: string;
  roleExists: boolean;
  runtimeRole: string;
  grants: IsolationGrant[];
  reachableBy: IsolationReach[];
  /** Each a sentence; empty when only the tenant's role and the platform roles can reach its objects. */
  findings: string[];
  lastCheck: IsolationCheckRecord | null;
}

// Built from pg_catalog: every ACL entry on the schema, its relations, columns, routines and default privileges.
const GRANTS_SQL = `
WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
acl AS (
  SELECT 'schema' AS kind, n.nspname::text AS object, n.nspowner AS owner, a.grantee, a.privilege_type
    FROM pg_namespace n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n'::"char", n.nspowner))) a
   WHERE n.oid = (SELECT oid FROM s)
  UNION ALL
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                        WHEN 'f' THEN 'foreign table' ELSE 'table' END,
         c.relname::text, c.relowner, a.grantee, a.privilege_type
    FROM pg_class c
         CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))) a
   WHERE c.relnamespace = (SELECT oid FROM s) AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
  UNION ALL
  SELECT 'column', c.relname || '.' || at.attname, c.relowner, a.grantee, a.privilege_type
    FROM pg_class c JOIN pg_attribute at ON at.attrelid = c.oid CROSS JOIN LATERAL aclexplode(at.attacl) a
   WHERE c.relnamespace = (SELECT oid FROM s) AND at.attacl IS NOT NULL
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
         p.proowner, a.grantee, a.privilege_type
    FROM pg_proc p CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
   WHERE p.pronamespace = (SELECT oid FROM s)
  UNION ALL
  SELECT 'default privileges on ' || CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                                          WHEN 'T' THEN 'types' ELSE 'schemas' END,
         'objects created by ' || pg_get_userbyid(d.defaclrole), d.defaclrole, a.grantee, a.privilege_type
    FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) a
   WHERE d.defaclnamespace = (SELECT oid FROM s)
)
SELECT kind, object, pg_get_userbyid(owner) AS owner, owner = grantee AS is_owner,
       CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee) END AS grantee,
       array_agg(privilege_type ORDER BY privilege_type) AS privileges
  FROM acl GROUP BY kind, object, owner, grantee ORDER BY kind, object, grantee`;

// Every role (predefined pg_* roles aside: their members show up themselves) that can use the schema and any of its
// relations, by privilege (inherited ones included); members of the tenant role; and superusers.
const REACH_SQL = `
WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
objects AS (SELECT c.oid, c.relname, c.relkind FROM pg_class c
             WHERE c.relnamespace = (SELECT oid FROM s) AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f'))
SELECT r.rolname AS role, 'privileges' AS via, array_agg(o.relname::text ORDER BY o.relname) AS objects
  FROM pg_roles r CROSS JOIN objects o
 WHERE NOT r.rolsuper AND r.rolname NOT LIKE 'pg\\_%'
   AND has_schema_privilege(r.oid, (SELECT oid FROM s), 'USAGE')
   AND CASE WHEN o.relkind = 'S' THEN has_sequence_privilege(r.oid, o.oid, 'USAGE, SELECT, UPDATE')
            ELSE has_table_privilege(r.oid, o.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') END
 GROUP BY r.rolname
UNION ALL
SELECT m.rolname, 'membership', ARRAY[]::text[]
  FROM pg_auth_members am JOIN pg_roles t ON t.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
 WHERE t.rolname = $2
UNION ALL
SELECT rolname, 'superuser', ARRAY[]::text[] FROM pg_roles WHERE rolsuper
ORDER BY 1, 2`;

/**
 * `tenants isolation-report <tenant>`: who can reach a tenant's schema according to PostgreSQL itself, and anything
 * beyond the tenant's own role and the platform roles (owner, superusers, the runtime role by SET ROLE).
 */
@Injectable()
export class IsolationReporter {
  constructor(
    private readonly pools: DatabasePools,
    private readonly registry: TenantRegistryRepository,
    private readonly roles: TenantRoles,
    private readonly checks: IsolationCheckRepository,
  ) {}

  async report(tenantId: string): Promise<IsolationReport> {
    const tenant = await this.registry.getById(tenantId);
    if (!tenant) throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Unknown tenant "${tenantId}"`);
    const role = this.roles.roleOf(tenant.id);
    // The catalog of the database that holds the schema.
    const pool = this.pools.owner(this.pools.check(tenant.database));
    const [schemaRow, roleRow, grants, reach, lastCheck] = await Promise.all([
      pool.query<{ owner: string }>(`SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1`, [tenant.schemaName]),
      pool.query<{ rolcanlogin: boolean; rolsuper: boolean; rolinherit: boolean }>(
        `SELECT rolcanlogin, rolsuper, rolinherit FROM pg_roles WHERE rolname = $1`,
        [role],
      ),
      pool.query<{ kind: string; object: string; owner: string; is_owner: boolean; grantee: string; privileges: string[] }>(GRANTS_SQL, [
        tenant.schemaName,
      ]),
      pool.query<IsolationReach>(REACH_SQL, [tenant.schemaName, role]),
      this.checks.latest(),
    ]);
    const schemaOwner = schemaRow.rows[0]?.owner ?? null;
    const findings: string[] = [];
    if (!schemaRow.rows[0]) findings.push(`schema ${tenant.schemaName} does not exist`);
    const roleAttributes = roleRow.rows[0];
    if (!roleAttributes) findings.push(`role ${role} does not exist: the tenant's statements cannot run under its own role`);
    else if (roleAttributes.rolcanlogin || roleAttributes.rolsuper) findings.push(`role ${role} can log in or is a superuser`);

    for (const grant of grants.rows) {
      if (grant.is_owner || grant.grantee === role) continue;
      // PUBLIC's default EXECUTE on routines reaches nobody without USAGE on the schema (checked below).
      if (grant.grantee === 'PUBLIC' && ['function', 'procedure'].includes(grant.kind) && grant.privileges.every((p) => p === 'EXECUTE')) continue;
      findings.push(`${grant.grantee} holds ${grant.privileges.join(', ')} on ${grant.kind} ${grant.object}`);
    }
    for (const reacher of reach.rows) {
      if (reacher.via === 'superuser' || reacher.role === role || reacher.role === schemaOwner) continue;
      if (reacher.via === 'membership' && reacher.role === this.roles.runtimeRole) continue;
      findings.push(
        reacher.via === 'membership'
          ? `${reacher.role} is a member of ${role} and can act as the tenant`
          : `${reacher.role} can reach ${reacher.objects.join(', ')}`,
      );
    }
    return {
      tenant: tenant.id,
      status: tenant.status,
      schema: tenant.schemaName,
      database: tenant.database,
      schemaExists: schemaRow.rows.length > 0,
      schemaOwner,
      role,
      roleExists: Boolean(roleAttributes),
      runtimeRole: this.roles.runtimeRole,
      grants: grants.rows.map(({ kind, object, owner, grantee, privileges }) => ({ kind, object, owner, grantee, privileges })),
      reachableBy: reach.rows,
      findings: [...new Set(findings)],
      lastCheck,
    };
  }
}
