import { Injectable } from '@nestjs/common';
import {
  IsolationCheckRepository,
  type IsolationCheckRecord,
  type IsolationProbeFailure,
} from '../control-plane/isolation-check.repository';
import type { TenantRecord } from '../control-plane/tenant-record';
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
    // Probes pair tenants of one database: a schema on another server is out of reach by construction.
    const pairs: [number, number][] = [];
    for (const database of new Set(tenants.map((t) => t.database))) {
      const placed = tenants.flatMap((t, index) => (t.database === database ? [index] : []));
      for (const [n, i] of placed.entries()) {
        if (options.allPairs) for (const j of placed) if (i !== j) pairs.push([i, j]);
        if (!options.allPairs && placed.length > 1) pairs.push([i, placed[(n + 1) % placed.length]]);
      }
    }
    const failures: IsolationProbeFailure[] = [];
    for (const tenant of tenants) {
      // A role that reads nothing would pass every cross-tenant probe: its own table must answer.
      const own = await this.read(tenant, `SELECT count(*)::int AS n FROM "User"`);
      if (own !== 'ok') failures.push({ from: tenant.id, to: tenant.id, outcome: 'error', detail: `own schema unreadable: ${own}` });
    }
    for (const [from, to] of pairs) {
      const target = `${quoteIdentifier(tenants[to].schemaName)}."User"`;
      const outcome = await this.read(tenants[from], `SELECT count(*)::int AS n FROM ${target}`);
      if (outcome === INSUFFICIENT_PRIVILEGE) continue;
      failures.push({ from: tenants[from].id, to: tenants[to].id, outcome: outcome === 'ok' ? 'readable' : 'error', ...(outcome === 'ok' ? {} : { detail: outcome }) });
    }
    return this.checks.record({ startedAt, tenants: tenants.length, probes: tenants.length + pairs.length, ok: failures.length === 0, failures });
  }

  /** 'ok', or the SQLSTATE (or message) the read failed with. */
  private async read(tenant: TenantRecord, sql: string): Promise<string> {
    try {
      await this.connections.forSchema(tenant.schemaName, tenant.database).$queryRawUnsafe(sql);
      return 'ok';
    } catch (error) {
      const e = error as { message?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
      return e.meta?.driverAdapterError?.cause?.originalCode ?? String(e.message ?? error).slice(0, 200);
    }
  }
}
