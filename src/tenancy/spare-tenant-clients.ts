import type { PrismaPg } from '@prisma/adapter-pg';
import type { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { planSharingPrismaClient } from './shared-query-plans';

// Building a PrismaClient cost ~1 ms of CPU, most of it Prisma decoding its parameterization graph (~455 KB of
// objects); the decoded graph is now shared (scripts/prisma-generate.js), and what is left (~0.03 ms) still moves off
// a cold tenant's request path here. A client only reaches its adapter at its first query, so one can be built
// ahead, before its tenant is known, and bound to the tenant's PrismaPg when a request needs it. A spare has never
// connected or compiled a query; it is bound once and never rebound.

/** The adapter factory of a client built before its tenant is known: bound to that tenant's PrismaPg once. */
export class PendingAdapter {
  readonly provider = 'postgres' as const;
  readonly adapterName = '@prisma/adapter-pg';
  private target?: PrismaPg;

  bind(target: PrismaPg): void {
    if (this.target) throw new Error('A tenant client is bound to one tenant only');
    this.target = target;
  }

  connect(): ReturnType<PrismaPg['connect']> {
    if (!this.target) return Promise.reject(new Error('A tenant client cannot connect before it is bound to its tenant'));
    return this.target.connect();
  }
}

interface Spare {
  client: PrismaClient;
  adapter: PendingAdapter;
}

/** Plan-sharing tenant clients built ahead of need, `count` at most, each handed out once. */
export class SpareTenantClients {
  private readonly spares: Spare[] = [];
  private refilling?: NodeJS.Immediate;
  private closed = false;

  constructor(private readonly count = 2) {}

  /** A client that will connect through `target` only: a spare when one is ready, otherwise one built now. */
  take(target: PrismaPg): PrismaClient {
    const spare = this.spares.pop() ?? build();
    spare.adapter.bind(target);
    this.refill();
    return spare.client;
  }

  /** Starts building spares ahead of the first cold tenant. */
  prepare(): void {
    this.refill();
  }

  get ready(): number {
    return this.spares.length;
  }

  /** Drops the spares (never connected: nothing to disconnect) and builds no more. */
  close(): void {
    this.closed = true;
    if (this.refilling) clearImmediate(this.refilling);
    this.refilling = undefined;
    this.spares.length = 0;
  }

  // One spare per turn of the event loop, so requests already waiting run in between.
  private refill(): void {
    if (this.closed || this.refilling || this.spares.length >= this.count) return;
    this.refilling = setImmediate(() => {
      this.refilling = undefined;
      if (this.closed) return;
      this.spares.push(build());
      this.refill();
    });
    this.refilling.unref();
  }
}

function build(): Spare {
  const adapter = new PendingAdapter();
  const TenantClient = planSharingPrismaClient();
  return { adapter, client: new TenantClient({ adapter }) };
}
