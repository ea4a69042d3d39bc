// Tenant administration CLI: `npm run tenants -- <command>`. Parses arguments and calls services in src/.
import 'reflect-metadata';
import { ConfigError, loadConfig, PRIMARY_DATABASE } from '../src/config/config';
import { TENANT_PLANS, type TenantPlan } from '../src/control-plane/tenant-record';
import { TenantRegistryRepository } from '../src/control-plane/tenant-registry.repository';
import { AppError, type FieldError } from '../src/graphql/app-error';
import { TenantLifecycleService } from '../src/control-plane/tenant-lifecycle.service';
import { ARCHIVE_USAGE, exportTenant, importTenant } from './archive.commands';
import { EXIT, parse, readStdin, UsageError, withContext, type Command } from './cli.util';
import { isolationCheck, isolationReport, ISOLATION_USAGE } from './isolation.commands';
import { migrate, MIGRATE_USAGE } from './migrate.command';
import { migration, MIGRATION_USAGE } from './migration.command';
import { purge, PURGE_USAGE } from './purge.command';
import { status, STATUS_USAGE } from './status.command';
import { cliActor, deleteTenant, domains, LIFECYCLE_USAGE, move, restore, resume, show, suspend, update } from './tenant-lifecycle.commands';

const USAGE = `Usage: npm run tenants -- <command>

  create <id> --name <name> --admin-email <email> (--admin-password <p> | --admin-password-stdin) [--plan ${TENANT_PLANS.join('|')}]
         [--database <name>]      place the schema on a DATABASES database (default: primary)
  list [--json]
${LIFECYCLE_USAGE}${PURGE_USAGE}${MIGRATE_USAGE}
${STATUS_USAGE}
${ISOLATION_USAGE}
${ARCHIVE_USAGE}${MIGRATION_USAGE}`;

const COMMANDS: Record<string, Command> = {
  create,
  list,
  migrate,
  migration,
  status,
  show,
  update,
  suspend,
  resume,
  delete: deleteTenant,
  restore,
  purge,
  domains,
  move,
  export: exportTenant,
  import: importTenant,
  'isolation-report': isolationReport,
  'isolation-check': isolationCheck,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const run = command === undefined ? undefined : COMMANDS[command];
  if (!run) throw new UsageError(command ? `Unknown command "${command}"` : 'No command given');
  return run(rest);
}

async function create(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    name: { type: 'string' },
    'admin-email': { type: 'string' },
    'admin-password': { type: 'string' },
    'admin-password-stdin': { type: 'boolean' },
    plan: { type: 'string' },
    database: { type: 'string' },
  });
  const [id] = positionals;
  const database = values.database;
  const databases = [PRIMARY_DATABASE, ...Object.keys(loadConfig().databases)];
  if (database !== undefined && !databases.includes(database)) {
    throw new UsageError(`--database must name a configured database: ${databases.join(', ')} (got "${database}")`);
  }
  if (!id || positionals.length > 1) throw new UsageError('create takes exactly one tenant id');
  if (!values.name || !values['admin-email']) throw new UsageError('--name and --admin-email are required');
  if (Boolean(values['admin-password']) === Boolean(values['admin-password-stdin'])) {
    throw new UsageError('give exactly one of --admin-password and --admin-password-stdin');
  }
  const password = values['admin-password'] ?? (await readStdin()).replace(/\r?\n$/, '');
  return withContext(async (app) => {
    const started = Date.now();
    const tenant = await app.get(TenantLifecycleService).create({
      id,
      name: values.name!,
      plan: (values.plan ?? 'free') as TenantPlan,
      adminEmail: values['admin-email']!,
      adminPassword: password,
      database,
    }, cliActor());
    process.stderr.write(`Created tenant ${tenant.id} (schema ${tenant.schemaName} on ${tenant.database}) in ${Date.now() - started} ms\n`);
    return 0;
  });
}

async function list(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  return withContext(async (app) => {
    const started = Date.now();
    const tenants = await app.get(TenantRegistryRepository).list();
    if (values.json) process.stdout.write(JSON.stringify({ tenants }, null, 2) + '\n');
    else for (const t of tenants) process.stdout.write(`${t.id.padEnd(42)}${t.status.padEnd(14)}${t.plan.padEnd(12)}${t.database.padEnd(16)}${t.name}\n`);
    process.stderr.write(`${tenants.length} tenant(s) in ${Date.now() - started} ms\n`);
    return 0;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exit(EXIT.usage);
    }
    if (error instanceof AppError) {
      const fields = error.details.fields as FieldError[] | undefined;
      process.stderr.write(`${error.code}: ${error.message}\n`);
      for (const { path, message } of fields ?? []) process.stderr.write(`  ${path}: ${message}\n`);
    } else {
      process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack ?? String(error)}\n`);
    }
    process.exit(EXIT.failed);
  },
);
