// Prisma's known request errors carry a `P…` code; repositories translate them so services never see them.
export function prismaCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

// A serialization failure: P2034 from a query, or the driver adapter's own error when COMMIT fails.
export function isWriteConflict(error: unknown): boolean {
  if (prismaCode(error) === 'P2034') return true;
  const adapterError = error as { name?: unknown; cause?: { kind?: unknown } } | null;
  return adapterError?.name === 'DriverAdapterError' && adapterError.cause?.kind === 'TransactionWriteConflict';
}

const MAX_SERIALIZATION_RETRIES = 5;

/** Runs `attempt` (a serializable transaction) again when PostgreSQL could not serialize it. */
export async function retryOnWriteConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isWriteConflict(error) || tries >= MAX_SERIALIZATION_RETRIES) throw error;
    }
  }
}
