import { GraphQLError, type ASTNode, type OperationDefinitionNode, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import { ErrorCode } from './app-error';
import { countAliases, countTokens, measureCost, measureDepth } from './query-measures';

/** How much one GraphQL document may ask for; see query-measures.ts for how each is measured. */
export const QUERY_LIMITS = { depth: 10, aliases: 30, cost: 5_000, tokens: 2_000 } as const;

export type QueryMeasure = keyof typeof QUERY_LIMITS;
type RuleMeasure = Exclude<QueryMeasure, 'tokens'>;

const MESSAGES: Record<QueryMeasure, (measured: number, limit: number) => string> = {
  depth: (measured, limit) => `Query depth ${measured} exceeds the limit of ${limit}`,
  aliases: (measured, limit) => `Query has ${measured} aliased fields; the limit is ${limit}`,
  cost: (measured, limit) => `Query cost ${measured} exceeds the limit of ${limit}`,
  tokens: (measured, limit) => `Query has ${measured} tokens; the limit is ${limit}`,
};

/** A document over one of the limits: rejected before anything runs, as QUERY_TOO_COMPLEX with the numbers. */
export class QueryTooComplexError extends GraphQLError {
  constructor(
    readonly measure: QueryMeasure,
    readonly limit: number,
    readonly measured: number,
    node?: ASTNode,
  ) {
    super(MESSAGES[measure](measured, limit), {
      nodes: node,
      extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, measure, limit, measured },
    });
  }
}

/** Validation rules for depth, aliases and cost; tokens are bounded by the parser (queryParseOptions). */
export function queryLimitRules(limits: Record<RuleMeasure, number> = QUERY_LIMITS): ValidationRule[] {
  const rule =
    (measure: RuleMeasure, measureOf: (context: ValidationContext, operation: OperationDefinitionNode) => number): ValidationRule =>
    (context) => ({
      OperationDefinition(operation) {
        const measured = measureOf(context, operation);
        if (measured > limits[measure]) context.reportError(new QueryTooComplexError(measure, limits[measure], measured, operation));
        // The measure walked the whole operation already; this rule needs nothing below it.
        return false;
      },
    });
  const fragments = (context: ValidationContext) => (name: string) => context.getFragment(name) ?? undefined;
  return [
    rule('depth', (context, operation) => measureDepth(operation, fragments(context))),
    rule('aliases', (context, operation) => countAliases(operation, fragments(context))),
    rule('cost', (context, operation) => measureCost(context.getSchema(), operation, fragments(context))),
  ];
}

/** graphql-js stops lexing past `maxTokens`, so an oversized document costs no more than the limit to refuse. */
export const queryParseOptions: ParseOptions = { maxTokens: QUERY_LIMITS.tokens };

// graphql-js 16 spells it "more that"; accept the corrected spelling too.
const TOKENS_EXCEEDED = /^Syntax Error: Document contains more th(?:at|an) (\d+) tokens/;

/**
 * The QUERY_TOO_COMPLEX error behind an error Apollo reports, if any: one of our rules' (which Apollo wraps as
 * GRAPHQL_VALIDATION_FAILED) or graphql-js's token limit (a GRAPHQL_PARSE_FAILED).
 */
export function queryTooComplexBehind(error: unknown): QueryTooComplexError | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  if (error instanceof QueryTooComplexError) return error;
  if (error.originalError instanceof QueryTooComplexError) return error.originalError;
  const tokens = TOKENS_EXCEEDED.exec(error.message);
  if (!tokens) return undefined;
  const limit = Number(tokens[1]);
  // Counted again in full only for the error report; the body limit bounds the work.
  const source = error.source?.body;
  return new QueryTooComplexError('tokens', limit, source ? Math.max(countTokens(source), limit + 1) : limit + 1);
}
