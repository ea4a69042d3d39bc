import { registerEnumType } from '@nestjs/graphql';
import { badUserInput } from './app-error';
import { isUuid } from './pagination';

export enum OrderDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(OrderDirection, { name: 'OrderDirection' });

/** A column a list may be sorted by; `id` in the same direction breaks ties, so the order is total. */
export interface SortColumn {
  column: string;
  kind: 'date' | 'string';
  /** Nullable columns sort their nulls last in both directions. */
  nullable?: boolean;
}

/** Where a page ends: the sort column's value and the id of the last row. */
export interface SortKey {
  value: Date | string | null;
  id: string;
}

export interface Sort {
  /** The name the cursor carries, e.g. `TITLE`: a cursor of one order is refused by another. */
  name: string;
  spec: SortColumn;
  direction: OrderDirection;
}

export function sortCursor(sort: Sort, row: { id: string }): string {
  const value = (row as unknown as Record<string, unknown>)[sort.spec.column];
  const encoded = value instanceof Date ? value.toISOString() : (value as string | null);
  return Buffer.from(JSON.stringify([sort.name, sort.direction, encoded, row.id])).toString('base64url');
}

/** Only a cursor this API issued for the same order decodes; anything else is BAD_USER_INPUT. */
export function decodeSortCursor(sort: Sort, cursor: string): SortKey {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 4 && value[0] === sort.name && value[1] === sort.direction && typeof value[3] === 'string' && isUuid(value[3])) {
      const raw: unknown = value[2];
      if (raw === null && sort.spec.nullable) return { value: null, id: value[3] };
      if (typeof raw === 'string' && sort.spec.kind === 'string') return { value: raw, id: value[3] };
      if (typeof raw === 'string' && sort.spec.kind === 'date') {
        const date = new Date(raw);
        if (!Number.isNaN(date.getTime()) && date.toISOString() === raw) return { value: date, id: value[3] };
      }
    }
  } catch {
    // falls through to the typed error
  }
  throw badUserInput('Invalid cursor', { after: 'is not a cursor this API issued for this order' });
}

/** The ORDER BY of a sort, in Prisma's shape. */
export function orderByOf(sort: Sort) {
  const direction = sort.direction === OrderDirection.ASC ? ('asc' as const) : ('desc' as const);
  const first = sort.spec.nullable ? { sort: direction, nulls: 'last' as const } : direction;
  return [{ [sort.spec.column]: first }, { id: direction }];
}

/** The rows strictly after `key` in the sort's order, as a Prisma `where`. */
export function afterKeyOf(sort: Sort, key: SortKey): Record<string, unknown> {
  const op = sort.direction === OrderDirection.ASC ? 'gt' : 'lt';
  const column = sort.spec.column;
  // Nulls come last: after a null only nulls with a later id remain; after a value, the nulls still follow.
  if (key.value === null) return { [column]: null, id: { [op]: key.id } };
  return {
    OR: [
      { [column]: { [op]: key.value } },
      { [column]: key.value, id: { [op]: key.id } },
      ...(sort.spec.nullable ? [{ [column]: null }] : []),
    ],
  };
}
