// Measures the memory of `tenants export` and `tenants import` over a large tenant:
//   npm run export-memory -- [--rows 1000000] [--keep]
// Seeds a throwaway tenant with N projects, exports it, imports the file as a second tenant, and prints the
// peak RSS and heap growth of each phase over the level before it. Both tenants are hard-deleted afterwards.
// Exits 1 when the export's peak RSS growth reaches EXPORT_BUDGET_MB (the export must stream: memory flat).
import 'reflect-metadata';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { TenantRegistryRepository } from '../src/control-plane/tenant-registry.repository';
import { SHARED_POOL } from '../src/database/database-tokens';
import { TenantExporter } from '../src/tenancy/tenant-export.service';
import { TenantImporter } from '../src/tenancy/tenant-import.service';
import { TenantProvisioner } from '../src/tenancy/tenant-provisioner.service';
import { parse, UsageError, withContext } from './cli.util';

/** The export's budget: its peak RSS growth over the process's level before it. */
const EXPORT_BUDGET_MB = 50;

interface Peak {
  rssMb: number;
  heapMb: number;
  /** Heap growth left after a full GC once the work is done: what was really kept. */
  retainedMb: number;
  ms: number;
}

/** Runs `work`, sampling memory every 10 ms; growth is measured from the level just before it starts. */
async function measure(work: () => Promise<unknown>): Promise<Peak> {
  // Without a full GC before and after, the figures would count garbage left by whatever ran before.
  if (!(globalThis as { gc?: () => void }).gc) process.stderr.write('Warning: run with node --expose-gc (npm run export-memory does)\n');
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage();
  let rss = base.rss;
  let heap = base.heapUsed;
  const sample = () => {
    const now = process.memoryUsage();
    rss = Math.max(rss, now.rss);
    heap = Math.max(heap, now.heapUsed);
  };
  const timer = setInterval(sample, 10);
  // The kernel's high-water mark catches a peak between two samples (or while the event loop is busy).
  const maxRssBefore = process.resourceUsage().maxRSS * 1024;
  const started = Date.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
    sample();
  }
  const maxRssAfter = process.resourceUsage().maxRSS * 1024;
  if (maxRssAfter > maxRssBefore) rss = Math.max(rss, maxRssAfter);
  const ms = Date.now() - started;
  (globalThis as { gc?: () => void }).gc?.();
  const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
  return { rssMb: mb(rss - base.rss), heapMb: mb(heap - base.heapUsed), retainedMb: mb(process.memoryUsage().heapUsed - base.heapUsed), ms };
}

async function main(args: string[]): Promise<number> {
  const { values } = parse(args, { rows: { type: 'string' }, keep: { type: 'boolean' } });
  const rows = Number(values.rows ?? 1_000_000);
  if (!Number.isInteger(rows) || rows < 1) throw new UsageError('--rows must be a positive integer');
  return withContext(async (app) => {
    const suffix = randomBytes(3).toString('hex');
    const [source, copy] = [`memory-${suffix}`, `memory-${suffix}-copy`];
    const file = join(tmpdir(), `${source}.ndjson.gz`);
    const pool = app.get<Pool>(SHARED_POOL);
    try {
      process.stderr.write(`Seeding ${rows} projects into tenant ${source}…\n`);
      const tenant = await app.get(TenantProvisioner).create({
        id: source, name: 'Export memory', adminEmail: `admin@${source}.test`, adminPassword: 'a-long-password',
      });
      await pool.query(
        `INSERT INTO "${tenant.schemaName}"."Project" (id, name, description, "ownerId", "createdAt", "updatedAt")
         SELECT gen_random_uuid(), 'Project ' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'A description with ünicode 😀 #' || g END,
                (SELECT id FROM "${tenant.schemaName}"."User" LIMIT 1), now() - g * interval '1 second', now()
           FROM generate_series(1, $1::int) g`,
        [rows],
      );
      const exported = await measure(() => app.get(TenantExporter).export(source, file));
      process.stdout.write(`${summary('export', rows, exported)}\n`);
      const imported = await measure(() => app.get(TenantImporter).import(file, copy));
      process.stdout.write(`${summary('import', rows, imported)}\n`);
      const pass = exported.rssMb < EXPORT_BUDGET_MB;
      process.stdout.write(
        `export memory growth: +${exported.rssMb} MB peak RSS (budget < ${EXPORT_BUDGET_MB} MB): ${pass ? 'PASS' : 'FAIL'}\n`,
      );
      return pass ? 0 : 1;
    } finally {
      rmSync(file, { force: true });
      if (!values.keep) {
        const registry = app.get(TenantRegistryRepository);
        for (const id of [source, copy]) {
          const tenant = await registry.getById(id);
          if (tenant) await registry.inOwnerTransaction((db) => registry.deleteWithSchema(tenant, db));
        }
      }
    }
  });
}

function summary(phase: string, rows: number, peak: Peak): string {
  return `${phase} ${rows} rows: peak RSS +${peak.rssMb} MB, peak heap +${peak.heapMb} MB, retained heap +${peak.retainedMb} MB after GC, ${peak.ms} ms`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
