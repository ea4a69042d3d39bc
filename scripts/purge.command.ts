// `tenants purge`: hard-deletes the tenants soft-deleted longer ago than --older-than.
import { TenantLifecycleService, type PurgeOutcome } from '../src/control-plane/tenant-lifecycle.service';
import { EXIT, parse, UsageError, withContext, type Command } from './cli.util';
import { cliActor } from './tenant-lifecycle.commands';

export const PURGE_USAGE = `  purge --older-than <age> (--yes | --dry-run) [--json]
                                   hard-delete every tenant soft-deleted more than <age> (30d, 12h, 90m) ago
`;

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30d`, `12h`, `90m`, `45s` in milliseconds. */
export function parseAge(text: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(text);
  if (!match) throw new UsageError(`--older-than takes an age such as 30d, 12h or 90m (got "${text}")`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export interface PurgeReport {
  startedAt: string;
  elapsedMs: number;
  dryRun: boolean;
  olderThan: string;
  /** Tenants deleted before this moment (database clock) are purged. */
  cutoff: string;
  tenants: PurgeOutcome[];
  totals: { tenants: number; purged: number; failed: number; wouldPurge: number };
}

export const purge: Command = async (args) => {
  const { values, positionals } = parse(args, {
    'older-than': { type: 'string' },
    yes: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('purge takes no tenant ids: it selects tenants by --older-than');
  if (values['older-than'] === undefined) throw new UsageError('purge needs --older-than, e.g. --older-than 30d');
  const olderThan = values['older-than'];
  const olderThanMs = parseAge(olderThan);
  const dryRun = values['dry-run'] === true;
  if (dryRun && values.yes) throw new UsageError('give either --dry-run or --yes');
  if (!dryRun && !values.yes) {
    throw new UsageError(`purge drops the schema and data of every tenant deleted more than ${olderThan} ago, for good: add --yes to confirm (or --dry-run to list them)`);
  }
  return withContext(async (app) => {
    const started = Date.now();
    const { cutoff, outcomes } = await app.get(TenantLifecycleService).purgeDeleted(olderThanMs, cliActor(), {
      dryRun,
      onOutcome: (outcome, done, total) => process.stderr.write(`[${done}/${total}] ${describeOutcome(outcome)}\n`),
    });
    const count = (status: PurgeOutcome['status']) => outcomes.filter((outcome) => outcome.status === status).length;
    const report: PurgeReport = {
      startedAt: new Date(started).toISOString(),
      elapsedMs: Date.now() - started,
      dryRun,
      olderThan,
      cutoff: cutoff.toISOString(),
      tenants: outcomes,
      totals: { tenants: outcomes.length, purged: count('purged'), failed: count('failed'), wouldPurge: count('would-purge') },
    };
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else for (const outcome of outcomes) process.stdout.write(formatRow(outcome));
    const { totals } = report;
    process.stderr.write(
      dryRun
        ? `${totals.wouldPurge} tenant(s) deleted before ${report.cutoff} would be purged (dry run: nothing changed). Done in ${report.elapsedMs} ms\n`
        : `Purged ${totals.purged} of ${totals.tenants} tenant(s) deleted before ${report.cutoff}${totals.failed > 0 ? `; ${totals.failed} failed` : ''}. Done in ${report.elapsedMs} ms\n`,
    );
    return totals.failed > 0 ? EXIT.failed : EXIT.ok;
  });
};

function describeOutcome(outcome: PurgeOutcome): string {
  const what = { purged: 'purged', 'would-purge': 'would be purged', failed: `FAILED: ${outcome.error?.code}: ${outcome.error?.message}` }[outcome.status];
  return `tenant ${outcome.id} (deleted ${outcome.deletedAt.toISOString()}) ${what} in ${outcome.elapsedMs} ms`;
}

function formatRow(outcome: PurgeOutcome): string {
  const error = outcome.error ? `  ${outcome.error.code}: ${outcome.error.message}` : '';
  return `${outcome.id.padEnd(42)}${outcome.deletedAt.toISOString().padEnd(27)}${outcome.status}${error}\n`;
}
