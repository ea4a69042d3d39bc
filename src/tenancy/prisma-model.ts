import type { DbObject } from './schema-catalog';
import { quoteIdentifier } from './tenant-id.util';

// The Prisma migrate engine cannot run here, so we do its work by hand: the data model (DMMF) of schema.prisma is
// rendered as one `key: description` entry per database object, exactly as schema-catalog.ts renders a migrated
// schema, so the two can be compared (the model-drift test) and their differences turned into SQL
// (`tenants migration new`). Anything the model maps in a way this file does not know throws instead of passing
// silently: extend it when schema.prisma grows a new kind of field.

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationName?: string;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}

interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string;
  algorithm?: string;
  fields: { name: string; sortOrder?: 'asc' | 'desc'; length?: number; operatorClass?: string }[];
}

export interface Datamodel {
  models: DmmfModel[];
  enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[];
  indexes: DmmfIndex[];
}

/** The DMMF of a schema.prisma text. Needs the devDependency @prisma/prisma-schema-wasm (a development-time tool). */
export function readDatamodel(prismaSchema: string): Datamodel {
  // Loaded on use, so that commands which never read schema.prisma run without development dependencies.
  const { get_dmmf } = require('@prisma/prisma-schema-wasm') as typeof import('@prisma/prisma-schema-wasm');
  return (JSON.parse(get_dmmf(JSON.stringify({ prismaSchema }))) as { datamodel: Datamodel }).datamodel;
}

const PG_MAX_IDENTIFIER = 63;

// Prisma's default constraint names (psl ConstraintNames): `{table}_{columns}` cut to fit, then the suffix.
function prismaName(parts: string[], suffix: string): string {
  const joined = parts.join('_');
  const limit = PG_MAX_IDENTIFIER - suffix.length;
  return (joined.length >= limit ? joined.slice(0, limit) : joined) + suffix;
}

// How PostgreSQL prints an identifier inside an expression (a default's cast, a regclass).
function pgIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdentifier(name);
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text', Boolean: 'boolean', Int: 'integer', BigInt: 'bigint', Float: 'double precision',
  Decimal: 'numeric(65,30)', DateTime: 'timestamp(3) without time zone', Json: 'jsonb', Bytes: 'bytea',
};

// Native types as format_type() prints what Prisma's migration creates; `(n)` stands for the attribute's arguments.
const NATIVE_TYPES: Record<string, string> = {
  Text: 'text', VarChar: 'character varying(n)', Char: 'character(n)', Uuid: 'uuid', Inet: 'inet', Xml: 'xml',
  Integer: 'integer', SmallInt: 'smallint', BigInt: 'bigint', Oid: 'oid', Real: 'real', DoublePrecision: 'double precision',
  Decimal: 'numeric(n)', Money: 'money', Boolean: 'boolean', Date: 'date', Json: 'json', JsonB: 'jsonb', ByteA: 'bytea',
  Timestamp: 'timestamp(n) without time zone', Timestamptz: 'timestamp(n) with time zone',
  Time: 'time(n) without time zone', Timetz: 'time(n) with time zone',
};

function unsupported(what: string): never {
  throw new Error(`model-drift does not know how Prisma maps ${what}; extend src/tenancy/prisma-model.ts`);
}

function columnType(field: DmmfField, model: string): string {
  let type: string;
  if (field.kind === 'enum') type = `enum ${field.type}`;
  else if (field.nativeType) {
    const [name, args] = field.nativeType;
    const native = NATIVE_TYPES[name] ?? unsupported(`@db.${name} (${model}.${field.name})`);
    type = native.replace('(n)', args.length > 0 ? `(${args.join(',')})` : '');
  } else type = SCALAR_TYPES[field.type] ?? unsupported(`${field.type} (${model}.${field.name})`);
  return field.isList ? `${type}[]` : type;
}

/** The default PostgreSQL stores for a field, or undefined when there is none (or Prisma Client fills it in). */
function columnDefault(field: DmmfField, table: string, column: string, type: string): string | undefined {
  const value = field.default;
  if (value === undefined) return undefined;
  if (field.isList) return unsupported(`a list default (${table}.${column})`);
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const fn = value as { name: string; args: unknown[] };
    switch (fn.name) {
      case 'now':
        return 'CURRENT_TIMESTAMP';
      case 'autoincrement':
        return `nextval('${pgIdent(`${table}_${column}_seq`)}'::regclass)`;
      case 'dbgenerated':
        return String(fn.args[0]);
      case 'uuid':
      case 'cuid':
      case 'nanoid':
      case 'ulid':
        return undefined; // generated by Prisma Client, not by the database
      default:
        return unsupported(`@default(${fn.name}()) (${table}.${column})`);
    }
  }
  if (field.kind === 'enum') return `'${String(value)}'::${pgIdent(field.type)}`;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && (type === 'text' || type.startsWith('character varying'))) {
    return `'${value.replace(/'/g, "''")}'::${type === 'text' ? 'text' : 'character varying'}`;
  }
  return unsupported(`the default ${JSON.stringify(value)} (${table}.${column})`);
}

