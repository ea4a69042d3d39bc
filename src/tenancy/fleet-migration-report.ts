/** What a fleet migration did to one tenant; `pending` only in a dry run (what a run would apply). */
export type FleetTenantStatus = 'migrated' | 'current' | 'failed' | 'blocked' | 'skipped' | 'pending';

export interface FleetTenantResult {
  id: string;
  status: FleetTenantStatus;
  /** Migrations committed to this tenant by this run, in order. */
  applied: string[];
  /** Migrations still missing after this run (with --dry-run: what a run would apply). */
  pending: string[];
  error?: string;
  elapsedMs?: number;
}

export interface FleetTotals {
  tenants: number;
  migrated: number;
  current: number;
  failed: number;
  blocked: number;
  skipped: number;
  pending: number;
  /** Migration transactions committed. */
  applied: number;
  /** Tenants whose schema ledger was read one by one (the summary said they were behind, or had no summary). */
  visited: number;
}

/** The `--json` report of `tenants migrate`; documented in the README ("Fleet migration"). */
export interface FleetMigrationReport {
  startedAt: string;
  elapsedMs: number;
  dryRun: boolean;
  concurrency: number;
  /** The newest migration on disk, and how many there are. */
  latestMigration: string | null;
  migrationCount: number;
  /** Why scheduling stopped early (canary failed, --max-failures reached), if it did. */
  halted?: string;
  tenants: FleetTenantResult[];
  totals: FleetTotals;
}

export interface FleetProgress {
  done: number;
  total: number;
  result: FleetTenantResult;
}

export function totalsOf(results: FleetTenantResult[], visited: number): FleetTotals {
  const count = (status: FleetTenantStatus) => results.filter((r) => r.status === status).length;
  return {
    tenants: results.length,
    migrated: count('migrated'),
    current: count('current'),
    failed: count('failed'),
    blocked: count('blocked'),
    skipped: count('skipped'),
    pending: count('pending'),
    applied: results.reduce((sum, r) => sum + r.applied.length, 0),
    visited,
  };
}
