import { Type } from '@nestjs/common';
import { ArgsType, Field, Int, ObjectType } from '@nestjs/graphql';
import { IsOptional, Max, Min } from 'class-validator';
import { badUserInput } from './app-error';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size, ${DEFAULT_PAGE_SIZE} by default, at most ${MAX_PAGE_SIZE}.` })
  @IsOptional()
  @Min(0)
  @Max(MAX_PAGE_SIZE)
  first?: number;

  @Field(() => String, { nullable: true, description: 'An endCursor from a previous page.' })
  @IsOptional()
  after?: string;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage: boolean;

  @Field()
  hasPreviousPage: boolean;

  @Field(() => String, { nullable: true })
  startCursor: string | null;

  @Field(() => String, { nullable: true })
  endCursor: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  /** A promise when built from a counting function: the count runs only if the client selects `totalCount`. */
  totalCount: number | Promise<number>;
}

/** A Relay connection type for `node` (e.g. ProjectConnection with ProjectEdge). */
export function connectionOf<T>(node: Type<T>, name: string): Type<Connection<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor: string;

    @Field(() => node)
    node: T;
  }

  @ObjectType(`${name}Connection`, { isAbstract: false })
  class ConnectionType {
    @Field(() => [Edge])
    edges: Edge[];

    @Field(() => PageInfo)
    pageInfo: PageInfo;

    @Field(() => Int)
    totalCount: number;
  }
  return ConnectionType as Type<Connection<T>>;
}

/** The position of a row in `createdAt DESC, id DESC` order. */
export interface Keyset {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(key: Keyset): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id])).toString('base64url');
}

/** Cursors are opaque to clients; anything we did not issue is BAD_USER_INPUT. */
export function decodeCursor(cursor: string): Keyset {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const createdAt = new Date(value[0]);
      // Only the exact form we issue: an ISO timestamp that round-trips, and a uuid.
      if (!Number.isNaN(createdAt.getTime()) && createdAt.toISOString() === value[0] && UUID.test(value[1])) {
        return { createdAt, id: value[1] };
      }
    }
  } catch {
    // falls through to the typed error
  }
  throw badUserInput('Invalid cursor', { after: 'is not a cursor this API issued' });
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Builds the connection from `first + 1` rows fetched after the cursor. */
export function toConnection<T extends Keyset>(rows: T[], first: number, after: string | undefined, totalCount: number | (() => Promise<number>)): Connection<T> {
  return toConnectionBy(rows, first, after, totalCount, encodeCursor);
}

/** Like toConnection, for any order: `cursorOf` encodes a row's position in it. */
export function toConnectionBy<T>(
  rows: T[],
  first: number,
  after: string | undefined,
  totalCount: number | (() => Promise<number>),
  cursorOf: (row: T) => string,
): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  const connection = {
    edges,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  } as Connection<T>;
  if (typeof totalCount === 'number') return { ...connection, totalCount };
  // A getter: GraphQL's default resolver reads it only when `totalCount` is selected, and then once.
  let count: Promise<number> | undefined;
  return Object.defineProperty(connection, 'totalCount', { enumerable: true, get: () => (count ??= totalCount()) });
}
