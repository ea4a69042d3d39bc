import type { TenantPlan } from './tenant-record';

/** What each plan allows a tenant. `null` means unlimited. */
export interface PlanLimits {
  maxUsers: number | null;
  maxProjects: number | null;
  /** GraphQL root fields (aliases included) per minute. */
  operationsPerMinute: number;
  /** Applied to every statement the tenant runs. */
  statementTimeoutMs: number;
}

export const PLANS: Readonly<Record<TenantPlan, PlanLimits>> = {
  free: { maxUsers: 5, maxProjects: 3, operationsPerMinute: 600, statementTimeoutMs: 2_000 },
  starter: { maxUsers: 20, maxProjects: 10, operationsPerMinute: 3_000, statementTimeoutMs: 5_000 },
  pro: { maxUsers: 100, maxProjects: 50, operationsPerMinute: 15_000, statementTimeoutMs: 10_000 },
  enterprise: { maxUsers: null, maxProjects: null, operationsPerMinute: 60_000, statementTimeoutMs: 30_000 },
};

export function planLimits(plan: TenantPlan): PlanLimits {
  return PLANS[plan];
}
