// `tenants migrate …` and `tenants migrate resolve …`: argument parsing and output; the work is in FleetMigrator.
import { FleetLockedError } from '../src/tenancy/fleet-migration-lock';
import type { FleetMigrationReport, FleetProgress } from '../src/tenancy/fleet-migration-report';
import { FleetMigrator } from '../src/tenancy/fleet-migrator.service';
import { EXIT, parse, UsageError, withContext } from './cli.util';

export const MIGRATE_USAGE = `  migrate [--tenant a,b] [--concurrency N] [--canary N] [--batch-size B] [--max-failures K] [--dry-run] [--json] [--migrations-dir D]
  migrate resolve --tenant <id> --migration <name> --accept [--migrations-dir D]`;

export async function migrate(args: string[]): Promise<number> {
  if (args[0] === 'resolve') return resolve(args.slice(1));
  const { values, positionals } = parse(args, {
    tenant: { type: 'string' },
    concurrency: { type: 'string' },
    canary: { type: 'string' },
    'batch-size': { type: 'string' },
    'max-failures': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    'migrations-dir': { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`migrate takes no positional arguments (got "${positionals[0]}")`);
  const options = {
    tenants: values.tenant === undefined ? undefined : tenantList(values.tenant),
    concurrency: positiveInt('--concurrency', values.concurrency),
    canary: positiveInt('--canary', values.canary),
    batchSize: positiveInt('--batch-size', values['batch-size']),
    maxFailures: positiveInt('--max-failures', values['max-failures']),
    dryRun: values['dry-run'] ?? false,
    migrationsDir: values['migrations-dir'],
  };
  return withContext(async (app) => {
    let report: FleetMigrationReport;
    try {
      report = await app.get(FleetMigrator).migrate({ ...options, onProgress: progressReporter() });
    } catch (error) {
      if (!(error instanceof FleetLockedError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return EXIT.locked;
    }
    if (process.stderr.isTTY && report.halted) process.stderr.write('\n');
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(summaryTable(report));
    const t = report.totals;
    if (report.halted) process.stderr.write(`Halted: ${report.halted}\n`);
    process.stderr.write(
      `${report.dryRun ? 'Dry run: ' : ''}${t.tenants} tenant(s): ${t.migrated} migrated, ${t.current} current, ${t.failed} failed, ` +
        `${t.blocked} blocked, ${t.skipped} skipped${report.dryRun ? `, ${t.pending} pending` : ''}; ` +
        `${t.applied} migration(s) applied, ${t.visited} schema(s) visited, concurrency ${report.concurrency}, ${report.elapsedMs} ms\n`,
    );
    if (t.blocked > 0) return EXIT.checksum;
    return t.failed > 0 || report.halted ? EXIT.failed : EXIT.ok;
  });
}

async function resolve(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    tenant: { type: 'string' },
    migration: { type: 'string' },
    accept: { type: 'boolean' },
    'migrations-dir': { type: 'string' },
  });
  if (positionals.length > 0 || !values.tenant || !values.migration) {
    throw new UsageError('migrate resolve takes --tenant <id> --migration <name> --accept');
  }
  if (!values.accept) throw new UsageError('migrate resolve needs --accept (the only resolution so far)');
  return withContext(async (app) => {
    const started = Date.now();
    try {
      await app.get(FleetMigrator).acceptChecksum(values.tenant!, values.migration!, values['migrations-dir']);
    } catch (error) {
      if (!(error instanceof FleetLockedError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return EXIT.locked;
    }
    process.stderr.write(`Accepted the current file of ${values.migration} for tenant ${values.tenant} in ${Date.now() - started} ms\n`);
    return EXIT.ok;
  });
}

/** Plain lines when stderr is not a terminal; on a TTY, failures as lines under one live progress bar. */
function progressReporter(): (progress: FleetProgress) => void {
  const started = Date.now();
  let failed = 0;
  return ({ done, total, result }) => {
    const prefix = `[${done}/${total}] tenant ${result.id}`;
    let line: string | undefined;
    if (result.status === 'failed' || result.status === 'blocked') {
      failed++;
      line = `${prefix} ${result.status === 'failed' ? 'FAILED' : 'BLOCKED'}: ${result.error}`;
    } else if (result.status === 'pending') line = `${prefix} pending ${result.pending.join(', ')}`;
    else line = `${prefix} applied ${result.applied.length} in ${result.elapsedMs ?? 0} ms`;
    if (!process.stderr.isTTY) {
      process.stderr.write(`${line}\n`);
      return;
    }
    const rate = done / Math.max((Date.now() - started) / 1000, 0.001);
    const filled = Math.round((done / total) * 30);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${done}/${total} done, ${failed} failed, ${total - done} remaining, ` +
      `${rate.toFixed(1)}/s, ETA ${Math.ceil((total - done) / rate)} s`;
    process.stderr.write(`\r\x1b[2K${result.error ? `${line}\n` : ''}${bar}${done === total ? '\n' : ''}`);
  };
}

function summaryTable(report: FleetMigrationReport): string {
  const width = Math.max(6, ...report.tenants.map((t) => t.id.length)) + 2;
  const lines = [`${'TENANT'.padEnd(width)}${'STATUS'.padEnd(10)}${(report.dryRun ? 'PENDING' : 'APPLIED').padEnd(9)}ERROR / MIGRATIONS`];
  for (const t of report.tenants) {
    const names = report.dryRun ? t.pending : t.applied;
    const detail = t.error ?? names.join(', ');
    lines.push(`${t.id.padEnd(width)}${t.status.padEnd(10)}${String(names.length).padEnd(9)}${detail}`);
  }
  return lines.join('\n') + '\n';
}

export function tenantList(raw: string): string[] {
  const ids = raw.split(',').map((id) => id.trim()).filter((id) => id.length > 0);
  if (ids.length === 0) throw new UsageError('--tenant needs at least one tenant id');
  return ids;
}

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`${flag} must be a positive integer (got "${raw}")`);
  return Number(raw);
}
