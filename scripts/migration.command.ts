// `tenants migration new <name>`: argument parsing and output; the work is in MigrationScaffolder.
import { MIGRATION_NAME, MigrationScaffolder } from '../src/tenancy/migration-scaffold.service';
import { EXIT, parse, UsageError, withContext, type Command } from './cli.util';

export const MIGRATION_USAGE = `  migration new <name> [--schema F] [--migrations-dir D] [--json]   scaffold a tenant migration from schema.prisma
`;

export const migration: Command = async (args) => {
  const [sub, ...rest] = args;
  if (sub !== 'new') throw new UsageError(sub ? `Unknown migration command "${sub}"` : 'migration needs a subcommand: new');
  const { values, positionals } = parse(rest, {
    schema: { type: 'string' },
    'migrations-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('migration new takes exactly one name');
  const [name] = positionals;
  if (!MIGRATION_NAME.test(name)) throw new UsageError(`A migration name matches ${MIGRATION_NAME.source} (got "${name}")`);
  return withContext(async (app) => {
    const started = Date.now();
    const report = await app.get(MigrationScaffolder).scaffold(name, { schemaFile: values.schema, migrationsDir: values['migrations-dir'] });
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(`${report.file}\n`);
    for (const todo of report.todos) process.stderr.write(`TODO: ${todo}\n`);
    process.stderr.write(
      report.statements > 0
        ? `Generated ${report.statements} statement(s) from schema.prisma into ${report.file}; review it. ${Date.now() - started} ms\n`
        : `schema.prisma and the migrations agree: wrote a commented template to ${report.file}. ${Date.now() - started} ms\n`,
    );
    return EXIT.ok;
  });
};
