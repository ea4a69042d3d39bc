// Baseline (d): Prisma alone, in-process — the generated tenant client over PrismaPg and one shared pg.Pool, one
// client per schema in an LRU of the same size as Tenantry's, running the repository's query: a page of projects
// with owners (Prisma's relation load) and the count. No HTTP, GraphQL, Nest or tenancy layer.
import { PrismaPg } from '@prisma/adapter-pg';
import { LRUCache } from 'lru-cache';
import { Pool } from 'pg';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { runInProcess, type LoadResult } from './load';

export async function runPrismaAlone(
  url: string,
  schemas: string[],
  pick: () => number,
  options: { connections: number; durationMs: number; pool: number; cacheSize: number },
): Promise<LoadResult> {
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
  const page = (client: PrismaClient) =>
    Promise.all([
      client.project.findMany({
        select: { id: true, name: true, description: true, ownerId: true, createdAt: true, owner: { select: { id: true, email: true } } },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: 21,
      }),
      client.project.count(),
    ]);
  // Warm-up as for Tenantry: the hot set in the LRU first, then the load itself.
  for (let i = 0; i < Math.min(options.cacheSize, schemas.length); i++) await page(clientFor(schemas[i]));
  await runInProcess({ connections: options.connections, durationMs: Math.min(options.durationMs, 3000) }, () => page(clientFor(schemas[pick()])));
  const result = await runInProcess(options, () => page(clientFor(schemas[pick()])));
  clients.clear();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await pool.end();
  return result;
}
