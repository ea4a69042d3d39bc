import { AsyncLocalStorage } from 'node:async_hooks';
import type { TenantRecord } from '../control-plane/tenant-record';
import type { OperationTransaction } from './operation-transaction';

export interface AuthenticatedUser {
  id: string;
  tenantId: string;
  role: 'ADMIN' | 'MEMBER';
}

/** What a request is bound to, from the tenant middleware to its last SQL statement. */
export interface RequestContext {
  requestId: string;
  tenant: TenantRecord;
  user?: AuthenticatedUser;
  /** Set for a GraphQL query: its statements share one read-only transaction. */
  operationTransaction?: OperationTransaction;
}

export class MissingTenantContextError extends Error {
  constructor() {
    super('Tenant data was accessed outside a tenant context');
  }
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request's tenant context lives in AsyncLocalStorage, never in request-scoped providers. */
export const TenantContext = {
  run<T>(context: RequestContext, fn: () => T): T {
    return storage.run(context, fn);
  },
  current(): RequestContext | undefined {
    return storage.getStore();
  },
  /** Throws instead of falling back to any default schema. */
  require(): RequestContext {
    const context = storage.getStore();
    if (!context) throw new MissingTenantContextError();
    return context;
  },
};