const REFERENTIAL_ACTIONS: Record<string, string> = { Cascade: 'CASCADE', Restrict: 'RESTRICT', NoAction: 'NO ACTION', SetNull: 'SET NULL', SetDefault: 'SET DEFAULT' };

/** What `schema.prisma` says the database holds, as the migrations should create it. */
export function expectedObjects(datamodel: Datamodel): DbObject[] {
  const objects: DbObject[] = [];
  const models = new Map(datamodel.models.map((model) => [model.name, model]));
  const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
  const columnOf = (model: DmmfModel, fieldName: string) => {
    const field = model.fields.find((f) => f.name === fieldName) ?? unsupported(`the field ${model.name}.${fieldName}`);
    return field.dbName ?? field.name;
  };

  for (const e of datamodel.enums) {
    if (e.dbName || e.values.some((v) => v.dbName)) unsupported(`a mapped enum (${e.name})`);
    objects.push({ key: `enum ${e.name}`, description: `(${e.values.map((v) => v.name).join(', ')})` });
  }

  for (const model of datamodel.models) {
    const table = tableOf(model);
    objects.push({ key: `table ${table}`, description: '' });
    for (const field of model.fields) {
      if (field.kind === 'unsupported') unsupported(`Unsupported("${field.type}") (${model.name}.${field.name})`);
      if (field.kind === 'object') {
        const from = field.relationFromFields ?? [];
        if (from.length === 0) {
          const other = models.get(field.type)?.fields.find((f) => f.relationName === field.relationName && f !== field);
          if (!other?.relationFromFields?.length) unsupported(`the implicit many-to-many relation ${field.relationName}`);
          continue;
        }
        const target = models.get(field.type) ?? unsupported(`the relation target ${field.type}`);
        const columns = from.map((name) => columnOf(model, name));
        const onDelete = field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull');
        const onUpdate = field.relationOnUpdate ?? 'Cascade';
        objects.push({
          key: `foreign key ${table}.${prismaName([table, ...columns], '_fkey')}`,
          description:
            `(${columns.join(', ')}) REFERENCES ${tableOf(target)} (${(field.relationToFields ?? []).map((n) => columnOf(target, n)).join(', ')})` +
            ` ON DELETE ${REFERENTIAL_ACTIONS[onDelete]} ON UPDATE ${REFERENTIAL_ACTIONS[onUpdate]}`,
        });
        continue;
      }
      const column = field.dbName ?? field.name;
      const type = columnType(field, model.name);
      const dflt = columnDefault(field, table, column, type);
      // The DMMF calls scalar lists required, but Prisma creates their columns nullable.
      const notNull = field.isRequired && !field.isList;
      objects.push({
        key: `column ${table}.${column}`,
        description: `${type} ${notNull ? 'NOT NULL' : 'NULL'}${dflt === undefined ? '' : ` DEFAULT ${dflt}`}`,
      });
      if (field.default && (field.default as { name?: string }).name === 'autoincrement') {
        objects.push({ key: `sequence ${table}_${column}_seq`, description: '' });
      }
    }
  }

  for (const index of datamodel.indexes) {
    const model = models.get(index.model) ?? unsupported(`the index on ${index.model}`);
    const table = tableOf(model);
    const columns = index.fields.map((f) => {
      if (f.length !== undefined || f.operatorClass !== undefined) unsupported(`index length or ops (${table})`);
      return { name: columnOf(model, f.name), desc: f.sortOrder === 'desc' };
    });
    const list = columns.map((c) => `${c.name}${c.desc ? ' DESC' : ''}`).join(', ');
    const names = columns.map((c) => c.name);
    if (index.type === 'id') {
      objects.push({ key: `primary key ${table}`, description: `${index.dbName ?? prismaName([table], '_pkey')} (${list})` });
    } else if (index.type === 'unique' || index.type === 'normal') {
      const unique = index.type === 'unique';
      const name = index.dbName ?? prismaName([table, ...names], unique ? '_key' : '_idx');
      const method = (index.algorithm ?? 'BTree').toLowerCase();
      objects.push({ key: `index ${table}.${name}`, description: `${unique ? 'UNIQUE ' : ''}${method} (${list})` });
    } else unsupported(`a ${index.type} index (${table})`);
  }
  return objects;
}
