import { Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { TenantRegistry } from '../control-plane/tenant-registry.service';
import { AppError, ErrorCode, graphqlErrorBody, httpStatusFor } from '../graphql/app-error';
import { TenantContext } from './tenant-context';
import { isValidTenantId } from './tenant-id.util';

export const TENANT_HEADER = 'x-tenant-id';

/**
 * Binds each /graphql request to exactly one tenant before anything else runs:
 * `<id>.<BASE_DOMAIN>` names it; a bare BASE_DOMAIN or an IP needs `x-tenant-id`; both must agree.
 */
@Injectable()
export class TenantMiddleware implements NestMiddleware {
  private readonly logger = new Logger(TenantMiddleware.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistry,
  ) {}

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    let tenantId: string;
    try {
      tenantId = this.tenantIdOf(req);
    } catch (error) {
      return reject(res, error as AppError);
    }
    // Malformed ids are answered exactly like unknown ones and never reach the registry.
    const tenant = isValidTenantId(tenantId)
      ? await this.registry.resolve(tenantId).catch((error: Error) => {
          this.logger.error(`Tenant lookup failed for ${tenantId}: ${error.stack ?? error.message}`);
          return undefined;
        })
      : null;
    if (tenant === undefined) {
      return reject(res, new AppError(ErrorCode.INTERNAL_SERVER_ERROR, 'The tenant registry is unavailable'));
    }
    if (!tenant || tenant.status === 'PROVISIONING' || tenant.status === 'DELETED') {
      return reject(res, new AppError(ErrorCode.TENANT_NOT_FOUND, 'Unknown tenant'));
    }
    if (tenant.status === 'SUSPENDED') {
      return reject(res, new AppError(ErrorCode.TENANT_SUSPENDED, 'This tenant is suspended'));
    }
    const requestId = typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'].slice(0, 100) : randomUUID();
    res.setHeader('x-request-id', requestId);
    TenantContext.run({ tenant, requestId }, next);
  }

  private tenantIdOf(req: Request): string {
    const header = req.headers[TENANT_HEADER];
    if (Array.isArray(header)) throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Send one ${TENANT_HEADER} header`);
    const fromHost = this.tenantIdFromHost(req.headers.host ?? '');
    if (fromHost !== undefined && header !== undefined && header !== fromHost) {
      throw new AppError(ErrorCode.TENANT_MISMATCH, `The ${TENANT_HEADER} header names another tenant than the host`);
    }
    const id = fromHost ?? header;
    if (id === undefined) {
      throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Call <tenant>.${this.config.baseDomain} or send ${TENANT_HEADER}`);
    }
    return id;
  }

  /** The tenant named by the Host header; undefined when the host names none (bare domain or IP). */
  private tenantIdFromHost(rawHost: string): string | undefined {
    const host = stripPort(rawHost.trim().toLowerCase());
    const base = this.config.baseDomain;
    if (host === '' || host === base || isIP(host.replace(/^\[|\]$/g, '')) !== 0) return undefined;
    if (!host.endsWith(`.${base}`)) throw new AppError(ErrorCode.TENANT_NOT_FOUND, 'This host serves no tenant');
    const label = host.slice(0, -(base.length + 1));
    if (label.includes('.')) throw new AppError(ErrorCode.TENANT_NOT_FOUND, 'Nested subdomains serve no tenant');
    return label;
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function reject(res: Response, error: AppError): void {
  res
    .status(httpStatusFor(error.code))
    .type('application/json')
    .send(JSON.stringify(graphqlErrorBody(error.code, error.message, error.details)));
}
