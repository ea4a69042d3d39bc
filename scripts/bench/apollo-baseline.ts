// Baseline (c): a bare Apollo Server over pg answering projects(first) with hand-written SQL — what a team writes
// by hand, with no tenancy layer, Nest or Prisma. Run as its own process: PORT, DATABASE_URL, PG_POOL_MAX.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { Pool } from 'pg';
import { projectsPage } from './projects-sql';

const typeDefs = `#graphql
  type User { id: ID! email: String! }
  type Project { id: ID! name: String! description: String createdAt: String! owner: User! }
  type ProjectEdge { cursor: String! node: Project! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type ProjectConnection { edges: [ProjectEdge!]! pageInfo: PageInfo! totalCount: Int! }
  type Query { projects(first: Int): ProjectConnection! }
`;

async function main() {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL_MAX ?? 10) });
  const server = new ApolloServer<{ schema: string }>({
    typeDefs,
    resolvers: {
      Query: {
        projects: async (_: unknown, args: { first?: number }, context: { schema: string }) => {
          const page = await projectsPage(pool, context.schema, args.first ?? 20);
          const edges = page.rows.map((row) => ({
            cursor: Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url'),
            node: { ...row, createdAt: row.createdAt.toISOString(), owner: { id: row.ownerId, email: row.ownerEmail } },
          }));
          return { edges, totalCount: page.totalCount, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
        },
      },
    },
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
    // The same id rule as Tenantry, so a hostile header cannot reach SQL here either.
    context: async ({ req }) => {
      const id = String(req.headers['x-tenant-id'] ?? '');
      if (!/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/.test(id)) throw new Error('bad tenant');
      return { schema: `tenant_${id.replace(/-/g, '_')}` };
    },
  });
  process.stdout.write(`ready ${url}\n`);
}

void main();
