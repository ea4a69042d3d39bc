import { Injectable } from '@nestjs/common';
import {
  IsolationCheckRepository,
  type IsolationCheckRecord,
  type IsolationProbeFailure,
} from '../control-plane/isolation-check.repository';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { quoteIdentifier } from './tenant-id.util';
import { TenantConnectionService } from './tenant-connection.service';

const INSUFFICIENT_PRIVILEGE = '42501';
const PROBED = new Set(['ACTIVE', 'SUSPENDED']);

export interface IsolationCheckOptions {
  /** Every ordered pair instead of each tenant probing the next one (a ring: each tenant is prober and target once). */
  allPairs?: boolean;
}

/**
 * `tenants isolation-check`: probes the live deployment through the same path requests take (the tenant's client,
 * its role, the request pool): each tenant reads its own users, then tries another tenant's, which PostgreSQL must
 * refuse with 42501. The outcome and time are recorded in the control plane.
 */
@Injectable()
export class IsolationChecker {
  constructor(
    private readonly registry: TenantRegistryRepository,
    private readonly connections: TenantConnectionService,
    private readonly checks: IsolationCheckRepository,
  ) {}

  async check(options: IsolationCheckOptions = {}): Promise<IsolationCheckRecord> {
    const startedAt = new Date();
    const tenants = (await this.registry.list()).filter((t) => PROBED.has(t.status));
    const pairs: [number, number][] = [];
    for (let i = 0; i < tenants.length; i++) {
      if (options.allPairs) for (let j = 0; j < tenants.length; j++) if (i !== j) pairs.push([i, j]);
      if (!options.allPairs && tenants.length > 1) pairs.push([i, (i + 1) % tenants.length]);
    }
    const failures: IsolationProbeFailure[] = [];
    for (const tenant of tenants) {
      // A role that reads nothing would pass every cross-tenant probe: its own table must answer.
      const own = await this.read(tenant.schemaName, `SELECT count(*)::int AS n FROM "User"`);
      if (own !== 'ok') failures.push({ from: tenant.id, to: tenant.id, outcome: 'error', detail: `own schema unreadable: ${own}` });
    }
    for (const [from, to] of pairs) {
      const target = `${quoteIdentifier(tenants[to].schemaName)}."User"`;
      const outcome = await this.read(tenants[from].schemaName, `SELECT count(*)::int AS n FROM ${target}`);
      if (outcome === INSUFFICIENT_PRIVILEGE) continue;
      failures.push({ from: tenants[from].id, to: tenants[to].id, outcome: outcome === 'ok' ? 'readable' : 'error', ...(outcome === 'ok' ? {} : { detail: outcome }) });
    }
    return this.checks.record({ startedAt, tenants: tenants.length, probes: tenants.length + pairs.length, ok: failures.length === 0, failures });
  }

  /** 'ok', or the SQLSTATE (or message) the read failed with. */
  private async read(schema: string, sql: string): Promise<string> {
    try {
      await this.connections.forSchema(schema).$queryRawUnsafe(sql);
      return 'ok';
    } catch (error) {
      const e = error as { message?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
      return e.meta?.driverAdapterError?.cause?.originalCode ?? String(e.message ?? error).slice(0, 200);
    }
  }
}
