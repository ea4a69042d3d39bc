import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface HttpResult<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface GraphqlBody<D> {
  data?: D | null;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
}

/** How a call names its tenant: a subdomain of BASE_DOMAIN, the header, both, or a raw Host. */
export interface Via {
  subdomain?: string;
  header?: string;
  host?: string;
  token?: string;
  /** The client's own address, e.g. 127.0.0.2 (any 127.x address is the loopback): how tests act as another client. */
  from?: string;
  /** Any further request headers (e.g. x-forwarded-for). */
  headers?: Record<string, string>;
}

/** POSTs raw text to `path`; Node's http (not fetch) so that tests control the Host header. */
export function post(
  baseUrl: string,
  path: string,
  body: string,
  headers: Record<string, string>,
  localAddress?: string,
): Promise<HttpResult<string>> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function headersFor(via: Via, port: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (via.host !== undefined) headers.host = via.host;
  else if (via.subdomain !== undefined) headers.host = `${via.subdomain}.localhost:${port}`;
  else headers.host = `localhost:${port}`;
  if (via.header !== undefined) headers['x-tenant-id'] = via.header;
  if (via.token !== undefined) headers.authorization = `Bearer ${via.token}`;
  return { ...headers, ...via.headers };
}

/** Runs a typed GraphQL document against the API and parses the response. */
export async function gql<D, V>(
  baseUrl: string,
  document: TypedDocumentNode<D, V> | string,
  variables: V,
  via: Via,
): Promise<HttpResult<GraphqlBody<D>>> {
  const query = typeof document === 'string' ? document : print(document);
  const port = new URL(baseUrl).port;
  const res = await post(baseUrl, '/graphql', JSON.stringify({ query, variables }), headersFor(via, Number(port)), via.from);
  return { ...res, body: JSON.parse(res.body) as GraphqlBody<D> };
}

/** The error codes of a GraphQL response, for compact assertions. */
export function codes(body: GraphqlBody<unknown>): string[] {
  return (body.errors ?? []).map((e) => String(e.extensions?.code));
}

/** The field paths a BAD_USER_INPUT error names in `extensions.fields`. */
export function fieldPaths(error: { extensions?: Record<string, unknown> }): string[] {
  return ((error.extensions?.fields ?? []) as { path: string }[]).map((field) => field.path);
}
