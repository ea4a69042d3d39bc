// What a PostgreSQL backend pays for each tenant schema it serves: one connection runs P1's two statements (the page
// with owners, the count) against every tenant's schema in turn, three passes, and reads its backend's CPU time and
// private memory from /proc. The first pass loads each schema's catalog into the backend's caches, where it stays for
// the backend's lifetime; later passes find it there. The same statements against one schema, as often, are the floor.
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import type { BenchOptions, Fixture } from './fixture';
import { fixed, log, round, table } from './report';
import { cpuSeconds } from './servers';

export interface CatalogPass {
  pass: string;
  /** Backend CPU per tenant (both statements), ms. */
  backendCpuMs: number;
  /** The backend's private memory (RssAnon) after the pass, MB. */
  backendMemoryMb: number;
}

export interface CatalogResult {
  scenario: 'catalog cost per tenant schema';
  tenants: number;
  passes: CatalogPass[];
  /** Memory the first pass added, per tenant schema, KB. */
  memoryPerSchemaKb: number;
}

export async function catalogScenario(fixture: Fixture, _options: BenchOptions): Promise<CatalogResult> {
  const client = new Client({ connectionString: fixture.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0].pid;
    const memoryMb = () => Number(/^RssAnon:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${backend}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
    const statements = (schema: string) => [
      `SELECT p.id, p.name, p.description, p."createdAt", u.id AS "ownerId", u.email FROM "${schema}"."Project" p
         JOIN "${schema}"."User" u ON u.id = p."ownerId" ORDER BY p."createdAt" DESC, p.id DESC LIMIT 21`,
      `SELECT count(*)::int AS n FROM "${schema}"."Project"`,
    ];
    const schemas = fixture.tenants.map((tenant) => tenant.schemaName);
    const pass = async (name: string, order: string[]): Promise<CatalogPass> => {
      const cpu0 = cpuSeconds(backend);
      for (const schema of order) for (const sql of statements(schema)) await client.query(sql);
      const result = { pass: name, backendCpuMs: round(((cpuSeconds(backend) - cpu0) * 1000) / order.length, 3), backendMemoryMb: round(memoryMb(), 1) };
      log(`  catalog: ${name}: ${fixed(result.backendCpuMs, 3)} ms of backend CPU per tenant, backend ${fixed(result.backendMemoryMb, 1)} MB`);
      return result;
    };
    log(`catalog: one connection, P1's two statements against each of ${schemas.length} tenant schemas`);
    const startMb = memoryMb();
    const passes = [await pass('first touch of each schema', schemas)];
    const afterFirstMb = passes[0].backendMemoryMb;
    passes.push(await pass('second pass', schemas), await pass('third pass', schemas));
    passes.push(await pass('one schema, as many times', schemas.map(() => schemas[0])));
    return { scenario: 'catalog cost per tenant schema', tenants: schemas.length, passes, memoryPerSchemaKb: round(((afterFirstMb - startMb) * 1024) / schemas.length, 1) };
  } finally {
    await client.end();
  }
}

export function catalogTable(result: CatalogResult): string {
  return [
    table(
      ['pass', 'backend CPU ms per tenant:', 'backend memory MB:'],
      result.passes.map((p) => [p.pass, fixed(p.backendCpuMs, 3), fixed(p.backendMemoryMb, 1)]),
    ),
    `Memory the first pass added: ${fixed(result.memoryPerSchemaKb, 1)} KB per tenant schema.`,
  ].join('\n\n');
}
