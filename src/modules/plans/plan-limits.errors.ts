import type { TenantPlan } from '../../control-plane/tenant-record';
import { AppError, ErrorCode } from '../../graphql/app-error';

/** What a plan counts. */
export enum LimitedResource {
  USERS = 'users',
  PROJECTS = 'projects',
}

export class PlanLimitReachedError extends AppError {
  constructor(resource: LimitedResource, limit: number, plan: TenantPlan) {
    super(ErrorCode.PLAN_LIMIT_REACHED, `The ${plan} plan allows at most ${limit} ${resource}`, { resource, limit, plan });
  }
}
