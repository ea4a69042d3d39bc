import { IntrinsicException } from '@nestjs/common';

/** Every error code a client can see: one catalogue, each with the HTTP status used when it ends a request early. */
export enum ErrorCode {
  TENANT_NOT_FOUND = 'TENANT_NOT_FOUND',
  TENANT_SUSPENDED = 'TENANT_SUSPENDED',
  /** The tenant is being moved to another database (seconds); `extensions.retryable` and `retryAfterSeconds` say: retry. */
  TENANT_MOVING = 'TENANT_MOVING',
  TENANT_MISMATCH = 'TENANT_MISMATCH',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  /** The change would leave the tenant without an active ADMIN. */
  LAST_ADMIN = 'LAST_ADMIN',
  /** The tenant's plan allows no more of a resource; `extensions` carry `resource`, `limit` and `plan`. */
  PLAN_LIMIT_REACHED = 'PLAN_LIMIT_REACHED',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  BAD_REQUEST = 'BAD_REQUEST',
  GRAPHQL_PARSE_FAILED = 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  /** A statement ran past the tenant plan's statement timeout and was cancelled. */
  QUERY_TIMEOUT = 'QUERY_TIMEOUT',
  /** The tenant used up its plan's operations per minute; `extensions.retryAfterSeconds` says when to retry. */
  RATE_LIMITED = 'RATE_LIMITED',
  /** The tenant has more statements in flight than its connection cap serves in its plan's timeout; retry later. */
  TENANT_BUSY = 'TENANT_BUSY',
  /** The database is unreachable (restart, failover); retrying later may succeed. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.TENANT_NOT_FOUND:
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.TENANT_SUSPENDED:
    case ErrorCode.FORBIDDEN:
    case ErrorCode.PLAN_LIMIT_REACHED:
      return 403;
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.CONFLICT:
    case ErrorCode.LAST_ADMIN:
      return 409;
    case ErrorCode.PAYLOAD_TOO_LARGE:
      return 413;
    case ErrorCode.TENANT_MISMATCH:
    case ErrorCode.BAD_USER_INPUT:
    case ErrorCode.BAD_REQUEST:
    case ErrorCode.GRAPHQL_PARSE_FAILED:
    case ErrorCode.GRAPHQL_VALIDATION_FAILED:
    case ErrorCode.QUERY_TOO_COMPLEX:
      return 400;
    case ErrorCode.QUERY_TIMEOUT:
      return 503;
    case ErrorCode.RATE_LIMITED:
    case ErrorCode.TENANT_BUSY:
      return 429;
    case ErrorCode.INTERNAL_SERVER_ERROR:
      return 500;
    case ErrorCode.SERVICE_UNAVAILABLE:
    case ErrorCode.TENANT_MOVING:
      return 503;
  }
}

/**
 * An error meant for the client: its message and code reach the response as they are.
 * Intrinsic, so Nest does not log it as an unhandled exception.
 */
export class AppError extends IntrinsicException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** `fields` maps an argument's field (`name`, `after`) to what is wrong with it. */
export function badUserInput(message: string, fields: Record<string, string>): AppError {
  return new AppError(ErrorCode.BAD_USER_INPUT, message, { fields: fieldErrors(fields) });
}

/** One entry per invalid field, as clients receive it in `extensions.fields`. */
export interface FieldError {
  path: string;
  message: string;
}

function fieldErrors(fields: Record<string, string>): FieldError[] {
  return Object.entries(fields).map(([path, message]) => ({ path, message }));
}

export function graphqlErrorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
  return { errors: [{ message, extensions: { code, ...details } }] };
}
