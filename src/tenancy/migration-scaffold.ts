import { LEDGER_TABLE } from './migration-runner';
import type { DbObject } from './schema-catalog';
import { quoteIdentifier as q } from './tenant-id.util';

// Turns the difference between what schema.prisma describes (prisma-model.ts) and what the migrations build
// (schema-catalog.ts) into the SQL of a new migration. Both sides are `key: description` objects in the same
// grammar, parsed back here. What it cannot express safely becomes a `-- TODO` line for the author.

export interface Scaffold {
  /** The statements, grouped and commented; empty when there is no difference. */
  sql: string;
  statements: number;
  /** Differences left for the author, also written into the file as TODO comments. */
  todos: string[];
}

interface Column {
  type: string;
  notNull: boolean;
  default?: string;
}

const KEY = /^(primary key|foreign key|table|column|index|enum|sequence) (.+)$/;

/** Differences this generator acts on; CHECKs, views, functions and the like are the author's (Prisma cannot model them). */
function parseKey(key: string): { kind: string; table: string; name: string } | undefined {
  const match = KEY.exec(key);
  if (!match) return undefined;
  const [, kind, rest] = match;
  const dot = kind === 'column' || kind === 'index' || kind === 'foreign key' ? rest.indexOf('.') : -1;
  return dot < 0 ? { kind, table: rest, name: rest } : { kind, table: rest.slice(0, dot), name: rest.slice(dot + 1) };
}

function parseColumn(description: string): Column | undefined {
  const match = /^(.+?) (NOT NULL|NULL)(?: DEFAULT (.+))?$/.exec(description);
  if (!match) return undefined;
  return { type: match[1], notNull: match[2] === 'NOT NULL', default: match[3] };
}

/** `enum Role` / `enum Role[]` are printed by name; everything else is format_type() text, valid SQL as it is. */
function sqlType(type: string): string {
  const match = /^enum (.+?)(\[\])?$/.exec(type);
  return match ? `${q(match[1])}${match[2] ?? ''}` : type;
}

const SERIALS: Record<string, string> = { integer: 'SERIAL', bigint: 'BIGSERIAL', smallint: 'SMALLSERIAL' };

function columnSql(name: string, column: Column): string {
  const serial = column.default?.startsWith('nextval(') ? SERIALS[column.type] : undefined;
  if (serial) return `${q(name)} ${serial}${column.notNull ? ' NOT NULL' : ''}`;
  return `${q(name)} ${sqlType(column.type)}${column.notNull ? ' NOT NULL' : ''}${column.default ? ` DEFAULT ${column.default}` : ''}`;
}

/** `a, b DESC` → `"a", "b" DESC` */
function columnList(list: string): string {
  return list
    .split(', ')
    .map((part) => (part.endsWith(' DESC') ? `${q(part.slice(0, -5))} DESC` : q(part)))
    .join(', ');
}

function indexSql(table: string, name: string, description: string): string | undefined {
  const match = /^(UNIQUE )?(\w+) \((.+)\)$/.exec(description);
  if (!match) return undefined;
  const using = match[2] === 'btree' ? '' : ` USING ${match[2]}`;
  return `CREATE ${match[1] ? 'UNIQUE ' : ''}INDEX ${q(name)} ON ${q(table)}${using}(${columnList(match[3])});`;
}

function foreignKeySql(table: string, name: string, description: string): string | undefined {
  const match = /^\((.+)\) REFERENCES (\S+) \((.+)\) ON DELETE ([A-Z ]+) ON UPDATE ([A-Z ]+?)( DEFERRABLE)?$/.exec(description);
  if (!match) return undefined;
  const [, columns, target, targetColumns, onDelete, onUpdate, deferrable] = match;
  return (
    `ALTER TABLE ${q(table)} ADD CONSTRAINT ${q(name)} FOREIGN KEY (${columnList(columns)}) ` +
    `REFERENCES ${q(target)}(${columnList(targetColumns)}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}${deferrable ?? ''};`
  );
}

