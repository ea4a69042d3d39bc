// What the HTTP targets are sent: P1's query or `writes`' mutation, the same document to every target, the tenant
// named alternately by subdomain (Host) and by the x-tenant-id header, so both resolution paths carry half the load.
import type { BenchTenant } from './fixture';

export const PROJECTS_QUERY = JSON.stringify({
  query:
    'query($first:Int){projects(first:$first){totalCount edges{cursor node{id name description createdAt owner{id email}}} pageInfo{hasNextPage endCursor}}}',
  variables: { first: 20 },
});

let sent = 0;

/** Headers naming `tenant` (by subdomain of localhost or by header, alternately); with its token when `auth`. */
export function tenantHeaders(tenant: BenchTenant, port: number, auth: boolean): Record<string, string> {
  const headers: Record<string, string> = sent++ % 2 === 0 ? { host: `${tenant.id}.localhost:${port}` } : { 'x-tenant-id': tenant.id };
  if (auth) headers.authorization = `Bearer ${tenant.token}`;
  return headers;
}

/** Throws unless the answer is a page of projects. */
export function checkProjects(status: number, body: string): void {
  if (status !== 200 || !body.includes('"totalCount":') || body.includes('"errors"')) throw new Error(`${status} ${body.slice(0, 200)}`);
}

const UPDATE_PROJECT = 'mutation($id:ID!,$input:UpdateProjectInput!){updateProject(id:$id,input:$input){id description}}';
let written = 0;

/** One of `tenant`'s projects, drawn at random (spreading row locks), and a new description, so each update writes. */
export function nextWrite(tenant: BenchTenant): { id: string; description: string } {
  return { id: tenant.projectIds[Math.floor(Math.random() * tenant.projectIds.length)], description: `Written by the bench, #${written++}` };
}

/** updateProject(id, { description }) for `tenant`'s next write. */
export function updateProjectBody(tenant: BenchTenant): string {
  const { id, description } = nextWrite(tenant);
  return JSON.stringify({ query: UPDATE_PROJECT, variables: { id, input: { description } } });
}

/** Throws unless the answer is the updated project. */
export function checkUpdateProject(status: number, body: string): void {
  if (status !== 200 || !body.includes('"updateProject":{') || body.includes('"errors"')) throw new Error(`${status} ${body.slice(0, 200)}`);
}
