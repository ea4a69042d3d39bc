import { planLimits } from '../../control-plane/plans';
import { TenantContext } from '../../tenancy/tenant-context';
import { LimitedResource, PlanLimitReachedError } from './plan-limits.errors';

/** How many of `resource` the current tenant's plan allows; null means unlimited. */
export function planLimitOf(resource: LimitedResource): number | null {
  const limits = planLimits(TenantContext.require().tenant.plan);
  switch (resource) {
    case LimitedResource.USERS:
      return limits.maxUsers;
    case LimitedResource.PROJECTS:
      return limits.maxProjects;
  }
}

/** Throws PLAN_LIMIT_REACHED when the tenant already has as many of `resource` as its plan allows; counts only under a limit. */
export async function requireRoomFor(resource: LimitedResource, count: () => Promise<number>): Promise<void> {
  const limit = planLimitOf(resource);
  if (limit !== null && (await count()) >= limit) throw new PlanLimitReachedError(resource, limit, TenantContext.require().tenant.plan);
}
