// The SQL a team would hand-write for `projects(first: 20)` with owners (one keyset page joined to owners, and the
// total: P1's baselines (a), (b) and (c) run exactly these statements) and for `updateProject` (`writes`' (a)).
import type { Pool } from 'pg';

export async function projectsPage(pool: Pool, schema: string, first: number) {
  const [page, total] = await Promise.all([
    pool.query(
      `SELECT p.id, p.name, p.description, p."createdAt", u.id AS "ownerId", u.email AS "ownerEmail"
         FROM "${schema}"."Project" p JOIN "${schema}"."User" u ON u.id = p."ownerId"
        ORDER BY p."createdAt" DESC, p.id DESC LIMIT $1`,
      [first + 1],
    ),
    pool.query(`SELECT count(*)::int AS n FROM "${schema}"."Project"`),
  ]);
  return { rows: page.rows.slice(0, first), hasNextPage: page.rows.length > first, totalCount: total.rows[0].n as number };
}

/** The page shaped as the GraphQL `ProjectConnection` both baseline servers answer with. */
export async function projectsConnection(pool: Pool, schema: string, first: number) {
  const page = await projectsPage(pool, schema, first);
  const edges = page.rows.map((row) => ({
    cursor: Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url'),
    node: { id: row.id, name: row.name, description: row.description, createdAt: row.createdAt.toISOString(), owner: { id: row.ownerId, email: row.ownerEmail } },
  }));
  return { totalCount: page.totalCount, edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** The statement a team would hand-write for `updateProject(id, { description })`: baseline (a) of `writes`. */
export async function updateDescription(pool: Pool, schema: string, id: string, description: string) {
  const { rows } = await pool.query(
    `UPDATE "${schema}"."Project" SET description = $1, "updatedAt" = now() WHERE id = $2 RETURNING id, description`,
    [description, id],
  );
  if (rows.length !== 1) throw new Error(`No project ${id} in ${schema}`);
  return rows[0];
}
