import { startApp, type TestApp } from '../factories/app';
import { codes, gql, type Via } from '../factories/http';
import { newTenant } from '../factories/tenants';
import { TenantLifecycleService } from '../../src/control-plane/tenant-lifecycle.service';
import { TenantRegistry } from '../../src/control-plane/tenant-registry.service';
import { PLANS } from '../../src/control-plane/plans';
import { ArchiveProjectDocument, CreateProjectDocument, CreateUserDocument, DeactivateUserDocument, ProjectsPageDocument, UsersDocument } from '../generated/graphql';

describe('plan limits over HTTP', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApp();
  });
  afterAll(() => api.close());

  const createProject = (via: Via, name: string) => gql(api.baseUrl, CreateProjectDocument, { input: { name } }, via);
  const createUser = (via: Via, email: string) => gql(api.baseUrl, CreateUserDocument, { input: { email, name: 'U', role: 'MEMBER', password: 'a-long-password' } }, via);
  const projectTotal = async (via: Via) => (await gql(api.baseUrl, ProjectsPageDocument, { first: 0 }, via)).body.data!.projects.totalCount;
  const userTotal = async (via: Via) => (await gql(api.baseUrl, UsersDocument, { first: 0 }, via)).body.data!.users.totalCount;

  it.each(['free', 'starter'] as const)('lets a %s tenant create projects up to its limit, refuses one more, and counts only ACTIVE ones', async (plan) => {
    const tenant = await newTenant(api, { plan });
    const via = { header: tenant.id, token: tenant.token };
    const limit = PLANS[plan].maxProjects!;
    const ids: string[] = [];
    for (let i = 0; i < limit; i++) {
      const res = await createProject(via, `p${i}`);
      expect(res.body.errors).toBeUndefined();
      ids.push(res.body.data!.createProject.id);
    }
    const refused = await createProject(via, 'one too many');
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'PLAN_LIMIT_REACHED', resource: 'projects', limit, plan } }),
    ]);
    expect(refused.body.data).toBeNull();
    expect(await projectTotal(via)).toBe(limit);

    expect(codes((await gql(api.baseUrl, ArchiveProjectDocument, { id: ids[0] }, via)).body)).toEqual([]);
    expect((await createProject(via, 'in the freed slot')).body.errors).toBeUndefined();
    expect(codes((await createProject(via, 'again too many')).body)).toEqual(['PLAN_LIMIT_REACHED']);
  });

  it('lets a free tenant have 5 active users (its admin included), refuses a sixth, and counts only ACTIVE ones', async () => {
    const tenant = await newTenant(api, { plan: 'free' });
    const via = { header: tenant.id, token: tenant.token };
    const limit = PLANS.free.maxUsers!;
    const ids: string[] = [];
    for (let i = 1; i < limit; i++) {
      const res = await createUser(via, `u${i}@${tenant.id}.test`);
      expect(res.body.errors).toBeUndefined();
      ids.push(res.body.data!.createUser.id);
    }
    const refused = await createUser(via, `u${limit}@${tenant.id}.test`);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ extensions: { code: 'PLAN_LIMIT_REACHED', resource: 'users', limit, plan: 'free' } }),
    ]);
    expect(await userTotal(via)).toBe(limit);

    expect(codes((await gql(api.baseUrl, DeactivateUserDocument, { id: ids[0] }, via)).body)).toEqual([]);
    expect((await createUser(via, `replacement@${tenant.id}.test`)).body.errors).toBeUndefined();
    expect(codes((await createUser(via, `again@${tenant.id}.test`)).body)).toEqual(['PLAN_LIMIT_REACHED']);
  });

  it('applies a plan change made through the tenant lifecycle at once', async () => {
    const tenant = await newTenant(api, { plan: 'free' });
    const via = { header: tenant.id, token: tenant.token };
    for (let i = 0; i < PLANS.free.maxProjects!; i++) await createProject(via, `f${i}`);
    expect(codes((await createProject(via, 'blocked')).body)).toEqual(['PLAN_LIMIT_REACHED']);

    await api.app.get(TenantLifecycleService).update(tenant.id, { plan: 'starter' }, 'test');
    // The registry's NOTIFY drops cached copies; wait until this instance sees the new plan.
    const registry = api.app.get(TenantRegistry);
    for (let i = 0; i < 100 && (await registry.resolve(tenant.id))?.plan !== 'starter'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await createProject(via, 'upgraded')).body.errors).toBeUndefined();
    expect(await projectTotal(via)).toBe(PLANS.free.maxProjects! + 1);
  });
});
