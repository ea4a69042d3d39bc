// `tenants status …`: argument parsing and output; the work is in SchemaDriftService.
import { describeDifference, statusVerdict, type SchemaStatusReport } from '../src/tenancy/schema-status-report';
import { SchemaDriftService } from '../src/tenancy/schema-drift.service';
import { EXIT, parse, UsageError, withContext } from './cli.util';
import { tenantList } from './migrate.command';

export const STATUS_USAGE = `  status [--tenant a,b] [--json] [--migrations-dir D]   exit 0: every schema current and undrifted; 1: any pending, changed or drifted`;

export async function status(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    tenant: { type: 'string' },
    json: { type: 'boolean' },
    'migrations-dir': { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`status takes no positional arguments (got "${positionals[0]}")`);
  const tenants = values.tenant === undefined ? undefined : tenantList(values.tenant);
  return withContext(async (app) => {
    const report = await app.get(SchemaDriftService).status({ tenants, migrationsDir: values['migrations-dir'] });
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(statusTable(report));
    const t = report.totals;
    process.stderr.write(`${statusVerdict(t)}\n`);
    process.stderr.write(
      `Checked ${t.checked} schema(s) against ${report.referenceVersions} reference version(s) of ${report.migrationCount} migration(s) in ${report.elapsedMs} ms\n`,
    );
    return t.current === t.checked ? EXIT.ok : EXIT.failed;
  });
}

/** One row per tenant; each difference on its own line under the row. */
function statusTable(report: SchemaStatusReport): string {
  const width = Math.max(6, ...report.tenants.map((t) => t.id.length)) + 2;
  const databaseWidth = Math.max(8, ...report.tenants.map((t) => t.database.length)) + 2;
  const migrationWidth = Math.max(14, ...report.tenants.map((t) => (t.lastMigration ?? '-').length)) + 2;
  const lines = [`${'TENANT'.padEnd(width)}${'DATABASE'.padEnd(databaseWidth)}${'STATUS'.padEnd(10)}${'LAST MIGRATION'.padEnd(migrationWidth)}${'PENDING'.padEnd(9)}DRIFT`];
  for (const t of report.tenants) {
    const drift = t.status === 'skipped' ? `- (${t.reason})` : t.drift.length === 0 ? 'none' : `${t.drift.length} difference(s)`;
    lines.push(`${t.id.padEnd(width)}${t.database.padEnd(databaseWidth)}${t.status.padEnd(10)}${(t.lastMigration ?? '-').padEnd(migrationWidth)}${String(t.pending.length).padEnd(9)}${drift}`);
    for (const name of t.checksumMismatches) lines.push(`${' '.repeat(width)}  changed since applied: ${name}`);
    for (const d of t.drift) lines.push(`${' '.repeat(width)}  ${describeDifference(d)}`);
  }
  return lines.join('\n') + '\n';
}
