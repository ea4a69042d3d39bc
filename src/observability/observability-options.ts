import type { DestinationStream } from 'pino';

/** Knobs of the logging and metrics plumbing that are not configuration variables (tests set them). */
export interface ObservabilityOptions {
  /** Where pino writes; stdout by default. */
  logDestination?: DestinationStream;
  /** K of the top-K tenants that get their own `tenant` label; the rest are `other`. */
  topTenants?: number;
  /** How long /metrics reuses the fleet migration state read from the control plane. */
  migrationStatusTtlMs?: number;
}

export const OBSERVABILITY_OPTIONS = Symbol('OBSERVABILITY_OPTIONS');
export const DEFAULT_TOP_TENANTS = 20;
