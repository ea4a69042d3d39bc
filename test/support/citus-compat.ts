import type { ClientBase, Pool } from 'pg';

/**
 * What would stop Citus schema-based sharding from distributing `schemas` (citus_schema_distribute) or moving one
 * (citus_schema_move, which copies by logical replication). Each line names the object and the reason; empty when
 * every schema is self-contained.
 */
export async function citusBlockers(db: Pool | ClientBase, schemas: string[]): Promise<string[]> {
  const problems: string[] = [];
  const report = (rows: Record<string, string>[], describe: (row: Record<string, string>) => string) =>
    problems.push(...rows.map(describe));

  // A foreign key that leaves its schema ties two distributed schemas (or one and the coordinator) together.
  const foreignKeys = await db.query(
    `SELECT c.conname, cn.nspname AS from_schema, cr.relname AS from_table, fn.nspname AS to_schema, fr.relname AS to_table
       FROM pg_constraint c
       JOIN pg_class cr ON cr.oid = c.conrelid JOIN pg_namespace cn ON cn.oid = cr.relnamespace
       JOIN pg_class fr ON fr.oid = c.confrelid JOIN pg_namespace fn ON fn.oid = fr.relnamespace
      WHERE c.contype = 'f' AND cn.oid <> fn.oid AND (cn.nspname = ANY($1) OR fn.nspname = ANY($1))`,
    [schemas],
  );
  report(foreignKeys.rows, (r) => `foreign key ${r.from_schema}.${r.from_table}.${r.conname} references ${r.to_schema}.${r.to_table}`);

  // Column types (enums, domains, composites) defined outside the schema would have to exist on every node.
  const foreignTypes = await db.query(
    `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, tn.nspname AS type_schema, t.typname AS type
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
        AND tn.nspname NOT IN ('pg_catalog', n.nspname)`,
    [schemas],
  );
  report(foreignTypes.rows, (r) => `column ${r.schema}.${r.table}.${r.column} has type ${r.type_schema}.${r.type} from another schema`);

  // Any other dependency that crosses the boundary: a default calling another schema's sequence or function, a
  // view over another schema's table, inheritance from another schema's table.
  const dependencies = await db.query(
    `SELECT DISTINCT coalesce(own.schema, tbl.schema) AS schema, pg_describe_object(d.classid, d.objid, d.objsubid) AS object,
            ref.schema AS ref_schema, pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid) AS referenced
       FROM pg_depend d
       LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
       CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, d.objsubid) own
       LEFT JOIN LATERAL (SELECT relnamespace::regnamespace::text AS schema FROM pg_class WHERE oid = ad.adrelid) tbl ON true
       CROSS JOIN LATERAL pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid) ref
      WHERE d.deptype IN ('n', 'a') AND d.refclassid <> 'pg_namespace'::regclass
        AND coalesce(own.schema, tbl.schema) = ANY($1)
        AND ref.schema IS NOT NULL AND ref.schema NOT IN ('pg_catalog', 'information_schema')
        AND ref.schema <> coalesce(own.schema, tbl.schema)
        -- foreign keys and column types are reported above
        AND d.classid <> 'pg_constraint'::regclass AND d.refclassid <> 'pg_type'::regclass`,
    [schemas],
  );
  report(dependencies.rows, (r) => `${r.object} in ${r.schema} depends on ${r.referenced} in ${r.ref_schema}`);

  // Shard moves replicate UPDATEs and DELETEs logically: every table needs a primary key as its replica identity.
  const withoutKey = await db.query(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')`,
    [schemas],
  );
  report(withoutKey.rows, (r) => `table ${r.schema}.${r.table} has no primary key (needed to move the schema)`);

  return problems.sort();
}
