// SQLSTATE class 08 (connection exception), 57P01-03 (shutdown, crash, cannot connect now), 53300 (too many connections).
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[1-3]|53300)$/;
const NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// Prisma: can't reach the server, timed out, server closed the connection.
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017']);
// pg's own connection failures carry no code; Prisma reports a driver's SQLSTATE only in its message.
const MESSAGES =
  /Connection terminated|Connection ended unexpectedly|timeout exceeded when trying to connect|Client has encountered a connection error|Code: `(08[0-9A-Z]{3}|57P0[1-3]|53300)`/;

/**
 * True when `error` (or what it wraps) says the database cannot be reached right now — a restart, a failover,
 * a network cut — as opposed to a bug or bad input. Such errors become SERVICE_UNAVAILABLE, not 500s.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, message, cause, meta, originalError } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: unknown };
    originalError?: unknown;
  };
  if (typeof code === 'string' && (SQLSTATE.test(code) || NODE_CODES.has(code) || PRISMA_CODES.has(code))) return true;
  if (typeof message === 'string' && MESSAGES.test(message)) return true;
  return [cause, meta?.driverAdapterError, originalError].some((inner) => isDatabaseUnavailable(inner, depth + 1));
}
