import { Client } from 'pg';
import { startApp, type TestApp } from '../factories/app';
import { gql, type Via } from '../factories/http';
import { newTenant, type TestTenant } from '../factories/tenants';
import { CreateProjectDocument, CreateTaskDocument, UpdateMeDocument, UpdateProjectDocument, UpdateTaskDocument } from '../generated/graphql';

describe('a mutation changes its row and reads it back in one statement', () => {
  let api: TestApp;
  let acme: TestTenant;
  let via: Via;
  const statements: string[] = [];
  const originalQuery = Client.prototype.query;

  beforeAll(async () => {
    api = await startApp();
    acme = await newTenant(api);
    via = { header: acme.id, token: acme.token };
    // Every statement the API sends at the pg layer; a statement sent with its role and settings (ScopedStatement)
    // carries its text inside.
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const config = args[0] as string | { text?: string; statement?: { text?: string } };
      statements.push(typeof config === 'string' ? config : (config?.text ?? config?.statement?.text ?? ''));
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
  });
  afterAll(async () => {
    Client.prototype.query = originalQuery;
    await api.close();
  });

  /** What `mutate` sent to the tenant's `table`, in order. */
  async function sentTo<T>(table: string, mutate: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
    const before = statements.length;
    const result = await mutate();
    const sent = statements.slice(before).filter((sql) => sql.includes(`"${acme.schemaName}"."${table}"`));
    return { result, sent };
  }

  const verbs = (sent: string[]) => sent.map((sql) => sql.trimStart().split(/\s/)[0].toUpperCase());

  it('updateProject reads the project to check it, then updates it and gets the row back from the UPDATE', async () => {
    const created = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'Statements' } }, via);
    const id = created.body.data!.createProject.id;
    const { result, sent } = await sentTo('Project', () => gql(api.baseUrl, UpdateProjectDocument, { id, input: { description: 'changed once' } }, via));
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data!.updateProject).toEqual({ id, name: 'Statements', description: 'changed once' });
    expect(verbs(sent)).toEqual(['SELECT', 'UPDATE']);
  });

  it('updateTask updates the task and gets the row back from the UPDATE', async () => {
    const project = await gql(api.baseUrl, CreateProjectDocument, { input: { name: 'Task statements' } }, via);
    const task = await gql(api.baseUrl, CreateTaskDocument, { input: { projectId: project.body.data!.createProject.id, title: 'Count me' } }, via);
    const id = task.body.data!.createTask.id;
    const { result, sent } = await sentTo('Task', () => gql(api.baseUrl, UpdateTaskDocument, { id, input: { status: 'DONE', title: 'Counted' } }, via));
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data!.updateTask).toMatchObject({ id, title: 'Counted', status: 'DONE' });
    expect(verbs(sent).filter((verb) => verb === 'UPDATE')).toHaveLength(1);
    expect(verbs(sent).at(-1)).toBe('UPDATE');
  });

  it('updateMe updates the user and gets the row back from the UPDATE', async () => {
    const { result, sent } = await sentTo('User', () => gql(api.baseUrl, UpdateMeDocument, { input: { name: 'Renamed Admin' } }, via));
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data!.updateMe).toMatchObject({ id: acme.adminId, name: 'Renamed Admin' });
    expect(verbs(sent).filter((verb) => verb === 'UPDATE')).toHaveLength(1);
    expect(verbs(sent).at(-1)).toBe('UPDATE');
  });
});
