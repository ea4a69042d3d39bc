import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { TenantContext } from '../tenancy/tenant-context';
import { AppError, ErrorCode, httpStatusFor } from './app-error';
import { RateLimiter } from './rate-limit.service';

/**
 * Charges each GraphQL operation to its tenant's bucket once it is parsed and validated, before anything runs:
 * one token per root field, each alias counting as its own field. Over the limit → RATE_LIMITED (HTTP 429)
 * with `extensions.retryAfterSeconds` and a `Retry-After` header.
 */
@Plugin()
export class RateLimitPlugin implements ApolloServerPlugin {
  constructor(private readonly limiter: RateLimiter) {}

  async requestDidStart(): Promise<GraphQLRequestListener<Record<string, unknown>>> {
    const limiter = this.limiter;
    return {
      async didResolveOperation({ document, operation }) {
        const context = TenantContext.current();
        if (!context || !operation) return;
        const cost = countRootFields(document, operation);
        const { allowed, retryAfterMs } = await limiter.take(context.tenant, cost);
        if (allowed) return;
        const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
        const error = new AppError(
          ErrorCode.RATE_LIMITED,
          `Tenant ${context.tenant.id} exceeded ${limiter.capacityOf(context.tenant)} operations per minute; retry after ${retryAfterSeconds} s`,
          { retryAfterSeconds },
        );
        const headers = new HeaderMap([['retry-after', String(retryAfterSeconds)]]);
        throw new GraphQLError(error.message, {
          originalError: error,
          extensions: { code: error.code, retryAfterSeconds, http: { status: httpStatusFor(error.code), headers } },
        });
      },
    };
  }
}

/** Root fields the operation selects, fragments expanded and aliases counted; at least 1. */
export function countRootFields(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const count = (selectionSet: SelectionSetNode, seen: Set<string>): number =>
    selectionSet.selections.reduce((sum, selection) => {
      if (selection.kind === Kind.FIELD) return sum + 1;
      if (selection.kind === Kind.INLINE_FRAGMENT) return sum + count(selection.selectionSet, seen);
      const fragment = fragments.get(selection.name.value);
      // Validation has rejected cycles already; `seen` only guards against counting one spread path twice.
      if (!fragment || seen.has(fragment.name.value)) return sum;
      return sum + count(fragment.selectionSet, new Set([...seen, fragment.name.value]));
    }, 0);
  return Math.max(1, count(operation.selectionSet, new Set()));
}
