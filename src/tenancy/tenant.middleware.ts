import { Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { TenantRecord } from '../control-plane/tenant-record';
import { TenantRegistry } from '../control-plane/tenant-registry.service';
import { AppError, ErrorCode, graphqlErrorBody, httpStatusFor } from '../graphql/app-error';
import { isDatabaseUnavailable } from '../graphql/database-unavailable';
import { TenantContext } from './tenant-context';
import { TenantRejections } from './tenant-rejections';
import { isCustomDomainCandidate } from './tenant-domain.util';
import { isValidTenantId } from './tenant-id.util';
import { UnknownTenantBudget } from './unknown-tenant-budget';

export const TENANT_HEADER = 'x-tenant-id';

/** What the Host header names: nothing (bare domain or IP), a subdomain's tenant id, or a custom domain. */
type HostName = { kind: 'none' } | { kind: 'subdomain'; id: string } | { kind: 'custom'; domain: string };

/** The tenant a request names, before any lookup: a well-formed id, a custom domain (and the header, if sent), or none. */
type TenantName = { kind: 'id'; id: string } | { kind: 'custom'; domain: string; header?: string } | { kind: 'malformed' };

/**
 * Binds each /graphql request to exactly one tenant before anything else runs:
 * `<id>.<BASE_DOMAIN>` or a tenant's custom domain names it; a bare BASE_DOMAIN or an IP needs `x-tenant-id`;
 * host and header must agree.
 */
@Injectable()
export class TenantMiddleware implements NestMiddleware {
  private readonly logger = new Logger(TenantMiddleware.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistry,
    private readonly rejections: TenantRejections,
    private readonly budget: UnknownTenantBudget,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    let tenant: TenantRecord | null;
    try {
      tenant = await this.tenantOf(req);
    } catch (error) {
      return this.reject(req, res, error as AppError);
    }
    if (!tenant || tenant.status === 'PROVISIONING' || tenant.status === 'DELETED') {
      return this.answer(req, res, UNKNOWN_TENANT);
    }
    if (tenant.status === 'MOVING') {
      return this.reject(req, res, new AppError(ErrorCode.TENANT_MOVING, 'This tenant is moving to another database; retry shortly', { retryable: true, retryAfterSeconds: 1 }));
    }
    if (tenant.status === 'SUSPENDED') {
      return this.reject(req, res, new AppError(ErrorCode.TENANT_SUSPENDED, 'This tenant is suspended'));
    }
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 100) : randomUUID();
    res.setHeader('x-request-id', requestId);
    TenantContext.run({ tenant, requestId }, next);
  }

  /**
   * Runs in front of Express (installed in bootstrap.ts), before routing or reading the body: answers a request whose
   * tenant certainly does not exist, or whose tenant headers are invalid, from memory and exactly as `use` would, and
   * returns true; any other request returns false and goes on to Express and `use`.
   */
  answerIfCertainlyUnknown(req: IncomingMessage, res: ServerResponse): boolean {
    let name: TenantName;
    try {
      name = this.nameOf(req);
    } catch (error) {
      this.reject(req, res, error as AppError);
      return true;
    }
    if (name.kind === 'malformed' || (name.kind === 'id' && !this.registry.mayHoldId(name.id))) {
      this.answer(req, res, UNKNOWN_TENANT);
      return true;
    }
    if (name.kind === 'custom' && !this.registry.mayHoldDomain(name.domain)) {
      this.answer(req, res, UNKNOWN_HOST);
      return true;
    }
    return false;
  }

  private reject(req: IncomingMessage, res: ServerResponse, error: AppError): void {
    this.answer(req, res, answerOf(error.code, error.message, error.details));
  }

  // Answers that name no tenant (or headers that disagree) spend the client address's budget; the rest go at once.
  private answer(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
    if (answer.code !== ErrorCode.TENANT_NOT_FOUND && answer.code !== ErrorCode.TENANT_MISMATCH) return this.send(res, answer);
    this.budget.answer(
      req,
      res,
      () => this.send(res, answer),
      (retryAfterSeconds) => this.send(res, tooManyUnknown(retryAfterSeconds)),
    );
  }

  private send(res: ServerResponse, answer: Answer): void {
    this.rejections.record(answer.code);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  }

  private async tenantOf(req: Request): Promise<TenantRecord | null> {
    const name = this.nameOf(req);
    if (name.kind === 'malformed') return null;
    if (name.kind === 'id') return this.lookup(name.id, () => this.registry.resolve(name.id));
    const tenant = await this.lookup(name.domain, () => this.registry.resolveDomain(name.domain));
    if (!tenant) throw new AppError(ErrorCode.TENANT_NOT_FOUND, 'This host serves no tenant');
    if (name.header !== undefined && name.header !== tenant.id) {
      throw new AppError(ErrorCode.TENANT_MISMATCH, `The ${TENANT_HEADER} header names another tenant than the host`);
    }
    return tenant;
  }

  /** The tenant the Host header and x-tenant-id name (no I/O); throws when they are invalid or disagree. */
  private nameOf(req: IncomingMessage): TenantName {
    const header = req.headers[TENANT_HEADER];
    if (Array.isArray(header)) throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Send one ${TENANT_HEADER} header`);
    const host = this.nameOfHost(req.headers.host ?? '');
    if (host.kind === 'custom') return { kind: 'custom', domain: host.domain, header };
    const fromHost = host.kind === 'subdomain' ? host.id : undefined;
    if (fromHost !== undefined && header !== undefined && header !== fromHost) {
      throw new AppError(ErrorCode.TENANT_MISMATCH, `The ${TENANT_HEADER} header names another tenant than the host`);
    }
    const id = fromHost ?? header;
    if (id === undefined) {
      throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Call <tenant>.${this.config.baseDomain} or send ${TENANT_HEADER}`);
    }
    // Malformed ids are answered exactly like unknown ones and never reach the registry.
    return isValidTenantId(id) ? { kind: 'id', id } : { kind: 'malformed' };
  }

  private async lookup(what: string, resolve: () => Promise<TenantRecord | null>): Promise<TenantRecord | null> {
    try {
      return await resolve();
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        this.logger.warn(`Tenant lookup failed for ${what}: ${(error as Error).message}`);
        throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'The tenant registry is unavailable; retry later');
      }
      this.logger.error(`Tenant lookup failed for ${what}: ${(error as Error).stack ?? String(error)}`);
      throw new AppError(ErrorCode.INTERNAL_SERVER_ERROR, 'The tenant registry is unavailable');
    }
  }

  private nameOfHost(rawHost: string): HostName {
    const host = stripPort(rawHost.trim().toLowerCase());
    const base = this.config.baseDomain;
    if (host === '' || host === base || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return { kind: 'none' };
    if (!host.endsWith(`.${base}`)) {
      // Only well-formed DNS names outside BASE_DOMAIN are looked up as custom domains.
      if (isCustomDomainCandidate(host, base)) return { kind: 'custom', domain: host };
      throw new AppError(ErrorCode.TENANT_NOT_FOUND, 'This host serves no tenant');
    }
    const label = host.slice(0, -(base.length + 1));
    if (label.includes('.')) throw new AppError(ErrorCode.TENANT_NOT_FOUND, 'Nested subdomains serve no tenant');
    return { kind: 'subdomain', id: label };
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** A rejection as written by plain node:http, so it costs the same in front of Express as inside it. */
interface Answer {
  code: ErrorCode;
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

function answerOf(code: ErrorCode, message: string, details?: Record<string, unknown>): Answer {
  const body = JSON.stringify(graphqlErrorBody(code, message, details));
  return { code, status: httpStatusFor(code), headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }, body };
}

// The answers a flood of unknown tenants gets, built once: no error object (and stack trace) or JSON per request.
const UNKNOWN_TENANT = answerOf(ErrorCode.TENANT_NOT_FOUND, 'Unknown tenant');
const UNKNOWN_HOST = answerOf(ErrorCode.TENANT_NOT_FOUND, 'This host serves no tenant');

// Refused over the bound of held answers: the connection is closed, so a client must reconnect to try again.
const TOO_MANY_UNKNOWN = new Map<number, Answer>();
function tooManyUnknown(retryAfterSeconds: number): Answer {
  let answer = TOO_MANY_UNKNOWN.get(retryAfterSeconds);
  if (!answer) {
    answer = answerOf(ErrorCode.RATE_LIMITED, 'Too many requests for unknown tenants from this address', { retryAfterSeconds });
    answer.headers = { ...answer.headers, 'retry-after': retryAfterSeconds, connection: 'close' };
    if (TOO_MANY_UNKNOWN.size < 100) TOO_MANY_UNKNOWN.set(retryAfterSeconds, answer);
  }
  return answer;
}
