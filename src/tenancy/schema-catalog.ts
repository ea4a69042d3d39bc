import type { ClientBase } from 'pg';

// Reads what a migration can create in a schema from pg_catalog, for many schemas at once (one statement per kind
// of object), as one `key: description` entry per object. Names are printed schema-free, so two schemas built by
// the same migrations read the same whatever they are called: the drift check of `tenants status` and the
// model-drift test both rest on that.

/** One database object: `key` names it, `description` is everything about it that must match. */
export interface DbObject {
  key: string;
  description: string;
}

const RELATION_KINDS: Record<string, string> = {
  r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view', S: 'sequence', f: 'foreign table', c: 'composite type',
};
const FK_ACTIONS: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/**
 * The catalogs of `schemas` (absent schemas read as empty). Must run inside the caller's transaction: it sets
 * search_path locally to pg_catalog, so every name outside pg_catalog is printed qualified and then stripped of
 * its own schema.
 */
export async function readSchemaCatalogs(client: ClientBase, schemas: string[]): Promise<Map<string, DbObject[]>> {
  const catalogs = new Map(schemas.map((schema) => [schema, [] as DbObject[]]));
  if (schemas.length === 0) return catalogs;
  await client.query(`SELECT set_config('search_path', 'pg_catalog', true)`);
  const q = async <T>(sql: string) => (await client.query(sql, [schemas])).rows as (T & { schema: string })[];
  const add = (schema: string, key: string, description: string) => {
    const strip = unqualifier(schema);
    catalogs.get(schema)!.push({ key: strip(key), description: strip(description) });
  };

  for (const r of await q<{ name: string; kind: string; rls: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relrowsecurity AS rls
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind NOT IN ('i', 'I', 't')`,
  )) {
    add(r.schema, `${RELATION_KINDS[r.kind] ?? `relkind ${r.kind}`} ${r.name}`, r.rls ? 'row level security' : '');
  }

  for (const c of await q<{ tbl: string; col: string; type: string; not_null: boolean; dflt: string | null; identity: string; generated: string; collation: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS tbl, a.attname AS col, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity AS identity, a.attgenerated AS generated,
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS collation,
            CASE WHEN et.typtype = 'e'
                 THEN 'enum ' || CASE WHEN et.typnamespace = n.oid THEN et.typname ELSE etn.nspname || '.' || et.typname END
                      || CASE WHEN et.oid <> t.oid THEN '[]' ELSE '' END
                 ELSE format_type(a.atttypid, a.atttypmod) END AS type
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
       JOIN pg_namespace etn ON etn.oid = et.typnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
  )) {
    let description = `${c.type} ${c.not_null ? 'NOT NULL' : 'NULL'}`;
    if (c.generated === 's') description += ` GENERATED ALWAYS AS (${c.dflt}) STORED`;
    else if (c.dflt !== null) description += ` DEFAULT ${c.dflt}`;
    if (c.identity) description += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
    if (c.collation) description += ` COLLATE ${c.collation}`;
    add(c.schema, `column ${c.tbl}.${c.col}`, description);
  }

  for (const c of await q<{ tbl: string; name: string; type: string; def: string; cols: string[]; ref_schema: string | null; ref_table: string | null; ref_cols: string[]; del: string; upd: string; deferrable: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS tbl, con.conname AS name, con.contype AS type, pg_get_constraintdef(con.oid) AS def,
            con.confdeltype AS del, con.confupdtype AS upd, con.condeferrable AS deferrable,
            fn.nspname AS ref_schema, fc.relname AS ref_table,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.i)::text[] AS cols,
            ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, i)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.i)::text[] AS ref_cols
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class fc ON fc.oid = con.confrelid
       LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
      WHERE n.nspname = ANY($1) AND con.contype <> 'n'`, // 'n': NOT NULL (PostgreSQL 18), compared with the columns
  )) {
    if (c.type === 'p') add(c.schema, `primary key ${c.tbl}`, `${c.name} (${c.cols.join(', ')})`);
    else if (c.type === 'f') {
      const ref = c.ref_schema === c.schema ? c.ref_table : `${c.ref_schema}.${c.ref_table}`;
      add(
        c.schema,
        `foreign key ${c.tbl}.${c.name}`,
        `(${c.cols.join(', ')}) REFERENCES ${ref} (${c.ref_cols.join(', ')}) ON DELETE ${FK_ACTIONS[c.del]} ON UPDATE ${FK_ACTIONS[c.upd]}` +
          (c.deferrable ? ' DEFERRABLE' : ''),
      );
    } else if (c.type === 'u') continue; // reported with its index below
    else add(c.schema, `${c.type === 'c' ? 'check' : `constraint (${c.type})`} ${c.tbl}.${c.name}`, c.def);
  }

  for (const i of await q<{ tbl: string; name: string; is_unique: boolean; method: string; predicate: string | null; cols: string[]; key_count: number; constraint: string | null }>(
    `SELECT n.nspname AS schema, c.relname AS tbl, ic.relname AS name, i.indisunique AS is_unique, am.amname AS method,
            i.indnkeyatts AS key_count, pg_get_expr(i.indpred, i.indrelid) AS predicate, con.contype AS constraint,
            ARRAY(SELECT CASE WHEN k.num = 0 THEN pg_get_indexdef(i.indexrelid, k.i::int, true) ELSE a.attname::text END
                         || CASE WHEN k.opt & 1 = 1 THEN ' DESC' ELSE '' END
                         || CASE WHEN k.opt & 3 = 2 THEN ' NULLS FIRST' WHEN k.opt & 3 = 1 THEN ' NULLS LAST' ELSE '' END
                         || CASE WHEN opc.oid IS NOT NULL AND NOT opc.opcdefault THEN ' ' || opc.opcname ELSE '' END
                    FROM unnest(i.indkey::int2[], i.indoption::int2[], i.indclass::oid[]) WITH ORDINALITY k(num, opt, cls, i)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
                    LEFT JOIN pg_opclass opc ON opc.oid = k.cls
                   ORDER BY k.i)::text[] AS cols
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = ic.relam
       LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
      WHERE n.nspname = ANY($1)`,
  )) {
    if (i.constraint === 'p' || i.constraint === 'x') continue; // the constraint itself is reported
    const keys = i.cols.slice(0, i.key_count).join(', ');
    const included = i.cols.slice(i.key_count);
    const kind = i.constraint === 'u' ? 'UNIQUE CONSTRAINT ' : i.is_unique ? 'UNIQUE ' : '';
    add(
      i.schema,
      `index ${i.tbl}.${i.name}`,
      `${kind}${i.method} (${keys})` + (included.length > 0 ? ` INCLUDE (${included.join(', ')})` : '') + (i.predicate ? ` WHERE ${i.predicate}` : ''),
    );
  }

  for (const e of await q<{ name: string; labels: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name,
            ARRAY(SELECT enumlabel FROM pg_enum WHERE enumtypid = t.oid ORDER BY enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ANY($1) AND t.typtype = 'e'`,
  )) {
    add(e.schema, `enum ${e.name}`, `(${e.labels.join(', ')})`);
  }

  // Whatever else a migration might leave behind: domains, ranges, base types, functions, triggers, policies, rules.
  for (const o of await q<{ key: string }>(
    `SELECT n.nspname AS schema, 'type ' || t.typname || ' (' || t.typtype::text || ')' AS key
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = ANY($1) AND t.typtype NOT IN ('e', 'c') AND t.typcategory <> 'A'
     UNION ALL
     SELECT n.nspname, CASE p.prokind WHEN 'a' THEN 'aggregate ' WHEN 'p' THEN 'procedure ' ELSE 'function ' END
            || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1)
     UNION ALL
     SELECT n.nspname, 'trigger ' || c.relname || '.' || t.tgname
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND NOT t.tgisinternal
     UNION ALL
     SELECT n.nspname, 'policy ' || c.relname || '.' || p.polname
       FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1)
     UNION ALL
     SELECT n.nspname, 'rule ' || c.relname || '.' || r.rulename
       FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND r.rulename <> '_RETURN'
     UNION ALL
     SELECT n.nspname, 'statistics ' || s.stxname
       FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname = ANY($1)`,
  )) {
    add(o.schema, o.key, '');
  }
  return catalogs;
}

/** The schemas of `schemas` that exist. */
export async function existingSchemas(client: ClientBase, schemas: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(`SELECT nspname AS name FROM pg_namespace WHERE nspname = ANY($1)`, [schemas]);
  return new Set(rows.map((row) => row.name));
}

/** Removes `schema.` (as PostgreSQL prints the name, quoted when it must be) wherever it qualifies a name. */
function unqualifier(schema: string): (text: string) => string {
  const printed = /^[a-z_][a-z0-9_$]*$/.test(schema) ? schema : `"${schema.replace(/"/g, '""')}"`;
  const pattern = new RegExp(`(^|[^A-Za-z0-9_$"])${printed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`, 'g');
  return (text) => (text.includes(printed) ? text.replace(pattern, '$1') : text);
}
