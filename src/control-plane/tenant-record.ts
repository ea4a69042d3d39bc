export const TENANT_STATUSES = ['PROVISIONING', 'ACTIVE', 'SUSPENDED', 'MOVING', 'DELETED'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export const TENANT_PLANS = ['free', 'starter', 'pro', 'enterprise'] as const;
export type TenantPlan = (typeof TENANT_PLANS)[number];

/** A tenant as the control-plane registry holds it. */
export interface TenantRecord {
  id: string;
  name: string;
  status: TenantStatus;
  plan: TenantPlan;
  schemaName: string;
  /** The configured database holding the schema (PRIMARY_DATABASE unless placed elsewhere). */
  database: string;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
