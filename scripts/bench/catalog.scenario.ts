// What a PostgreSQL backend pays for each tenant schema it serves: one connection runs P1's two statements (the page
// with owners and the count, baseline (a)'s `projectsPage`) against every tenant's schema in turn, three passes, and
// reads its backend's CPU time and private memory from /proc. The first pass loads each schema's catalog into the
// backend's caches, where it stays for the backend's lifetime; later passes find it there. The same statements
// against one schema, as often, are the floor.
import { Pool } from 'pg';
import { privateMemoryMb } from './backend-usage';
import type { BenchOptions, Fixture } from './fixture';
import { projectsPage } from './projects-sql';
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
  // One connection, kept for the whole run: its backend is the one measured.
  const connection = new Pool({ connectionString: fixture.url, max: 1, idleTimeoutMillis: 0 });
  try {
    const { rows } = await connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0].pid;
    const schemas = fixture.tenants.map((tenant) => tenant.schemaName);
    const pass = async (name: string, order: string[]): Promise<CatalogPass> => {
      const cpu0 = cpuSeconds(backend);
      for (const schema of order) await projectsPage(connection, schema, 20);
      const result = { pass: name, backendCpuMs: round(((cpuSeconds(backend) - cpu0) * 1000) / order.length, 3), backendMemoryMb: round(privateMemoryMb(backend), 1) };
      log(`  catalog: ${name}: ${fixed(result.backendCpuMs, 3)} ms of backend CPU per tenant, backend ${fixed(result.backendMemoryMb, 1)} MB`);
      return result;
    };
    log(`catalog: one connection, P1's two statements against each of ${schemas.length} tenant schemas`);
    const startMb = privateMemoryMb(backend);
    const passes = [await pass('first touch of each schema', schemas)];
    const afterFirstMb = passes[0].backendMemoryMb;
    passes.push(await pass('second pass', schemas), await pass('third pass', schemas));
    passes.push(await pass('one schema, as many times', schemas.map(() => schemas[0])));
    return { scenario: 'catalog cost per tenant schema', tenants: schemas.length, passes, memoryPerSchemaKb: round(((afterFirstMb - startMb) * 1024) / schemas.length, 1) };
  } finally {
    await connection.end();
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
