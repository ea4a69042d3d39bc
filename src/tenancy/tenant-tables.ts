import type { ClientBase } from 'pg';
import { LEDGER_TABLE } from './migration-runner';
import { TenantArchiveError, TenantArchiveErrorCode } from './tenant-archive.errors';
import { quoteIdentifier } from './tenant-id.util';

// The data of a tenant schema as pg_catalog describes it, so export and import follow whatever tables the
// migrations have created without naming any of them.

export interface TableColumn {
  name: string;
  /** format_type() with search_path at the schema: valid SQL in that schema (enums unqualified). */
  type: string;
}

export interface DataTable {
  name: string;
  /** Insertable columns in attribute order (generated columns are left out: the database computes them). */
  columns: TableColumn[];
  /** Has a GENERATED ALWAYS identity column, so inserts need OVERRIDING SYSTEM VALUE. */
  identityAlways: boolean;
}

/**
 * The tables of `schema` (the migration ledger excluded), parents before the tables whose foreign keys point at
 * them. Run with search_path set to `schema` (SET LOCAL) so types print unqualified. A foreign-key cycle between
 * tables cannot be loaded in order and throws UNSUPPORTED_SCHEMA.
 */
export async function listDataTables(client: ClientBase, schema: string): Promise<DataTable[]> {
  const { rows: columns } = await client.query<{ tbl: string; name: string; type: string; identity: string }>(
    `SELECT c.relname AS tbl, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity AS identity
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> $2 AND a.attgenerated = ''
      ORDER BY c.relname, a.attnum`,
    [schema, LEDGER_TABLE],
  );
  const tables = new Map<string, DataTable>();
  for (const column of columns) {
    const table = tables.get(column.tbl) ?? { name: column.tbl, columns: [], identityAlways: false };
    table.columns.push({ name: column.name, type: column.type });
    if (column.identity === 'a') table.identityAlways = true;
    tables.set(column.tbl, table);
  }
  const { rows: edges } = await client.query<{ child: string; parent: string }>(
    `SELECT DISTINCT c.relname AS child, p.relname AS parent
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_class p ON p.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND con.contype = 'f' AND con.conrelid <> con.confrelid AND p.relnamespace = c.relnamespace`,
    [schema],
  );
  return foreignKeyOrder([...tables.values()], edges);
}

/** Kahn's algorithm, ties by name, so the order is stable. */
function foreignKeyOrder(tables: DataTable[], edges: { child: string; parent: string }[]): DataTable[] {
  const parents = new Map(tables.map((t) => [t.name, new Set<string>()]));
  for (const { child, parent } of edges) if (parents.has(child) && parents.has(parent)) parents.get(child)!.add(parent);
  const ordered: DataTable[] = [];
  const remaining = [...tables].sort((a, b) => (a.name < b.name ? -1 : 1));
  while (remaining.length > 0) {
    const index = remaining.findIndex((t) => [...parents.get(t.name)!].every((p) => ordered.some((o) => o.name === p)));
    if (index < 0) {
      throw new TenantArchiveError(
        TenantArchiveErrorCode.UNSUPPORTED_SCHEMA,
        `Foreign keys form a cycle between ${remaining.map((t) => t.name).join(', ')}; they cannot be loaded in order`,
      );
    }
    ordered.push(...remaining.splice(index, 1));
  }
  return ordered;
}

/** The sequences of `schema`, by name. */
export async function listSequences(client: ClientBase, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname`,
    [schema],
  );
  return rows.map((row) => row.name);
}

export function qualified(schema: string, name: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(name)}`;
}
