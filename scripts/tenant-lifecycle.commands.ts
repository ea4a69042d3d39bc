// Lifecycle commands of the tenants CLI: show, update, suspend, resume, delete, restore, domains.
import { userInfo } from 'node:os';
import { PRIMARY_DATABASE, loadConfig } from '../src/config/config';
import { TenantLifecycleService, type TenantOverview } from '../src/control-plane/tenant-lifecycle.service';
import { TenantMover } from '../src/control-plane/tenant-move.service';
import type { TenantRecord } from '../src/control-plane/tenant-record';
import { parse, UsageError, withContext, type Command, type Context } from './cli.util';

export const LIFECYCLE_USAGE = `  show <id> [--json]
  update <id> [--name <name>] [--plan <plan>]
  suspend <id> | resume <id>
  delete <id>                      soft delete: requests get TENANT_NOT_FOUND, data is kept
  restore <id>                     undo a soft delete
  delete <id> --hard --yes         drop the schema and every row of the tenant, irreversibly
  domains add|remove <id> <hostname>
  move <id> --to <database>        fence (MOVING), copy, verify checksums, flip the placement, resume, drop the source
`;

/** Who the audit log records for CLI actions. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/** Runs `run` against the lifecycle service and reports its elapsed time on stderr. */
function withLifecycle(run: (lifecycle: TenantLifecycleService, app: Context) => Promise<void>): Promise<number> {
  return withContext(async (app) => {
    const started = Date.now();
    await run(app.get(TenantLifecycleService), app);
    process.stderr.write(`Done in ${Date.now() - started} ms\n`);
    return 0;
  });
}

function oneId(command: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one tenant id`);
  return positionals[0];
}

const describe = (t: TenantRecord) => `${t.id} (${t.status}, plan ${t.plan}, "${t.name}")`;

export const show: Command = async (args) => {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  const id = oneId('show', positionals);
  return withLifecycle(async (lifecycle) => {
    const overview = await lifecycle.show(id);
    if (values.json) process.stdout.write(JSON.stringify(overview, null, 2) + '\n');
    else process.stdout.write(formatOverview(overview));
  });
};

export const update: Command = async (args) => {
  const { values, positionals } = parse(args, { name: { type: 'string' }, plan: { type: 'string' } });
  const id = oneId('update', positionals);
  if (values.name === undefined && values.plan === undefined) throw new UsageError('update needs --name or --plan');
  return withLifecycle(async (lifecycle) => {
    const tenant = await lifecycle.update(id, { name: values.name, plan: values.plan }, cliActor());
    process.stderr.write(`Updated ${describe(tenant)}\n`);
  });
};

function transition(verb: 'suspend' | 'resume' | 'restore', done: string): Command {
  return async (args) => {
    const { positionals } = parse(args, {});
    const id = oneId(verb, positionals);
    return withLifecycle(async (lifecycle) => {
      const tenant = await lifecycle[verb](id, cliActor());
      process.stderr.write(`${done} ${describe(tenant)}\n`);
    });
  };
}

export const suspend = transition('suspend', 'Suspended');
export const resume = transition('resume', 'Resumed');
export const restore = transition('restore', 'Restored');

export const deleteTenant: Command = async (args) => {
  const { values, positionals } = parse(args, { hard: { type: 'boolean' }, yes: { type: 'boolean' } });
  const id = oneId('delete', positionals);
  if (values.yes && !values.hard) throw new UsageError('--yes only confirms --hard');
  if (values.hard && !values.yes) {
    throw new UsageError(`delete --hard drops schema and data of "${id}" for good: add --yes to confirm`);
  }
  return withLifecycle(async (lifecycle) => {
    if (values.hard) {
      await lifecycle.hardDelete(id, cliActor());
      process.stderr.write(`Dropped tenant ${id}: schema and registry row are gone\n`);
    } else {
      const tenant = await lifecycle.softDelete(id, cliActor());
      process.stderr.write(`Deleted ${describe(tenant)}; its data is kept until \`delete ${id} --hard --yes\`\n`);
    }
  });
};

export const domains: Command = async (args) => {
  const { positionals } = parse(args, {});
  const [action, id, hostname] = positionals;
  if ((action !== 'add' && action !== 'remove') || !id || !hostname || positionals.length !== 3) {
    throw new UsageError('domains takes add|remove, a tenant id and a hostname');
  }
  return withLifecycle(async (lifecycle) => {
    if (action === 'add') {
      const domain = await lifecycle.addDomain(id, hostname, cliActor());
      process.stderr.write(`${domain} now serves tenant ${id}\n`);
    } else {
      const domain = await lifecycle.removeDomain(id, hostname, cliActor());
      process.stderr.write(`${domain} no longer serves tenant ${id}\n`);
    }
  });
};

export const move: Command = async (args) => {
  const { values, positionals } = parse(args, { to: { type: 'string' } });
  const id = oneId('move', positionals);
  const databases = [PRIMARY_DATABASE, ...Object.keys(loadConfig().databases)];
  if (!values.to || !databases.includes(values.to)) {
    throw new UsageError(`move needs --to naming a configured database: ${databases.join(', ')}${values.to ? ` (got "${values.to}")` : ''}`);
  }
  return withLifecycle(async (_lifecycle, app) => {
    const report = await app.get(TenantMover).move(id, values.to!, cliActor(), (step) => process.stderr.write(`  ${step}\n`));
    const rows = report.tables.reduce((sum, t) => sum + t.rows, 0);
    process.stderr.write(`Moved ${id} from ${report.from} to ${report.to}: ${report.tables.length} table(s), ${rows} row(s), checksums equal\n`);
  });
};

function formatOverview({ tenant, domains, migrations, audit }: TenantOverview): string {
  const lines = [
    `id          ${tenant.id}`,
    `name        ${tenant.name}`,
    `status      ${tenant.status}`,
    `plan        ${tenant.plan}`,
    `schema      ${tenant.schemaName}`,
    `database    ${tenant.database}`,
    `created     ${tenant.createdAt.toISOString()}`,
    `updated     ${tenant.updatedAt.toISOString()}`,
    ...(tenant.deletedAt ? [`deleted     ${tenant.deletedAt.toISOString()}`] : []),
    `domains     ${domains.length > 0 ? domains.map((d) => d.domain).join(', ') : '-'}`,
    `migrations  ${migrations ? `${migrations.appliedCount} applied, last ${migrations.lastMigration ?? '-'}` : '-'}`,
    'audit (newest first)',
    ...audit.map((a) => `  ${a.at.toISOString()}  ${a.action.padEnd(14)}${a.result.padEnd(7)}${a.actor}  ${JSON.stringify(a.details)}`),
  ];
  return lines.join('\n') + '\n';
}
