import { isIP } from 'node:net';

// A DNS name of at least two labels; the last one is not all digits, so no IPv4 address passes.
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The form a custom domain is stored and looked up in: lower case, no trailing dot. */
export function normalizeDomain(hostname: string): string {
  return hostname.trim().toLowerCase().replace(/\.$/, '');
}

/** Why `domain` (normalised) cannot be a tenant's custom domain, or undefined when it can. */
export function customDomainProblem(domain: string, baseDomain: string): string | undefined {
  const labels = domain.split('.');
  if (domain.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels.at(-1)!) || isIP(domain) !== 0) {
    return 'must be a DNS name such as shop.example.com';
  }
  if (domain === baseDomain || domain.endsWith(`.${baseDomain}`)) return `must not be ${baseDomain} or under it`;
  return undefined;
}

/** Whether a (normalised) Host could be a custom domain; anything else is never looked up. */
export function isCustomDomainCandidate(host: string, baseDomain: string): boolean {
  return customDomainProblem(host, baseDomain) === undefined;
}
