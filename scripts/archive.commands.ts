// `tenants export …` and `tenants import …`: argument parsing and output; the work is in TenantExporter/TenantImporter.
import { TenantArchiveError } from '../src/tenancy/tenant-archive.errors';
import type { ArchiveProgress } from '../src/tenancy/tenant-export.service';
import { TenantExporter } from '../src/tenancy/tenant-export.service';
import { TenantImporter } from '../src/tenancy/tenant-import.service';
import { EXIT, parse, UsageError, withContext, type Command } from './cli.util';
import { cliActor } from './tenant-lifecycle.commands';

export const ARCHIVE_USAGE = `  export <id> --out <file.ndjson.gz> [--json]          rows and sequences in one snapshot, gzipped NDJSON
  import <file> --as <new-id> [--name <name>] [--database <name>] [--json] [--migrations-dir D]
                                                      a new tenant from an export (placed on --database, default primary),
                                                      migrated to the newest
`;

export const exportTenant: Command = async (args) => {
  const { values, positionals } = parse(args, { out: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('export takes exactly one tenant id');
  if (!values.out) throw new UsageError('export needs --out <file>');
  return withContext(async (app) => {
    const report = await archiveErrors(() =>
      app.get(TenantExporter).export(positionals[0], values.out!, { actor: cliActor(), onProgress: progress('exported') }),
    );
    if (typeof report === 'number') return report;
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    const rows = report.tables.reduce((sum, t) => sum + t.rows, 0);
    process.stderr.write(
      `Exported ${report.tenantId} at ${report.schemaVersion ?? '(no migrations)'}: ${rows} row(s) in ${report.tables.length} table(s), ` +
        `${report.sequences} sequence(s), ${report.bytes} bytes to ${report.file} in ${report.elapsedMs} ms\n`,
    );
    return EXIT.ok;
  });
};

export const importTenant: Command = async (args) => {
  const { values, positionals } = parse(args, {
    as: { type: 'string' },
    name: { type: 'string' },
    database: { type: 'string' },
    json: { type: 'boolean' },
    'migrations-dir': { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('import takes exactly one file');
  if (!values.as) throw new UsageError('import needs --as <new-id>');
  return withContext(async (app) => {
    const report = await archiveErrors(() =>
      app.get(TenantImporter).import(positionals[0], values.as!, {
        name: values.name,
        database: values.database,
        migrationsDir: values['migrations-dir'],
        actor: cliActor(),
        onProgress: progress('imported'),
      }),
    );
    if (typeof report === 'number') return report;
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    const rows = report.tables.reduce((sum, t) => sum + t.rows, 0);
    const forward = report.migratedForward.length > 0 ? `, then migrated forward by ${report.migratedForward.join(', ')}` : '';
    process.stderr.write(
      `Imported ${report.from} (at ${report.schemaVersion ?? 'no migrations'}) as ${report.tenantId} on ${report.database}: ${rows} row(s) in ` +
        `${report.tables.length} table(s), ${report.sequences} sequence(s)${forward}, in ${report.elapsedMs} ms\n`,
    );
    return EXIT.ok;
  });
};

/** A file the command cannot use is an operational failure (exit 1) with its code, not a crash. */
async function archiveErrors<T>(run: () => Promise<T>): Promise<T | number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof TenantArchiveError)) throw error;
    process.stderr.write(`${error.code}: ${error.message}\n`);
    return EXIT.failed;
  }
}

function progress(verb: string): (progress: ArchiveProgress) => void {
  return ({ table, rows, done }) => process.stderr.write(`${done ? `${verb} ${table}:` : `  ${table}:`} ${rows} row(s)\n`);
}
