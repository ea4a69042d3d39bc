import { HttpException, Logger } from '@nestjs/common';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { TenantContext } from '../tenancy/tenant-context';
import { AppError, ErrorCode } from './app-error';
import { isDatabaseUnavailable } from './database-unavailable';
import { queryTooComplexBehind } from './query-limits';

// Codes Apollo itself assigns to requests it rejects; they are safe to pass through.
const APOLLO_CODES = new Set<string>([
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.GRAPHQL_VALIDATION_FAILED,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.BAD_REQUEST,
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const logger = new Logger('GraphQL');

/**
 * The one place errors become client-visible: typed codes, never stack traces or internals.
 * `hideSuggestions` (production) drops "Did you mean …?" hints, including those graphql-js adds to variable
 * errors, which Apollo's hideSchemaDetailsFromClientErrors does not reach.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown, hideSuggestions = false): GraphQLFormattedError {
  const unwrapped = unwrapResolverError(error);
  // Plugins (rate limits) reject with a GraphQLError wrapping the AppError; it has no path to unwrap by.
  const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof AppError ? unwrapped.originalError : unwrapped;
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
  // Apollo reports our limit rules as GRAPHQL_VALIDATION_FAILED and the token limit as GRAPHQL_PARSE_FAILED.
  const tooComplex = queryTooComplexBehind(original);
  if (tooComplex) {
    return { ...base, message: tooComplex.message, extensions: { ...tooComplex.extensions } };
  }
  if (original instanceof AppError) {
    return { ...base, message: original.message, extensions: { code: original.code, ...original.details } };
  }
  if (original instanceof HttpException) {
    return { ...base, message: original.message, extensions: { code: codeForStatus(original.getStatus()) } };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && APOLLO_CODES.has(code)) {
    return { ...base, message: hideSuggestions ? base.message.replace(/ ?Did you mean .+?\?$/, '') : base.message, extensions: { code } };
  }
  const context = TenantContext.current();
  if (isDatabaseUnavailable(original)) {
    logger.warn(`Database unavailable: ${(original as Error)?.message?.split('\n').filter(Boolean).at(-1) ?? String(original)}`);
    return { ...base, message: 'The database is unavailable; retry later', extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } };
  }
  logger.error(
    `Unexpected error (tenant ${context?.tenant.id ?? '-'}, request ${context?.requestId ?? '-'}): ${(original as Error)?.stack ?? String(original)}`,
  );
  return { ...base, message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return ErrorCode.BAD_USER_INPUT;
    case 401:
      return ErrorCode.UNAUTHENTICATED;
    case 403:
      return ErrorCode.FORBIDDEN;
    case 404:
      return ErrorCode.NOT_FOUND;
    case 409:
      return ErrorCode.CONFLICT;
    case 413:
      return ErrorCode.PAYLOAD_TOO_LARGE;
    default:
      return ErrorCode.INTERNAL_SERVER_ERROR;
  }
}
