import type { ClientBase } from 'pg';
import { readSchemaCatalogs, type DbObject } from '../../src/tenancy/schema-catalog';

// The model side (schema.prisma → expected objects) lives in src/tenancy/prisma-model.ts, shared with
// `tenants migration new`; this file adds what only the model-drift test needs.
export { expectedObjects, readDatamodel, type Datamodel } from '../../src/tenancy/prisma-model';
export type { DbObject };

/** Everything in `schema` that a migration could have created, read from pg_catalog by the reader `tenants status` uses. */
export async function actualObjects(client: ClientBase, schema: string): Promise<DbObject[]> {
  await client.query('BEGIN READ ONLY');
  try {
    return (await readSchemaCatalogs(client, [schema])).get(schema)!;
  } finally {
    await client.query('ROLLBACK');
  }
}

/** An object the database may hold although the model cannot describe it: a whole table, or one object by key. */
export type AllowedExtra = ({ table: string } | { key: string }) & { reason: string };

function allows(extra: AllowedExtra, key: string): boolean {
  if ('key' in extra) return extra.key === key;
  // A table's parts are keyed `<kind> <table>` or `<kind> <table>.<name>`.
  return key.endsWith(` ${extra.table}`) || key.includes(` ${extra.table}.`);
}

/**
 * A readable diff, one line per object, sorted by key: `- key: description` is what the model wants and the
 * database lacks (or holds differently), `+ key: description` what the database holds that the model lacks,
 * `? key` an allowed extra that no longer exists (so the list of exceptions cannot rot). Empty when all agree.
 */
export function modelDrift(expected: DbObject[], actual: DbObject[], allowed: AllowedExtra[] = []): string[] {
  const render = (o: DbObject) => (o.description ? `${o.key}: ${o.description}` : o.key);
  const want = new Map(expected.map((o) => [render(o), o.key]));
  const have = new Map(actual.filter((o) => !allowed.some((extra) => allows(extra, o.key))).map((o) => [render(o), o.key]));
  const lines = [
    ...[...want].filter(([line]) => !have.has(line)).map(([line, key]) => ({ key, sign: '-', line })),
    ...[...have].filter(([line]) => !want.has(line)).map(([line, key]) => ({ key, sign: '+', line })),
    ...allowed
      .filter((extra) => !actual.some((o) => allows(extra, o.key)))
      .map((extra) => {
        const key = 'key' in extra ? extra.key : `table ${extra.table}`;
        return { key, sign: '?', line: `${key} is allowed (${extra.reason}) but absent` };
      }),
  ];
  const order = { '-': 0, '+': 1, '?': 2 } as Record<string, number>;
  return lines
    .sort((a, b) => a.key.localeCompare(b.key) || order[a.sign] - order[b.sign])
    .map(({ sign, line }) => `${sign} ${line}`);
}
