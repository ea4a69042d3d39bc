import type { TestApp } from './app';
import { post, type GraphqlBody, type HttpResult } from './http';

export const TEST_ADMIN_TOKEN = 'test-platform-admin-token-0123456789';

/** Runs a document against `/admin/graphql`; `token: null` sends no Authorization header. */
export async function adminGql<D = Record<string, any>>(
  api: TestApp,
  query: string,
  variables: Record<string, unknown> = {},
  options: { token?: string | null; headers?: Record<string, string> } = {},
): Promise<HttpResult<GraphqlBody<D>>> {
  const token = options.token === undefined ? TEST_ADMIN_TOKEN : options.token;
  const headers: Record<string, string> = { host: `localhost:${api.port}`, ...options.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await post(api.baseUrl, '/admin/graphql', JSON.stringify({ query, variables }), headers);
  return { ...res, body: JSON.parse(res.body) as GraphqlBody<D> };
}
