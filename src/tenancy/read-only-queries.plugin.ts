import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import { TenantContext } from './tenant-context';

/** A tenant GraphQL query's statements run read-only (TenantScopedPool): a query can never write, whatever its resolvers do. */
@Plugin()
export class ReadOnlyQueriesPlugin implements ApolloServerPlugin {
  async requestDidStart(): Promise<GraphQLRequestListener<Record<string, unknown>>> {
    return {
      async executionDidStart({ operation }) {
        const context = TenantContext.current();
        if (context && operation.operation === 'query') context.readOnly = true;
      },
    };
  }
}
