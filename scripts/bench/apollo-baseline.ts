// Baseline (c): a bare Apollo Server over pg answering projects(first) with hand-written SQL — what a team writes
// by hand, with no tenancy layer, Nest or Prisma. Run as its own process: PORT, DATABASE_URL, PG_POOL_MAX.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { Pool } from 'pg';
import { projectsConnection } from './projects-sql';
import { schemaOfRequest } from './tenant-of-request';

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
        projects: (_: unknown, args: { first?: number }, context: { schema: string }) => projectsConnection(pool, context.schema, args.first ?? 20),
      },
    },
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: Number(process.env.PORT), host: '127.0.0.1' },
    context: async ({ req }) => ({ schema: schemaOfRequest(req.headers) }),
  });
  process.stdout.write(`ready ${url}\n`);
}

void main();
