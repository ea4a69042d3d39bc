// Baseline (g): Nest + Apollo (code-first, Express) + Prisma, answering projects(first) through the generated tenant
// client of the request's schema, with no tenancy layer (no registry, context, roles, limiter or transaction), no
// auth and no plugins: the same stack as Tenantry minus what makes it multi-tenant and safe, so Tenantry ÷ (g) is what
// those cost. Run as its own process: PORT, DATABASE_URL, PG_POOL_MAX, TENANT_CLIENT_CACHE_SIZE. NEST_ADAPTER=fastify
// runs it on Nest's Fastify adapter instead (row (h)): what Fastify under Apollo would gain this stack.
import 'reflect-metadata';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Args, Context, Field, GraphQLModule, ID, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import type { IncomingHttpHeaders } from 'node:http';
import { prismaAlone } from './prisma-baseline';
import { schemaOfRequest } from './tenant-of-request';

@ObjectType()
class UserNode {
  @Field(() => ID) id: string;
  @Field() email: string;
}

@ObjectType()
class ProjectNode {
  @Field(() => ID) id: string;
  @Field() name: string;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field() createdAt: Date;
  @Field(() => UserNode) owner: UserNode;
}

@ObjectType()
class ProjectEdgeNode {
  @Field() cursor: string;
  @Field(() => ProjectNode) node: ProjectNode;
}

@ObjectType()
class PageInfoNode {
  @Field() hasNextPage: boolean;
  @Field(() => String, { nullable: true }) endCursor: string | null;
}

@ObjectType()
class ProjectConnectionNode {
  @Field(() => [ProjectEdgeNode]) edges: ProjectEdgeNode[];
  @Field(() => PageInfoNode) pageInfo: PageInfoNode;
  @Field(() => Int) totalCount: number;
}

const fastify = process.env.NEST_ADAPTER === 'fastify';

const prisma = prismaAlone(process.env.DATABASE_URL!, {
  pool: Number(process.env.PG_POOL_MAX ?? 10),
  cacheSize: Number(process.env.TENANT_CLIENT_CACHE_SIZE ?? 100),
});

@Resolver()
class ProjectsResolver {
  @Query(() => ProjectConnectionNode)
  async projects(
    @Args('first', { type: () => Int, nullable: true }) first: number | null,
    @Context('req') req: { headers: IncomingHttpHeaders },
  ): Promise<ProjectConnectionNode> {
    const size = first ?? 20;
    const [rows, totalCount] = await prisma.page(schemaOfRequest(req.headers), size + 1);
    const edges = rows.slice(0, size).map((row) => ({
      cursor: Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url'),
      node: row,
    }));
    return { edges, totalCount, pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}

@Module({
  imports: [
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      playground: false,
      // Express's integration passes { req, res }; Fastify's passes (request, reply).
      context: fastify ? (request: unknown) => ({ req: request }) : ({ req }: { req: unknown }) => ({ req }),
    }),
  ],
  providers: [ProjectsResolver],
})
class BaselineModule {}

async function main() {
  const app = fastify
    ? await NestFactory.create(BaselineModule, new FastifyAdapter(), { logger: ['error'] })
    : await NestFactory.create(BaselineModule, { logger: ['error'] });
  // A clean exit on SIGTERM, so that --cpu-prof writes its profile.
  process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  process.stdout.write('ready\n');
}

void main();
