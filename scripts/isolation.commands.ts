// `tenants isolation-report <id>` and `tenants isolation-check`: argument parsing and output; the work is in
// IsolationReporter and IsolationChecker (src/tenancy).
import type { IsolationCheckRecord } from '../src/control-plane/isolation-check.repository';
import { IsolationChecker } from '../src/tenancy/isolation-check.service';
import { IsolationReporter, type IsolationReport } from '../src/tenancy/isolation-report.service';
import { EXIT, parse, UsageError, withContext } from './cli.util';

export const ISOLATION_USAGE = `  isolation-report <id> [--json]     grants, roles and reach of a tenant's schema (pg_catalog); exit 1 on any finding
  isolation-check [--all-pairs] [--json]   cross-tenant reads under the real roles must be refused; exit 1 if one is not`;

export async function isolationReport(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length !== 1) throw new UsageError('isolation-report takes exactly one tenant id');
  return withContext(async (app) => {
    const started = Date.now();
    const report = await app.get(IsolationReporter).report(positionals[0]);
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(reportText(report));
    process.stderr.write(
      report.findings.length === 0
        ? `Only ${report.role} and the platform roles can reach ${report.schema}.\n`
        : `${report.findings.length} finding(s): ${report.schema} is reachable beyond its own role.\n`,
    );
    process.stderr.write(`Done in ${Date.now() - started} ms\n`);
    return report.findings.length === 0 ? EXIT.ok : EXIT.failed;
  });
}

export async function isolationCheck(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, 'all-pairs': { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`isolation-check takes no positional arguments (got "${positionals[0]}")`);
  return withContext(async (app) => {
    const started = Date.now();
    const check = await app.get(IsolationChecker).check({ allPairs: values['all-pairs'] });
    if (values.json) process.stdout.write(JSON.stringify(check, null, 2) + '\n');
    else for (const f of check.failures) process.stdout.write(`${f.from} → ${f.to}: ${f.outcome}${f.detail ? ` (${f.detail})` : ''}\n`);
    process.stderr.write(`${checkLine(check)}\n`);
    process.stderr.write(`Done in ${Date.now() - started} ms\n`);
    return check.ok ? EXIT.ok : EXIT.failed;
  });
}

function checkLine(check: IsolationCheckRecord): string {
  const verdict = check.ok ? 'every cross-tenant read was refused' : `${check.failures.length} probe(s) not refused`;
  return `Isolation check #${check.id} at ${check.finishedAt.toISOString()}: ${check.probes} probe(s) over ${check.tenants} tenant(s), ${verdict}`;
}

function reportText(r: IsolationReport): string {
  const lines = [
    `tenant        ${r.tenant} (${r.status})`,
    `database      ${r.database}`,
    `schema        ${r.schema}${r.schemaExists ? ` owned by ${r.schemaOwner}` : ' (missing)'}`,
    `tenant role   ${r.role}${r.roleExists ? '' : ' (missing)'}`,
    `runtime role  ${r.runtimeRole} (member, must SET ROLE)`,
    '',
    'GRANTS',
    ...r.grants.map((g) => `  ${g.kind} ${g.object} → ${g.grantee}: ${g.privileges.join(', ')}`),
    '',
    'REACHABLE BY',
    ...r.reachableBy.map((x) => `  ${x.role} (${x.via})${x.objects.length > 0 ? `: ${x.objects.join(', ')}` : ''}`),
    '',
    'FINDINGS',
    ...(r.findings.length === 0 ? ['  none'] : r.findings.map((f) => `  ${f}`)),
    '',
    `LAST CHECK    ${r.lastCheck ? checkLine(r.lastCheck) : 'never run (tenants isolation-check)'}`,
  ];
  return lines.join('\n') + '\n';
}
