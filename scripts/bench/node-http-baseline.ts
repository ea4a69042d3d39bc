// Baseline (b): the least a server can do — node:http, JSON.parse, the same SQL over pg, JSON.stringify. No
// GraphQL execution (the document is not even parsed), so the gap to (c) is what GraphQL itself costs.
// Run as its own process: PORT, DATABASE_URL, PG_POOL_MAX.
import { createServer } from 'node:http';
import { Pool } from 'pg';
import { projectsConnection } from './projects-sql';
import { schemaOfRequest } from './tenant-of-request';

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL_MAX ?? 10) });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    let status = 200;
    let body: unknown;
    try {
      const { variables } = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { variables?: { first?: number } };
      body = { data: { projects: await projectsConnection(pool, schemaOfRequest(req.headers), variables?.first ?? 20) } };
    } catch (error) {
      status = 400;
      body = { errors: [{ message: (error as Error).message }] };
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
