import { Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig } from '../config/config';
import type { TenantRecord, TenantStatus } from '../control-plane/tenant-record';
import type { TenantRegistry } from '../control-plane/tenant-registry.service';
import { type RequestContext, TenantContext } from './tenant-context';
import { TenantRejections } from './tenant-rejections';
import { TenantMiddleware } from './tenant.middleware';
import { UnknownTenantBudget } from './unknown-tenant-budget';

const BASE = 'tenantry.test';

function tenant(id: string, status: TenantStatus): TenantRecord {
  const at = new Date('2026-01-01T00:00:00Z');
  return { id, name: id, status, plan: 'free', schemaName: `tenant_${id}`, database: 'primary', deletedAt: null, createdAt: at, updatedAt: at };
}

const TENANTS = new Map(
  [tenant('acme', 'ACTIVE'), tenant('globex', 'ACTIVE'), tenant('frozen', 'SUSPENDED'), tenant('pending', 'PROVISIONING'), tenant('gone', 'DELETED')].map(
    (t) => [t.id, t],
  ),
);

interface Outcome {
  /** The context `next` ran in, when the request went through. */
  context?: RequestContext;
  status?: number;
  code?: string;
  body?: { errors: { message: string; extensions: { code: string } }[] };
  headers: Record<string, string>;
  /** Every id the registry was asked about. */
  lookups: string[];
  /** Every custom domain the registry was asked about. */
  domainLookups: string[];
  /** Whether answerIfCertainlyUnknown answered, when the request went through it. */
  answeredFirst?: boolean;
}

const DOMAINS = new Map([
  ['shop.example.org', 'acme'],
  ['frozen.example.org', 'frozen'],
  ['gone.example.org', 'gone'],
]);

interface RunOptions {
  registryFails?: boolean;
  /** Through answerIfCertainlyUnknown first, as bootstrap.ts does; `known: false` is a registry not yet filled. */
  gate?: { known: boolean };
}

async function run(headers: Record<string, string | string[]>, options: RunOptions | boolean = {}): Promise<Outcome> {
  const { registryFails = false, gate } = typeof options === 'boolean' ? { registryFails: options } : options;
  const lookups: string[] = [];
  const domainLookups: string[] = [];
  const registry = {
    mayHoldId: (id: string) => !gate?.known || TENANTS.has(id),
    mayHoldDomain: (domain: string) => !gate?.known || DOMAINS.has(domain),
    resolve: async (id: string) => {
      lookups.push(id);
      if (registryFails) throw new Error('connection refused');
      return TENANTS.get(id) ?? null;
    },
    resolveDomain: async (domain: string) => {
      domainLookups.push(domain);
      if (registryFails) throw new Error('connection refused');
      return TENANTS.get(DOMAINS.get(domain) ?? '') ?? null;
    },
  } as unknown as TenantRegistry;
  // No budget here: unknown-tenant-budget.spec.ts covers it.
  const config = loadConfig({ NODE_ENV: 'test', BASE_DOMAIN: BASE, UNKNOWN_TENANT_RATE: '0' });
  const middleware = new TenantMiddleware(config, registry, new TenantRejections(), new UnknownTenantBudget(config));

  const outcome: Outcome = { headers: {}, lookups, domainLookups };
  const res = {
    writeHead(code: number, headers: Record<string, string | number>) {
      outcome.status = code;
      for (const [name, value] of Object.entries(headers)) outcome.headers[name] = String(value);
      return res;
    },
    setHeader(name: string, value: string) {
      outcome.headers[name] = value;
      return res;
    },
    end(body: string) {
      outcome.body = JSON.parse(body);
      outcome.code = outcome.body?.errors[0].extensions.code;
      return res;
    },
  };
  if (gate) {
    outcome.answeredFirst = middleware.answerIfCertainlyUnknown({ headers } as unknown as IncomingMessage, res as unknown as ServerResponse);
    if (outcome.answeredFirst) return outcome;
  }
  await middleware.use({ headers } as unknown as Request, res as unknown as Response, () => {
    outcome.context = TenantContext.current();
  });
  return outcome;
}

const tenantOf = (outcome: Outcome) => outcome.context?.tenant.id;

