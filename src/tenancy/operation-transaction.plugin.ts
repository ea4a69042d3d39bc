import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { Plugin } from '@nestjs/apollo';
import type { Request } from 'express';
import { OperationTransaction } from './operation-transaction';
import { TenantContext } from './tenant-context';

/**
 * Gives every tenant GraphQL query one shared read-only transaction (see OperationTransaction), committed once the
 * response is ready. Mutations keep a transaction per statement: their services catch some failures and carry on,
 * and their interactive transactions take a connection of their own.
 */
@Plugin()
export class OperationTransactionPlugin implements ApolloServerPlugin<{ req?: Request }> {
  async requestDidStart(): Promise<GraphQLRequestListener<{ req?: Request }>> {
    let transaction: OperationTransaction | undefined;
    return {
      async executionDidStart({ operation, contextValue }) {
        const context = TenantContext.current();
        if (!context || operation.operation !== 'query') return;
        const shared = (transaction = context.operationTransaction = new OperationTransaction());
        // Should the response end without the hook below (an aborted request), the transaction ends with it.
        contextValue.req?.res?.once('close', () => void shared.end());
      },
      async willSendResponse() {
        await transaction?.end();
      },
    };
  }
}