function enumLabels(description: string): string[] {
  const inner = description.replace(/^\(/, '').replace(/\)$/, '');
  return inner.length === 0 ? [] : inner.split(', ');
}

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

/**
 * The SQL that takes a schema built by the migrations (`actual`) to what the model describes (`expected`): new
 * enums and values, tables, columns, column changes, indexes and foreign keys first, then what the model dropped.
 */
export function scaffoldMigration(expected: DbObject[], actual: DbObject[]): Scaffold {
  const want = new Map(expected.map((o) => [o.key, o.description]));
  const have = new Map(actual.filter((o) => parseKey(o.key)?.table !== LEDGER_TABLE).map((o) => [o.key, o.description]));
  const todos: string[] = [];
  const sections: { title: string; lines: string[] }[] = [];
  const section = (title: string) => {
    const s = { title, lines: [] as string[] };
    sections.push(s);
    return s.lines;
  };
  const keys = (map: Map<string, string>, kind: string, filter: (key: string) => boolean = () => true) =>
    [...map.keys()].filter((key) => parseKey(key)?.kind === kind && filter(key)).sort();
  const newTables = new Set(keys(want, 'table', (k) => !have.has(k)).map((k) => parseKey(k)!.table));
  const goneTables = new Set(keys(have, 'table', (k) => !want.has(k)).map((k) => parseKey(k)!.table));
  const onTable = (tables: Set<string>) => (key: string) => tables.has(parseKey(key)!.table);

  const enums = section('CreateEnum / AlterEnum');
  for (const key of keys(want, 'enum')) {
    const name = parseKey(key)!.name;
    const labels = enumLabels(want.get(key)!);
    const current = have.get(key);
    if (current === undefined) {
      enums.push(`CREATE TYPE ${q(name)} AS ENUM (${labels.map(literal).join(', ')});`);
      continue;
    }
    const existing = enumLabels(current);
    const removed = existing.filter((label) => !labels.includes(label));
    if (removed.length > 0) todos.push(`enum ${name} loses ${removed.join(', ')}: PostgreSQL cannot drop enum values; recreate the type`);
    for (const label of labels.filter((l) => !existing.includes(l))) {
      // A value added here cannot be used by a later statement of the same transaction (e.g. provisioning's).
      enums.push(`ALTER TYPE ${q(name)} ADD VALUE ${literal(label)};`);
    }
  }

  const tables = section('CreateTable');
  for (const table of [...newTables].sort()) {
    const columns = keys(want, 'column', (k) => parseKey(k)!.table === table).map((key) => {
      const column = parseColumn(want.get(key)!);
      return column ? `    ${columnSql(parseKey(key)!.name, column)}` : `    -- TODO: ${key}: ${want.get(key)}`;
    });
    const pk = /^(\S+) \((.+)\)$/.exec(want.get(`primary key ${table}`) ?? '');
    if (pk) columns.push(`    CONSTRAINT ${q(pk[1])} PRIMARY KEY (${columnList(pk[2])})`);
    tables.push(`CREATE TABLE ${q(table)} (\n${columns.join(',\n')}\n);`);
  }

  const columns = section('AlterTable');
  for (const key of keys(want, 'column', (k) => !onTable(newTables)(k))) {
    const { table, name } = parseKey(key)!;
    const target = parseColumn(want.get(key)!);
    const current = have.has(key) ? parseColumn(have.get(key)!) : undefined;
    if (!target || (have.has(key) && !current)) {
      if (want.get(key) !== have.get(key)) todos.push(`${key}: the migrations make it "${have.get(key)}", the model "${want.get(key)}"`);
      continue;
    }
    if (!current) {
      if (target.notNull && !target.default) {
        columns.push(`-- NOT NULL without a default fails on a table with rows: add it nullable, backfill, then SET NOT NULL.`);
      }
      columns.push(`ALTER TABLE ${q(table)} ADD COLUMN ${columnSql(name, target)};`);
      continue;
    }
    if (current.type !== target.type) {
      columns.push(`-- Rewrites the table under an ACCESS EXCLUSIVE lock; add USING if the old values need converting.`);
      columns.push(`ALTER TABLE ${q(table)} ALTER COLUMN ${q(name)} SET DATA TYPE ${sqlType(target.type)};`);
    }
    if (current.default !== target.default) {
      columns.push(`ALTER TABLE ${q(table)} ALTER COLUMN ${q(name)} ${target.default ? `SET DEFAULT ${target.default}` : 'DROP DEFAULT'};`);
    }
    if (current.notNull !== target.notNull) {
      columns.push(`ALTER TABLE ${q(table)} ALTER COLUMN ${q(name)} ${target.notNull ? 'SET' : 'DROP'} NOT NULL;`);
    }
  }
  for (const key of keys(want, 'primary key', (k) => !onTable(newTables)(k) && want.get(k) !== have.get(k))) {
    todos.push(`${key}: the migrations make it "${have.get(key) ?? 'none'}", the model "${want.get(key)}"`);
  }
  for (const key of keys(want, 'sequence', (k) => !have.has(k))) {
    // SERIAL columns create their own sequence; any other is the author's.
    const column = [...want.keys()].find((k) => k.startsWith('column ') && `sequence ${k.slice(7).replace('.', '_')}_seq` === key);
    if (!column) todos.push(`${key} is missing`);
  }

  // Dropped first: an index or foreign key whose definition changed is dropped and created again under its name.
  const dropKeys = section('DropForeignKey / DropIndex');
  const indexes = section('CreateIndex');
  const foreignKeys = section('AddForeignKey');
  for (const key of keys(want, 'index', (k) => want.get(k) !== have.get(k))) {
    const { table, name } = parseKey(key)!;
    if (have.has(key)) dropKeys.push(`DROP INDEX ${q(name)};`);
    const sql = indexSql(table, name, want.get(key)!);
    if (sql) indexes.push(sql);
    else todos.push(`${key}: ${want.get(key)}`);
  }
  for (const key of keys(want, 'foreign key', (k) => want.get(k) !== have.get(k))) {
    const { table, name } = parseKey(key)!;
    if (have.has(key)) dropKeys.push(`ALTER TABLE ${q(table)} DROP CONSTRAINT ${q(name)};`);
    const sql = foreignKeySql(table, name, want.get(key)!);
    if (sql) foreignKeys.push(sql);
    else todos.push(`${key}: ${want.get(key)}`);
  }

  // What the model no longer has. The contract step: only once no running code reads it.
  for (const key of keys(have, 'foreign key', (k) => !want.has(k) && !onTable(goneTables)(k))) {
    const { table, name } = parseKey(key)!;
    dropKeys.push(`ALTER TABLE ${q(table)} DROP CONSTRAINT ${q(name)};`);
  }
  for (const key of keys(have, 'index', (k) => !want.has(k) && !onTable(goneTables)(k))) {
    const { table, name } = parseKey(key)!;
    dropKeys.push(
      have.get(key)!.startsWith('UNIQUE CONSTRAINT') ? `ALTER TABLE ${q(table)} DROP CONSTRAINT ${q(name)};` : `DROP INDEX ${q(name)};`,
    );
  }
  const drops = section('DropColumn / DropTable / DropEnum (contract: only once no running code reads them)');
  for (const key of keys(have, 'column', (k) => !want.has(k) && !onTable(goneTables)(k))) {
    const { table, name } = parseKey(key)!;
    drops.push(`ALTER TABLE ${q(table)} DROP COLUMN ${q(name)};`);
  }
  for (const table of [...goneTables].sort()) drops.push(`DROP TABLE ${q(table)};`);
  for (const key of keys(have, 'enum', (k) => !want.has(k))) drops.push(`DROP TYPE ${q(parseKey(key)!.name)};`);

  const used = sections.filter((s) => s.lines.length > 0);
  const sql = used.map((s) => `-- ${s.title}\n${s.lines.join('\n')}\n`).join('\n');
  const statements = used.reduce((n, s) => n + s.lines.filter((line) => !line.startsWith('--')).length, 0);
  return { sql, statements, todos };
}
