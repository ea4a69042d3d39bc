import DataLoader from 'dataloader';
import { TenantContext, type RequestContext } from '../tenancy/tenant-context';

// One registry per request, keyed by the request's tenant context object: loaders (and what they cache) never
// outlive the request or cross tenants, without request-scoped providers.
const registries = new WeakMap<RequestContext, Map<string, DataLoader<unknown, unknown>>>();

/**
 * The request's loader named `name`, created on first use. `name` must include every argument the batch
 * function depends on (page size, cursor), since loaders with the same name share one cache.
 */
export function requestLoader<K, V>(name: string, batch: DataLoader.BatchLoadFn<K, V>, options?: DataLoader.Options<K, V>): DataLoader<K, V> {
  const context = TenantContext.require();
  let registry = registries.get(context);
  if (!registry) {
    registry = new Map();
    registries.set(context, registry);
  }
  let loader = registry.get(name) as DataLoader<K, V> | undefined;
  if (!loader) {
    loader = new DataLoader(batch, options);
    registry.set(name, loader as DataLoader<unknown, unknown>);
  }
  return loader;
}

/** Orders batch results like `keys`: `null` for a key nothing was found for. */
export function byKeys<K, V>(keys: readonly K[], rows: V[], keyOf: (row: V) => K): (V | null)[] {
  const found = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => found.get(key) ?? null);
}
