import { HttpDrain } from '../../src/http-drain';
import { UnknownTenantBudget } from '../../src/tenancy/unknown-tenant-budget';
import { startApp, type TestApp } from '../factories/app';
import { codes, gql, type GraphqlBody, type HttpResult, type Via } from '../factories/http';
import { metricSample, scrapeMetrics } from '../factories/metrics';
import { newTenant } from '../factories/tenants';
import { ProjectsDocument } from '../generated/graphql';

const ADMIN_TOKEN = 'unknown-tenant-budget-admin-token';
// One token per 100 s: within a test, an answer held is never sent by the bucket refilling, only by close or drain.
const SLOW = { UNKNOWN_TENANT_RATE: '0.01' };

type Answer = HttpResult<GraphqlBody<unknown>>;

/** A request still waiting for its answer, and whether it came. */
function pending(request: Promise<Answer>): { answer: Promise<Answer>; settled: () => boolean } {
  let settled = false;
  const answer = request.finally(() => (settled = true));
  return { answer, settled: () => settled };
}

async function untilHeld(api: TestApp, count: number): Promise<void> {
  const budget = api.app.get(UnknownTenantBudget);
  for (let i = 0; i < 500 && budget.held < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(budget.held).toBe(count);
}

const unknown = (api: TestApp, via: Via = {}) => gql(api.baseUrl, ProjectsDocument, { first: 1 }, { header: `ghost-${Math.random().toString(36).slice(2)}`, ...via });

describe('unknown-tenant budget per client address (R3)', () => {
  describe('by socket address', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await startApp({ ...SLOW, UNKNOWN_TENANT_BURST: '2', UNKNOWN_TENANT_MAX_HELD: '2', PLATFORM_ADMIN_TOKEN: ADMIN_TOKEN });
    });
    afterAll(async () => {
      await api?.close();
    });

    it('holds an address over budget, refuses it past the bound, and answers a known tenant from it and another address at once', async () => {
      const known = await newTenant(api);
      // The burst: answered at once.
      for (let i = 0; i < 2; i++) {
        const res = await unknown(api);
        expect([res.status, codes(res.body)]).toEqual([404, ['TENANT_NOT_FOUND']]);
      }
      // Over budget: held.
      const held = [pending(unknown(api)), pending(unknown(api))];
      await untilHeld(api, 2);

      // Past the bound of held answers: refused at once, and the connection closed.
      const refused = await unknown(api);
      expect([refused.status, codes(refused.body), refused.headers.connection, refused.headers['retry-after']]).toEqual([429, ['RATE_LIMITED'], 'close', '200']);
      // X-Forwarded-For does not make another client without TRUST_PROXY.
      const forged = await unknown(api, { headers: { 'x-forwarded-for': '198.51.100.1' } });
      expect(forged.status).toBe(429);

      // A known tenant from the same address, and an unknown one from another address: answered while those wait.
      const served = await gql(api.baseUrl, ProjectsDocument, { first: 1 }, { header: known.id, token: known.token });
      expect([served.status, served.body.errors]).toEqual([200, undefined]);
      const elsewhere = await unknown(api, { from: '127.0.0.2' });
      expect([elsewhere.status, codes(elsewhere.body)]).toEqual([404, ['TENANT_NOT_FOUND']]);
      expect(held.map((h) => h.settled())).toEqual([false, false]);

      const metrics = await scrapeMetrics(api.baseUrl, ADMIN_TOKEN);
      expect([
        metricSample(metrics, 'tenantry_unknown_tenant_answers_delayed_total'),
        metricSample(metrics, 'tenantry_unknown_tenant_answers_refused_total'),
        metricSample(metrics, 'tenantry_unknown_tenant_answers_held'),
      ]).toEqual([2, 2, 2]);

      // Shutting the budget down sends what it holds.
      api.app.get(UnknownTenantBudget).close();
      for (const h of held) {
        const res = await h.answer;
        expect([res.status, codes(res.body)]).toEqual([404, ['TENANT_NOT_FOUND']]);
      }
    });
  });

  describe('behind TRUST_PROXY', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await startApp({ ...SLOW, UNKNOWN_TENANT_BURST: '1', UNKNOWN_TENANT_MAX_HELD: '1', TRUST_PROXY: '1' });
    });
    afterAll(async () => {
      await api?.close();
    });

    it('keeps one budget per forwarded client, however the client pads X-Forwarded-For', async () => {
      const as = (client: string) => ({ headers: { 'x-forwarded-for': client } });
      expect((await unknown(api, as('198.51.100.1'))).status).toBe(404);
      const held = pending(unknown(api, as('198.51.100.1')));
      await untilHeld(api, 1);
      // The proxy appends the address it saw; what the client wrote on the left changes nothing.
      expect((await unknown(api, as('203.0.113.9, 198.51.100.1'))).status).toBe(429);
      // Another client behind the same proxy (same socket address) has its own budget.
      expect((await unknown(api, as('198.51.100.2'))).status).toBe(404);
      expect(held.settled()).toBe(false);
      api.app.get(UnknownTenantBudget).close();
      expect((await held.answer).status).toBe(404);
    });
  });

  describe('on shutdown', () => {
    let api: TestApp;
    beforeAll(async () => {
      api = await startApp({ ...SLOW, UNKNOWN_TENANT_BURST: '1' });
    });
    afterAll(async () => {
      await api?.close();
    });

    it('sends every held answer, with Connection: close, when the HTTP side drains', async () => {
      const drain = new HttpDrain(api.app);
      expect((await unknown(api)).status).toBe(404);
      const held = [pending(unknown(api)), pending(unknown(api)), pending(unknown(api, { from: '127.0.0.2' }))];
      // The third came from another address: within its burst, answered at once.
      await untilHeld(api, 2);
      // At one token per 100 s, the held answers would outlast this test's timeout: only the drain can send them.
      expect(await drain.drain(60_000)).toEqual({ cut: 0 });
      for (const h of held) {
        const res = await h.answer;
        expect([res.status, codes(res.body)]).toEqual([404, ['TENANT_NOT_FOUND']]);
      }
      expect((await held[0].answer).headers.connection).toBe('close');
    });
  });
});