describe('TenantMiddleware', () => {
  describe('resolves the tenant', () => {
    it.each([
      ['a subdomain', { host: `acme.${BASE}` }],
      ['a subdomain with a port', { host: `acme.${BASE}:3000` }],
      ['an upper-case host', { host: `ACME.Tenantry.TEST:8080` }],
      ['the header on the bare domain', { host: BASE, 'x-tenant-id': 'acme' }],
      ['the header on the bare domain with a port', { host: `${BASE}:3000`, 'x-tenant-id': 'acme' }],
      ['the header on an IPv4 address', { host: '127.0.0.1:3000', 'x-tenant-id': 'acme' }],
      ['the header on an IPv6 address', { host: '[::1]:3000', 'x-tenant-id': 'acme' }],
      ['the header on an IPv6 address without a port', { host: '[2001:db8::1]', 'x-tenant-id': 'acme' }],
      ['the header without a Host', { 'x-tenant-id': 'acme' }],
      ['a subdomain and the same header', { host: `acme.${BASE}`, 'x-tenant-id': 'acme' }],
    ])('from %s', async (_how, headers) => {
      const outcome = await run(headers);
      expect(outcome.status).toBeUndefined();
      expect(tenantOf(outcome)).toBe('acme');
      expect(outcome.lookups).toEqual(['acme']);
    });
  });

  it.each([
    ['the bare domain without the header', { host: BASE }],
    ['an IPv4 address without the header', { host: '127.0.0.1:3000' }],
    ['an IPv6 address without the header', { host: '[::1]:3000' }],
    ['no Host and no header', {}],
    ['a deeper subdomain', { host: `api.acme.${BASE}` }],
    ['a deeper subdomain even with the header', { host: `x.acme.${BASE}`, 'x-tenant-id': 'acme' }],
    ['another domain', { host: 'acme.evil.test' }],
    ['another domain even with the header', { host: 'evil.test', 'x-tenant-id': 'acme' }],
    ['a domain that merely ends like the base domain', { host: `acme${BASE}` }],
    ['the base domain under another domain', { host: `acme.${BASE}.evil.test` }],
    ['an upper-case header (matched exactly)', { host: BASE, 'x-tenant-id': 'ACME' }],
    ['a header with whitespace', { host: BASE, 'x-tenant-id': ' acme' }],
    ['a repeated header', { host: BASE, 'x-tenant-id': ['acme', 'acme'] }],
    ['a malformed id in the host', { host: `acme_corp.${BASE}` }],
    ['a reserved id', { host: `www.${BASE}` }],
    ['an unknown tenant', { host: `nobody.${BASE}` }],
    ['a tenant still being provisioned', { host: `pending.${BASE}` }],
    ['a deleted tenant', { host: `gone.${BASE}` }],
  ])('answers TENANT_NOT_FOUND to %s', async (_what, headers) => {
    const outcome = await run(headers);
    expect(outcome.context).toBeUndefined();
    expect(outcome.status).toBe(404);
    expect(outcome.code).toBe('TENANT_NOT_FOUND');
    expect(outcome.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(outcome.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify(outcome.body)));
  });

  it('never asks the registry about hosts it rejects or ids that are malformed', async () => {
    const rejected: Record<string, string>[] = [
      { host: `x.acme.${BASE}` },
      { host: BASE, 'x-tenant-id': 'ACME' },
      { host: `www.${BASE}` },
      { host: 'shop_1.example.org' },
      { host: 'localhost-only' },
      { host: '10.0.0.999' },
    ];
    for (const headers of rejected) {
      const outcome = await run(headers);
      expect(outcome.code).toBe('TENANT_NOT_FOUND');
      expect([...outcome.lookups, ...outcome.domainLookups]).toEqual([]);
    }
  });

  describe('custom domains', () => {
    it.each([
      ['the domain', { host: 'shop.example.org' }],
      ['the domain in upper case with a port', { host: 'SHOP.Example.org:8443' }],
      ['the domain and the same header', { host: 'shop.example.org', 'x-tenant-id': 'acme' }],
    ])('resolve the tenant from %s', async (_how, headers) => {
      const outcome = await run(headers);
      expect(outcome.status).toBeUndefined();
      expect(tenantOf(outcome)).toBe('acme');
      expect(outcome.domainLookups).toEqual(['shop.example.org']);
    });

    it('answer TENANT_MISMATCH when the header names another tenant than the domain', async () => {
      const outcome = await run({ host: 'shop.example.org', 'x-tenant-id': 'globex' });
      expect(outcome.status).toBe(400);
      expect(outcome.code).toBe('TENANT_MISMATCH');
    });

    it.each([
      ['an unknown domain', 'nobody.example.org', 'TENANT_NOT_FOUND'],
      ['the domain of a deleted tenant', 'gone.example.org', 'TENANT_NOT_FOUND'],
      ['the domain of a suspended tenant', 'frozen.example.org', 'TENANT_SUSPENDED'],
    ])('answer %s like its tenant id', async (_what, host, code) => {
      const outcome = await run({ host });
      expect(outcome.context).toBeUndefined();
      expect(outcome.code).toBe(code);
    });

    it('answer INTERNAL_SERVER_ERROR when the registry fails', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const outcome = await run({ host: 'shop.example.org' }, true).finally(() => logged.mockRestore());
      expect(outcome.status).toBe(500);
      expect(outcome.code).toBe('INTERNAL_SERVER_ERROR');
    });
  });

  it.each([
    ['another tenant', 'globex'],
    ['the same id in another case', 'ACME'],
  ])('answers TENANT_MISMATCH when the header names %s than the host', async (_what, header) => {
    const outcome = await run({ host: `acme.${BASE}:3000`, 'x-tenant-id': header });
    expect(outcome.context).toBeUndefined();
    expect(outcome.status).toBe(400);
    expect(outcome.code).toBe('TENANT_MISMATCH');
    expect(outcome.lookups).toEqual([]);
  });

  it('answers TENANT_SUSPENDED for a suspended tenant', async () => {
    const outcome = await run({ host: `frozen.${BASE}` });
    expect(outcome.context).toBeUndefined();
    expect(outcome.status).toBe(403);
    expect(outcome.body).toEqual({ errors: [{ message: 'This tenant is suspended', extensions: { code: 'TENANT_SUSPENDED' } }] });
  });

  it('answers INTERNAL_SERVER_ERROR, not TENANT_NOT_FOUND, when the registry fails', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const outcome = await run({ host: `acme.${BASE}` }, true).finally(() => logged.mockRestore());
    expect(outcome.context).toBeUndefined();
    expect(outcome.status).toBe(500);
    expect(outcome.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it('carries the x-request-id into the context and the response, or makes one up', async () => {
    const given = await run({ host: `acme.${BASE}`, 'x-request-id': 'r'.repeat(150) });
    expect(given.context?.requestId).toBe('r'.repeat(100));
    expect(given.headers['x-request-id']).toBe('r'.repeat(100));

    const made = await run({ host: `acme.${BASE}` });
    expect(made.context?.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(made.headers['x-request-id']).toBe(made.context?.requestId);
  });

  it('binds the whole tenant record, and only inside next()', async () => {
    const outcome = await run({ host: `acme.${BASE}` });
    expect(outcome.context?.tenant).toEqual(TENANTS.get('acme'));
    expect(TenantContext.current()).toBeUndefined();
  });

  describe('in front of Express (answerIfCertainlyUnknown)', () => {
    it.each([
      ['an unknown id in the header', { host: BASE, 'x-tenant-id': 'nobody' }, 'TENANT_NOT_FOUND'],
      ['an unknown subdomain', { host: `nobody.${BASE}` }, 'TENANT_NOT_FOUND'],
      ['an unknown custom domain', { host: 'nobody.example.org' }, 'TENANT_NOT_FOUND'],
      ['a malformed id', { host: `acme_corp.${BASE}` }, 'TENANT_NOT_FOUND'],
      ['host and header naming different tenants', { host: `acme.${BASE}`, 'x-tenant-id': 'globex' }, 'TENANT_MISMATCH'],
    ])('answers %s from memory, with no registry lookup', async (_what, headers, code) => {
      const outcome = await run(headers, { gate: { known: true } });
      expect(outcome.answeredFirst).toBe(true);
      expect(outcome.code).toBe(code);
      expect(outcome.lookups).toEqual([]);
      expect(outcome.domainLookups).toEqual([]);
    });

    it.each([
      ['a known id', { host: BASE, 'x-tenant-id': 'acme' }, 'acme'],
      ['a known custom domain', { host: 'shop.example.org' }, 'acme'],
    ])('lets %s through to the registry', async (_what, headers, id) => {
      const outcome = await run(headers, { gate: { known: true } });
      expect(outcome.answeredFirst).toBe(false);
      expect(tenantOf(outcome)).toBe(id);
    });

    it('lets every well-formed name through while the known names are not filled', async () => {
      const outcome = await run({ host: `nobody.${BASE}` }, { gate: { known: false } });
      expect(outcome.answeredFirst).toBe(false);
      expect(outcome.lookups).toEqual(['nobody']);
      expect(outcome.code).toBe('TENANT_NOT_FOUND');
    });
  });
});
