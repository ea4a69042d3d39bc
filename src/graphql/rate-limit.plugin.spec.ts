import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { PLANS } from '../control-plane/plans';
import type { TenantRecord } from '../control-plane/tenant-record';
import { loadConfig } from '../config/config';
import { countRootFields } from './rate-limit.plugin';
import { RateLimiter } from './rate-limit.service';
import { takeTokens } from './token-bucket';

function cost(source: string): number {
  const document = parse(source);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return countRootFields(document, operation);
}

describe('countRootFields', () => {
  it('counts each root field and each alias once, not nested fields', () => {
    expect(cost('{ me { id email } }')).toBe(1);
    expect(cost('{ a: me { id } b: me { id } projects { totalCount } }')).toBe(3);
  });

  it('expands fragments and inline fragments at the root', () => {
    expect(cost('query { ...F ... on Query { x: me { id } } } fragment F on Query { me { id } y: me { id } }')).toBe(3);
  });

  it('charges at least one operation', () => {
    expect(cost('query { ...Missing }')).toBe(1);
  });
});

describe('takeTokens', () => {
  const perMs = 6 / 60_000;

  it('starts full, takes whole costs and refuses without spending', () => {
    let [state, result] = takeTokens(undefined, 6, perMs, 4, 0);
    expect(result).toEqual({ allowed: true, retryAfterMs: 0 });
    [state, result] = takeTokens(state, 6, perMs, 4, 0);
    expect(result).toEqual({ allowed: false, retryAfterMs: 20_000 });
    expect(state.tokens).toBe(2);
  });

  it('refills evenly up to the capacity', () => {
    const [state] = takeTokens({ tokens: 0, updatedAt: 0 }, 6, perMs, 0, 10_000);
    expect(state.tokens).toBeCloseTo(1);
    expect(takeTokens({ tokens: 0, updatedAt: 0 }, 6, perMs, 0, 3_600_000)[0].tokens).toBe(6);
  });

  it('asks a request costing more than the bucket to wait for a full bucket at most', () => {
    expect(takeTokens({ tokens: 0, updatedAt: 0 }, 6, perMs, 10, 0)[1]).toEqual({ allowed: false, retryAfterMs: 60_000 });
  });
});

describe('RateLimiter capacity', () => {
  const tenant = (plan: TenantRecord['plan']) => ({ id: 't-1', plan }) as TenantRecord;

  it('is the plan table by default', () => {
    const limiter = new RateLimiter(loadConfig({ NODE_ENV: 'test' }), null);
    expect(limiter.capacityOf(tenant('free'))).toBe(600);
    expect(limiter.capacityOf(tenant('starter'))).toBe(3_000);
    expect(limiter.capacityOf(tenant('pro'))).toBe(15_000);
    expect(limiter.capacityOf(tenant('enterprise'))).toBe(PLANS.enterprise.operationsPerMinute);
  });

  it('scales with RATE_LIMIT_SCALE', () => {
    const limiter = new RateLimiter(loadConfig({ NODE_ENV: 'test', RATE_LIMIT_SCALE: '0.01' }), null);
    expect(limiter.capacityOf(tenant('free'))).toBe(6);
  });
});
