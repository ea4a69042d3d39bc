import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import { Logger } from '@nestjs/common';
import type { Request } from 'express';
import { TenantContext } from '../tenancy/tenant-context';
import { MetricsService } from './metrics.service';

const logger = new Logger('GraphQL');

/** Counts and times every GraphQL request, and writes one access-log line for it (variables are never logged). */
@Plugin()
export class GraphqlMetricsPlugin implements ApolloServerPlugin<{ req?: Request }> {
  constructor(private readonly metrics: MetricsService) {}

  async requestDidStart({ contextValue }: { contextValue: { req?: Request } }): Promise<GraphQLRequestListener<{ req?: Request }>> {
    const started = process.hrtime.bigint();
    const tenantId = TenantContext.current()?.tenant.id;
    const req = contextValue.req;
    if (req) logger.debug({ msg: 'graphql request started', req: { method: req.method, url: req.originalUrl, headers: req.headers } });
    const metrics = this.metrics;
    let codes: string[] = [];
    return {
      async didEncounterErrors({ errors }) {
        codes = errors.map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
      },
      async willSendResponse({ operationName, response }) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const outcome = codes.length > 0 ? 'error' : 'ok';
        metrics.observeRequest(operationName, tenantId, outcome, seconds);
        logger.log({
          msg: 'graphql request',
          operation: operationName ?? null,
          outcome,
          status: response.http.status ?? 200,
          durationMs: Math.round(seconds * 1e5) / 100,
          ...(codes.length > 0 ? { errorCodes: codes } : {}),
        });
      },
    };
  }
}
