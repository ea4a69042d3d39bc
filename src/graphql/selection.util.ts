import type { FragmentDefinitionNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';

/**
 * Whether the field being resolved selects `path` below it (e.g. `['edges', 'node', 'owner']`), through aliases,
 * inline fragments and named fragments; directives are not evaluated, so `@skip`/`@include` count as selected.
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  return info.fieldNodes.some((node) => node.selectionSet !== undefined && within(node.selectionSet, path, info.fragments, new Set()));
}

function within(set: SelectionSetNode, path: readonly string[], fragments: Record<string, FragmentDefinitionNode>, seen: Set<string>): boolean {
  const [name, ...rest] = path;
  return set.selections.some((selection) => {
    if (selection.kind === 'Field') {
      if (selection.name.value !== name) return false;
      return rest.length === 0 || (selection.selectionSet !== undefined && within(selection.selectionSet, rest, fragments, seen));
    }
    if (selection.kind === 'InlineFragment') return within(selection.selectionSet, path, fragments, seen);
    const fragment = fragments[selection.name.value];
    if (!fragment || seen.has(fragment.name.value)) return false;
    return within(fragment.selectionSet, path, fragments, new Set(seen).add(fragment.name.value));
  });
}
