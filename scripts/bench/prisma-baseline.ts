// Baseline (d): Prisma alone, in-process — the generated tenant client over PrismaPg and one shared pg.Pool, one
// client per schema in an LRU of the same size as Tenantry's, running the repository's query: a page of projects
// with owners (Prisma's relation load) and the count. No HTTP, GraphQL, Nest or tenancy layer.
import { PrismaPg } from '@prisma/adapter-pg';
import { LRUCache } from 'lru-cache';
import { Pool } from 'pg';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';

/** The Prisma-alone target: `page(schema)` runs the repository's query through that schema's cached client. */
export function prismaAlone(url: string, options: { pool: number; cacheSize: number }) {
  const pool = new Pool({ connectionString: url, max: options.pool });
  pool.setMaxListeners(options.cacheSize * 2 + 10);
  const clients = new LRUCache<string, PrismaClient>({
    max: options.cacheSize,
    dispose: (client) => void client.$disconnect().catch(() => undefined),
  });
  const clientFor = (schema: string) => {
    let client = clients.get(schema);
    if (!client) clients.set(schema, (client = new PrismaClient({ adapter: new PrismaPg(pool, { schema, disposeExternalPool: false }) })));
    return client;
  };
  return {
    page: (schema: string, take = 21) => {
      const client = clientFor(schema);
      return Promise.all([
        client.project.findMany({
          select: { id: true, name: true, description: true, ownerId: true, createdAt: true, owner: { select: { id: true, email: true } } },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
          take,
        }),
        client.project.count(),
      ]);
    },
    close: async () => {
      clients.clear();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await pool.end();
    },
  };
}
