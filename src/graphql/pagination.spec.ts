import { AppError, ErrorCode } from './app-error';
import { decodeCursor, encodeCursor, type Keyset, toConnection } from './pagination';

const ID = '0b0e7c5a-4c1d-4f59-9a3e-2f6d8c1b7e90';
const encode = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function row(n: number): Keyset & { name: string } {
  return { createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 60 - n)), id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, name: `p${n}` };
}

describe('cursors', () => {
  it('round-trips a keyset through an opaque, URL-safe cursor', () => {
    const key = { createdAt: new Date('2026-11-25T10:11:12.345Z'), id: ID };
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(key);
  });

  it.each([
    ['garbage', 'not a cursor'],
    ['an empty string', ''],
    ['base64 of non-JSON', encode('hello')],
    ['JSON null', encode(null)],
    ['a JSON object', encode({ createdAt: '2026-01-01T00:00:00.000Z', id: ID })],
    ['a one-element array', encode(['2026-01-01T00:00:00.000Z'])],
    ['a three-element array', encode(['2026-01-01T00:00:00.000Z', ID, 'x'])],
    ['a numeric timestamp', encode([0, ID])],
    ['an invalid date', encode(['yesterday-ish', ID])],
    ['a timestamp in a form the API never issues', encode(['1', ID])],
    ['a non-uuid id', encode(['2026-01-01T00:00:00.000Z', 'not-a-uuid'])],
    ['an id with SQL in it', encode(['2026-01-01T00:00:00.000Z', `${ID}' OR 1=1 --`])],
    ['a numeric id', encode(['2026-01-01T00:00:00.000Z', 42])],
  ])('rejects %s as BAD_USER_INPUT on `after`', (_what, cursor) => {
    let error: unknown;
    try {
      decodeCursor(cursor);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: ErrorCode.BAD_USER_INPUT, details: { fields: [{ path: 'after', message: expect.any(String) }] } });
  });
});

describe('toConnection', () => {
  it('returns the first page with a next page when one more row was fetched', () => {
    const rows = [row(1), row(2), row(3), row(4)];
    const connection = toConnection(rows, 3, undefined, 10);
    expect(connection.edges.map((edge) => edge.node.name)).toEqual(['p1', 'p2', 'p3']);
    expect(connection.edges.map((edge) => decodeCursor(edge.cursor))).toEqual(rows.slice(0, 3).map(({ createdAt, id }) => ({ createdAt, id })));
    expect(connection.totalCount).toBe(10);
    expect(connection.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: encodeCursor(rows[0]),
      endCursor: encodeCursor(rows[2]),
    });
  });

  it('has no next page when no extra row came back, and a previous page after a cursor', () => {
    const rows = [row(5), row(6)];
    const { pageInfo } = toConnection(rows, 2, encodeCursor(row(4)), 6);
    expect(pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: encodeCursor(rows[0]), endCursor: encodeCursor(rows[1]) });
  });

  it('answers an empty page with null cursors', () => {
    expect(toConnection([], 20, undefined, 0)).toEqual({
      edges: [],
      totalCount: 0,
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('answers first: 0 with no edges but tells whether rows exist', () => {
    const connection = toConnection([row(1)], 0, undefined, 1);
    expect(connection.edges).toEqual([]);
    expect(connection.pageInfo).toMatchObject({ hasNextPage: true, startCursor: null, endCursor: null });
  });
});
