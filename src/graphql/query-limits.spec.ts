import { buildSchema, GraphQLError, parse, specifiedRules, validate, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import { ErrorCode } from './app-error';
import { QUERY_LIMITS, queryLimitRules, queryParseOptions, QueryTooComplexError, queryTooComplexBehind } from './query-limits';
import { countAliases, countTokens, measureCost, measureDepth } from './query-measures';

// The shape of the real schema: a connection with `first`, nested objects, no cycles.
const schema = buildSchema(`
  type User { id: ID! email: String! }
  type Project { id: ID! name: String! owner: User! }
  type ProjectEdge { cursor: String! node: Project! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type ProjectConnection { edges: [ProjectEdge!]! pageInfo: PageInfo! totalCount: Int! }
  type Query { me: User! project(id: ID!): Project projects(first: Int, after: String): ProjectConnection! }
  type Mutation { deleteProject(id: ID!): Boolean! }
`);

function measured(query: string) {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  const fragments = (name: string) =>
    document.definitions.find((d): d is FragmentDefinitionNode => d.kind === 'FragmentDefinition' && d.name.value === name);
  return {
    depth: measureDepth(operation, fragments),
    aliases: countAliases(operation, fragments),
    cost: measureCost(schema, operation, fragments),
  };
}

function violations(query: string, limits = { depth: 3, aliases: 2, cost: 50 }) {
  return validate(schema, parse(query), [...specifiedRules, ...queryLimitRules(limits)]).map((e) => e.extensions);
}

describe('query measures', () => {
  it.each([
    ['{ me { id } }', 2],
    ['{ __typename }', 1],
    ['{ projects { edges { node { owner { id } } } } }', 5],
    ['{ ...Q } fragment Q on Query { projects { edges { node { id } } } }', 4],
    ['{ me { ... on User { id } } }', 2],
    ['{ __type(name: "Project") { fields { type { ofType { name } } } } }', 5],
  ])('measures the depth of %s as %d (fragments add no level; introspection counts)', (query, depth) => {
    expect(measured(query).depth).toBe(depth);
  });

  it('counts aliases across the operation, once per fragment spread', () => {
    expect(measured('{ a: me { id } b: me { i: id } me { id } }').aliases).toBe(3);
    expect(measured('{ project(id: "1") { ...P } p: project(id: "2") { ...P } } fragment P on Project { x: id y: name }').aliases).toBe(5);
  });

  it.each([
    ['{ me { id email } }', 3],
    ['{ projects(first: 100) { edges { node { id } } } }', 1 + 100 * 3],
    ['{ projects { totalCount } }', 1 + 20 * 1],
    ['{ projects(first: null) { totalCount } }', 1 + 20 * 1],
    ['{ projects(first: 0) { totalCount } }', 1],
    ['query ($n: Int) { projects(first: $n) { totalCount } }', 1 + 100 * 1],
    ['query ($n: Int = 5) { projects(first: $n) { totalCount } }', 1 + 5 * 1],
    ['{ projects(first: 10) { totalCount pageInfo { hasNextPage } } }', 1 + 10 * (1 + 2)],
    ['{ projects(first: 10) { ...C } } fragment C on ProjectConnection { totalCount }', 1 + 10 * 1],
    ['{ __typename }', 1],
  ])('costs %s at %d', (query, cost) => {
    expect(measured(query).cost).toBe(cost);
  });

  it('terminates on fragment cycles (graphql-js reports the cycle itself)', () => {
    const query = '{ me { ...A } } fragment A on User { id ...B } fragment B on User { email ...A }';
    expect(measured(query)).toEqual({ depth: 2, aliases: 0, cost: 3 });
    const errors = validate(schema, parse(query), [...specifiedRules, ...queryLimitRules()]);
    expect(errors.map((e) => e.message).join()).toMatch(/Cannot spread fragment/);
  });

  it('measures exponential fragment fan-out without expanding it', () => {
    const levels = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { a${i}: me { id } ...F${i + 1} ...F${i + 1} }`);
    const query = `{ ...F0 } ${levels.join(' ')} fragment F30 on Query { __typename }`;
    const started = Date.now();
    expect(measured(query).aliases).toBe(2 ** 30 - 1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('counts tokens as the graphql-js parser does', () => {
    expect(countTokens('{ me { id } }')).toBe(6);
    expect(countTokens('# a comment\n{ me(a: "x y") { id } }')).toBe(11);
    expect(countTokens('{ me { id } } "unterminated')).toBe(6);
  });
});

describe('query limit rules', () => {
  it('accepts an operation exactly at every limit', () => {
    expect(violations('{ a: me { id } b: me { id } }', { depth: 2, aliases: 2, cost: 4 })).toEqual([]);
  });

  it.each([
    ['depth', '{ projects(first: 1) { edges { node { owner { id } } } } }', 3, 5],
    ['aliases', '{ a: me { id } b: me { id } c: me { id } }', 2, 3],
    ['cost', '{ projects(first: 7) { totalCount edges { cursor } } }', 50, 1 + 7 * 3],
  ])('reports %s one past its limit as QUERY_TOO_COMPLEX with the limit and the measured value', (measure, query, limit, value) => {
    const limits = { depth: 100, aliases: 100, cost: 10_000, [measure]: measure === 'cost' ? value - 1 : limit };
    const extensions = violations(query, limits);
    expect(extensions).toEqual([{ code: ErrorCode.QUERY_TOO_COMPLEX, measure, limit: limits[measure as 'depth'], measured: value }]);
  });

  it('checks each operation of a document', () => {
    const errors = violations('query A { a: me { id } b: me { id } c: me { id } } query B { me { id } }');
    expect(errors).toEqual([expect.objectContaining({ measure: 'aliases', measured: 3 })]);
  });

  it('uses the issue values by default', () => {
    expect(QUERY_LIMITS).toEqual({ depth: 10, aliases: 30, cost: 5000, tokens: 2000 });
    expect(queryParseOptions).toEqual({ maxTokens: 2000 });
  });
});

describe('queryTooComplexBehind', () => {
  it('finds our error behind the validation error Apollo wraps it in', () => {
    const ours = new QueryTooComplexError('depth', 10, 11);
    const wrapped = new GraphQLError(ours.message, { originalError: ours, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(queryTooComplexBehind(wrapped)).toBe(ours);
    expect(ours.message).toBe('Query depth 11 exceeds the limit of 10');
  });

  it("turns graphql-js's token limit into QUERY_TOO_COMPLEX counting every token of the document", () => {
    const query = `{ me { id ${'__typename '.repeat(2000)}} }`;
    let syntaxError: unknown;
    try {
      parse(query, queryParseOptions);
    } catch (error) {
      syntaxError = error;
    }
    const tooComplex = queryTooComplexBehind(syntaxError);
    expect(tooComplex?.extensions).toEqual({ code: ErrorCode.QUERY_TOO_COMPLEX, measure: 'tokens', limit: 2000, measured: 2006 });
    expect(tooComplex?.message).toBe('Query has 2006 tokens; the limit is 2000');
  });

  it('leaves other errors alone', () => {
    expect(queryTooComplexBehind(new GraphQLError('Syntax Error: Expected Name, found <EOF>.'))).toBeUndefined();
    expect(queryTooComplexBehind(new Error('Document contains more than 5 tokens'))).toBeUndefined();
  });

  it('parses a document of exactly the token limit', () => {
    expect(() => parse(`{ me { id ${'__typename '.repeat(1994)}} }`, queryParseOptions)).not.toThrow();
  });
});
