import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import { OperationTransaction } from './operation-transaction';
import { TenantContext } from './tenant-context';

/**
 * Gives every tenant GraphQL query one shared read-only transaction (see OperationTransaction), committed once the
 * response is ready. Mutations keep a transaction per statement: their services catch some failures and carry on,
 * and their interactive transactions take a connection of their own.
 */
@Plugin()
export class OperationTransactionPlugin implements ApolloServerPlugin {
  async requestDidStart(): Promise<GraphQLRequestListener<Record<string, unknown>>> {
    let transaction: OperationTransaction | undefined;
    return {
      async executionDidStart({ operation }) {
        const context = TenantContext.current();
        if (!context || operation.operation !== 'query') return;
        transaction = context.operationTransaction = new OperationTransaction();
      },
      async willSendResponse() {
        await transaction?.end();
      },
    };
  }
}
