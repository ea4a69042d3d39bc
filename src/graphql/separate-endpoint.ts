import { GraphQLSchema } from 'graphql';
import type { Type } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';

const SEPARATE_ENDPOINT = Symbol('tenantry:separateGraphqlEndpoint');

/** Marks a module whose resolvers are served on a GraphQL endpoint of their own, never on the tenant API. */
export function SeparateGraphqlEndpoint(): ClassDecorator {
  return (target) => Reflect.defineMetadata(SEPARATE_ENDPOINT, true, target);
}

/**
 * The modules the tenant API (`/graphql`) explores for resolvers, plugins and scalars: every module except the
 * marked ones and those importing them (Nest follows `include` through imports, so AppModule would pull them in).
 * New feature modules join the tenant API without being listed anywhere.
 */
export function tenantApiModules(container: ModulesContainer): Type[] {
  const modules = [...container.values()];
  const reaches = (module: (typeof modules)[number], seen: Set<unknown>): boolean => {
    if (seen.has(module)) return false;
    seen.add(module);
    return Reflect.getMetadata(SEPARATE_ENDPOINT, module.metatype) === true || [...module.imports].some((imported) => reaches(imported, seen));
  };
  return modules.filter((module) => !reaches(module, new Set())).map((module) => module.metatype as Type);
}

/**
 * The schema without the types no operation can reach. Nest's code-first builder shares its registry of
 * referenced types between endpoints, so each would otherwise list the other's types; graphql-js collects the
 * reachable ones itself when given no explicit `types`.
 */
export function reachableTypesOnly(schema: GraphQLSchema): GraphQLSchema {
  return new GraphQLSchema({ ...schema.toConfig(), types: [] });
}
