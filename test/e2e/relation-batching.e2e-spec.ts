import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { TenantConnectionService } from '../../src/tenancy/tenant-connection.service';
import { startApp, type TestApp } from '../factories/app';
import { gql } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { BatchedProjectPageDocument } from '../generated/graphql';

const TASKS_PER_PROJECT = 3;

describe('relations resolve through per-request DataLoaders', () => {
  let api: TestApp;
  const statements: string[] = [];
  const originalQuery = Client.prototype.query;

  beforeAll(async () => {
    api = await startApp();
    // Every statement the API sends, at the pg layer (Prisma's adapter and the registry alike).
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string };
      statements.push(typeof config === 'string' ? config : (config?.text ?? ''));
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
  });
  afterAll(async () => {
    Client.prototype.query = originalQuery;
    await api.close();
  });

  /** `projects` projects, each with its own owner and TASKS_PER_PROJECT tasks, every task with its own assignee. */
  async function tenantWith(projects: number): Promise<TestTenant> {
    const tenant = await newTenant(api, { plan: 'enterprise' });
    const db = api.app.get(TenantConnectionService).forSchema(tenant.schemaName);
    const user = () => ({ id: randomUUID(), email: `${randomUUID()}@${tenant.id}.test`, name: 'Seeded', passwordHash: 'not-a-hash' });
    const owners = Array.from({ length: projects }, user);
    const assignees = Array.from({ length: projects * TASKS_PER_PROJECT }, user);
    await db.user.createMany({ data: [...owners, ...assignees] });
    const rows = owners.map((owner, i) => ({ id: randomUUID(), name: `Project ${i}`, ownerId: owner.id }));
    await db.project.createMany({ data: rows });
    await db.task.createMany({
      data: rows.flatMap((project, i) =>
        Array.from({ length: TASKS_PER_PROJECT }, (_, j) => ({ title: `Task ${i}.${j}`, projectId: project.id, assigneeId: assignees[i * TASKS_PER_PROJECT + j].id })),
      ),
    });
    return tenant;
  }

  /** The statements one page costs against the tenant's schema, and the page. */
  async function measure(tenant: TestTenant, first: number) {
    const via = { header: tenant.id, token: tenant.token };
    // Warms the tenant's client and registry cache; once more if a keep-alive socket went stale during seeding.
    const warm = () => gql(api.baseUrl, BatchedProjectPageDocument, { first }, via);
    await warm().catch(warm);
    const before = statements.length;
    const res = await gql(api.baseUrl, BatchedProjectPageDocument, { first }, via);
    const sent = statements.slice(before).filter((sql) => sql.includes(`"${tenant.schemaName}".`));
    return { sent, res };
  }

  it('answers a page of 5 and a page of 50 projects with owners, tasks, assignees and projects in the same number of statements', async () => {
    const [small, large] = [await tenantWith(5), await tenantWith(50)];
    const five = await measure(small, 5);
    const fifty = await measure(large, 50);

    for (const [run, n] of [[five, 5], [fifty, 50]] as const) {
      expect(run.res.body.errors).toBeUndefined();
      const nodes = run.res.body.data!.projects.edges.map((e) => e.node);
      expect(nodes).toHaveLength(n);
      expect(new Set(nodes.map((p) => p.owner.id)).size).toBe(n);
      const tasks = nodes.flatMap((p) => p.tasks.edges.map((e) => ({ ...e.node, parent: p.id, total: p.tasks.totalCount })));
      expect(tasks).toHaveLength(n * TASKS_PER_PROJECT);
      expect(tasks.every((t) => t.project.id === t.parent && t.total === TASKS_PER_PROJECT)).toBe(true);
      expect(new Set(tasks.map((t) => t.assignee!.id)).size).toBe(n * TASKS_PER_PROJECT);
    }
    expect(fifty.sent.length).toBe(five.sent.length);
    // Not one statement per row: the auth check, the page with its owners, its count, tasks, task counts, assignees.
    expect(five.sent.length).toBeLessThan(5 * TASKS_PER_PROJECT);
    // The owners come in the page's own statement (a lateral join), not in a batch of their own.
    for (const run of [five, fifty]) expect(run.sent.filter((sql) => sql.includes('"Project"') && sql.includes('"User"'))).toHaveLength(1);
  });
});
