import type { TenantStatus } from '../control-plane/tenant-record';
import type { DbObject } from './schema-catalog';

/** One object whose live catalog differs from the reference schema built from the migrations. */
export interface SchemaDifference {
  /** missing: the reference has it, the tenant not · extra: the other way round · changed: both, described differently. */
  change: 'missing' | 'extra' | 'changed';
  /** e.g. `column Project.name`, `index Project.Project_ownerId_idx`, `check User.User_email_lowercase`. */
  key: string;
  /** The reference's description (missing, changed). */
  expected?: string;
  /** The tenant's description (extra, changed). */
  actual?: string;
}

/**
 * current: at the newest migration, checksums match, no drift. The others name the worst problem, in this order:
 * drifted, mismatch (an applied migration's file changed or is gone), pending. skipped: DELETED or PROVISIONING.
 */
export type SchemaState = 'current' | 'pending' | 'mismatch' | 'drifted' | 'skipped';

export interface TenantSchemaStatus {
  id: string;
  status: SchemaState;
  tenantStatus: TenantStatus;
  schema: string;
  /** The placement database (a DATABASES name, or primary) the schema was checked on. */
  database: string;
  /** The newest migration in the tenant's ledger. */
  lastMigration: string | null;
  /** Migrations on disk the ledger lacks, in order. */
  pending: string[];
  checksumMismatches: string[];
  /** Against the reference built from the migrations in the tenant's own ledger, so being behind is not drift. */
  drift: SchemaDifference[];
  /** Why a tenant was skipped. */
  reason?: string;
}

export interface SchemaStatusTotals {
  tenants: number;
  checked: number;
  current: number;
  /** Tenants with pending migrations, with checksum mismatches, with drift (one tenant may count in several). */
  behind: number;
  mismatched: number;
  drifted: number;
  skipped: number;
}

/** The `--json` report of `tenants status`; documented in the README ("Fleet migration"). */
export interface SchemaStatusReport {
  startedAt: string;
  elapsedMs: number;
  latestMigration: string | null;
  migrationCount: number;
  /** Reference schemas built: one per distinct ledger version among the tenants checked. */
  referenceVersions: number;
  tenants: TenantSchemaStatus[];
  totals: SchemaStatusTotals;
}

/** The differences between a reference catalog and a tenant's, sorted by key. */
export function diffCatalogs(reference: DbObject[], actual: DbObject[]): SchemaDifference[] {
  const want = byKey(reference);
  const have = byKey(actual);
  const differences: SchemaDifference[] = [];
  for (const [key, expected] of want) {
    const found = have.get(key);
    if (found === undefined) differences.push({ change: 'missing', key, expected });
    else if (found !== expected) differences.push({ change: 'changed', key, expected, actual: found });
  }
  for (const [key, found] of have) if (!want.has(key)) differences.push({ change: 'extra', key, actual: found });
  return differences.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

// Keys are unique within a schema; should two objects ever share one, their descriptions are compared together.
function byKey(objects: DbObject[]): Map<string, string> {
  const map = new Map<string, string[]>();
  for (const o of objects) map.set(o.key, [...(map.get(o.key) ?? []), o.description]);
  return new Map([...map].map(([key, descriptions]) => [key, descriptions.sort().join('; ')]));
}

export function describeDifference(d: SchemaDifference): string {
  const detail = (text: string | undefined) => (text ? `: ${text}` : '');
  if (d.change === 'changed') return `changed ${d.key}: expected ${d.expected || '(nothing)'}, found ${d.actual || '(nothing)'}`;
  return `${d.change} ${d.key}${detail(d.change === 'missing' ? d.expected : d.actual)}`;
}

export function stateOf(t: Pick<TenantSchemaStatus, 'pending' | 'checksumMismatches' | 'drift'>): SchemaState {
  if (t.drift.length > 0) return 'drifted';
  if (t.checksumMismatches.length > 0) return 'mismatch';
  return t.pending.length > 0 ? 'pending' : 'current';
}

export function statusTotalsOf(tenants: TenantSchemaStatus[]): SchemaStatusTotals {
  const checked = tenants.filter((t) => t.status !== 'skipped');
  return {
    tenants: tenants.length,
    checked: checked.length,
    current: checked.filter((t) => t.status === 'current').length,
    behind: checked.filter((t) => t.pending.length > 0).length,
    mismatched: checked.filter((t) => t.checksumMismatches.length > 0).length,
    drifted: checked.filter((t) => t.drift.length > 0).length,
    skipped: tenants.length - checked.length,
  };
}

/** The one line answering "is every schema current and undrifted?". */
export function statusVerdict(totals: SchemaStatusTotals): string {
  const skipped = totals.skipped > 0 ? ` (${totals.skipped} skipped)` : '';
  if (totals.current === totals.checked) {
    return `All ${totals.checked} tenant schemas are current and match the migrations${skipped}.`;
  }
  const problems = (
    [
      [totals.behind, 'behind'],
      [totals.mismatched, 'with changed migration files'],
      [totals.drifted, 'drifted'],
    ] as const
  ).filter(([count]) => count > 0);
  const [[count, label], ...rest] = problems;
  const tail = rest.map(([n, text]) => `, ${n} ${text}`).join('');
  return `${count} of ${totals.checked} tenants ${label}${tail}${skipped}.`;
}
