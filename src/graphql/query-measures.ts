import {
  getNamedType,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  Kind,
  Lexer,
  SchemaMetaFieldDef,
  Source,
  TokenKind,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';

// Pure measurements of one operation, fragments expanded in place. A fragment spread that is part of a cycle
// measures 0 here (graphql-js reports the cycle itself), so these functions always terminate.

type Fragments = (name: string) => FragmentDefinitionNode | undefined;

/** Field nesting: `{ me { id } }` is 2. Fragments add no level; introspection fields count like any other. */
export function measureDepth(operation: OperationDefinitionNode, fragments: Fragments): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (set: SelectionSetNode): number => {
    let max = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) max = Math.max(max, 1 + (selection.selectionSet ? depthOf(selection.selectionSet) : 0));
      else if (selection.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, depthOf(selection.selectionSet));
      else max = Math.max(max, viaFragment(selection.name.value, memo, visiting, fragments, (f) => depthOf(f.selectionSet)));
    }
    return max;
  };
  return depthOf(operation.selectionSet);
}

/** Aliased fields the operation would run: a fragment's aliases count once per spread. */
export function countAliases(operation: OperationDefinitionNode, fragments: Fragments): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const aliasesIn = (set: SelectionSetNode): number => {
    let count = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) count += (selection.alias ? 1 : 0) + (selection.selectionSet ? aliasesIn(selection.selectionSet) : 0);
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += aliasesIn(selection.selectionSet);
      else count += viaFragment(selection.name.value, memo, visiting, fragments, (f) => aliasesIn(f.selectionSet));
    }
    return count;
  };
  return aliasesIn(operation.selectionSet);
}

/**
 * The cost model: every field costs 1, plus its selection's cost times its page size. The page size is 1,
 * except for a field with a `first` argument (a connection): its literal value, a variable's default, or
 * MAX_PAGE_SIZE for a variable without one (validation runs before variables are known), and DEFAULT_PAGE_SIZE
 * when `first` is absent or null. `projects(first: 100) { edges { node { id } } }` costs 1 + 100 × (1 + (1 + 1)) = 301.
 */
export function measureCost(schema: GraphQLSchema, operation: OperationDefinitionNode, fragments: Fragments): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const defaults = new Map<string, number | undefined>();
  for (const definition of operation.variableDefinitions ?? []) {
    const value = definition.defaultValue;
    defaults.set(definition.variable.name.value, value?.kind === Kind.INT ? Number(value.value) : undefined);
  }

  const pageSize = (field: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number => {
    if (!definition?.args.some((arg) => arg.name === 'first')) return 1;
    const value = field.arguments?.find((arg) => arg.name.value === 'first')?.value;
    if (!value || value.kind === Kind.NULL) return DEFAULT_PAGE_SIZE;
    if (value.kind === Kind.INT) return Math.max(0, Number(value.value));
    if (value.kind === Kind.VARIABLE) return defaults.get(value.name.value) ?? MAX_PAGE_SIZE;
    return MAX_PAGE_SIZE;
  };

  const costOf = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const definition = fieldDefinition(schema, parent, selection.name.value);
        const child = definition ? getNamedType(definition.type) : undefined;
        const inner = selection.selectionSet ? costOf(selection.selectionSet, isCompositeType(child) ? child : undefined) : 0;
        cost += 1 + pageSize(selection, definition) * inner;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        cost += costOf(selection.selectionSet, typeNamed(schema, selection.typeCondition?.name.value) ?? parent);
      } else {
        cost += viaFragment(selection.name.value, memo, visiting, fragments, (f) =>
          costOf(f.selectionSet, typeNamed(schema, f.typeCondition.name.value)),
        );
      }
    }
    return cost;
  };
  return costOf(operation.selectionSet, schema.getRootType(operation.operation) ?? undefined);
}

/** Lexical tokens in a document, as graphql-js counts them for `maxTokens` (no comments, no end of file). */
export function countTokens(body: string): number {
  const lexer = new Lexer(new Source(body));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) count++;
  } catch {
    // A lexical error ends the count; what was counted so far stands.
  }
  return count;
}

// A fragment's measure does not depend on where it is spread, so each is measured once.
function viaFragment(
  name: string,
  memo: Map<string, number>,
  visiting: Set<string>,
  fragments: Fragments,
  measure: (fragment: FragmentDefinitionNode) => number,
): number {
  const known = memo.get(name);
  if (known !== undefined) return known;
  const fragment = fragments(name);
  if (!fragment || visiting.has(name)) return 0;
  visiting.add(name);
  const value = measure(fragment);
  visiting.delete(name);
  memo.set(name, value);
  return value;
}

function typeNamed(schema: GraphQLSchema, name: string | undefined): GraphQLCompositeType | undefined {
  const type = name ? schema.getType(name) : undefined;
  return isCompositeType(type) ? type : undefined;
}

function fieldDefinition(schema: GraphQLSchema, parent: GraphQLCompositeType | undefined, name: string) {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType() && name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
  if (parent === schema.getQueryType() && name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  return parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
}
