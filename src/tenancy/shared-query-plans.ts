import { getPrismaClient, type GetPrismaClientConfig } from '@prisma/client/runtime/client';
import { LRUCache } from 'lru-cache';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { quoteIdentifier } from './tenant-id.util';

// Prisma 7 compiles queries in WASM, per client: a client's first query builds a QueryCompiler (the Prisma schema
// parsed again, ~1.5 ms), and each query shape is compiled once per client (~1 ms each), so every tenant client that
// the LRU builds or rebuilds paid both again. A plan differs from one tenant to the next only in the schema that
// qualifies its tables, so one compiler bound to a placeholder schema compiles each shape once for the process, and
// each tenant client gets that plan with its own schema, quoted, in place of the placeholder. The SQL a tenant sends
// stays qualified with its schema alone, and its statements still run as its role (TenantScopedPool).

/** No tenant schema can have this name: tenant schemas are `tenant_<id>`, and the control plane's is `tenantry_control`. */
export const PLACEHOLDER_SCHEMA = 'tenantry_plan_schema';
const QUOTED_PLACEHOLDER = quoteIdentifier(PLACEHOLDER_SCHEMA);
// Schemas whose quoted form is the name in double quotes; anything else gets a compiler of its own.
const PLAIN_SCHEMA = /^[a-z_][a-z0-9_]*$/;
// Marks the datamodel of clients that share plans: Prisma loads one compiler class per provider for every client of
// the process, so a plain client may get this one, and must then compile as before.
const MARK = '\n// tenantry: plans shared across tenant schemas\n';

type CompilerWasm = NonNullable<GetPrismaClientConfig['compilerWasm']>;
type CompilerRuntime = Awaited<ReturnType<CompilerWasm['getRuntime']>>;
type CompilerConstructor = CompilerRuntime['QueryCompiler'];
type CompilerOptions = ConstructorParameters<CompilerConstructor>[0];
type Compiler = InstanceType<CompilerConstructor>;

interface SharedCompiler {
  compiler: Compiler;
  /** Plans with the placeholder schema, by kind and request. Frozen: every tenant's plan shares their unchanged parts. */
  plans: LRUCache<string, object>;
}

const PLAN_TEMPLATES = 2_000;
let sharingClass: typeof PrismaClient | undefined;

/**
 * The generated PrismaClient class, except that its clients share one query compiler and its plans with every other
 * client of this class in the process. A class of its own: Prisma keeps a `configOverride`'s result as the config of
 * every later client of the class it was given to, and plain clients (Prisma alone in the benchmark) stay plain.
 */
export function planSharingPrismaClient(): typeof PrismaClient {
  if (!sharingClass) {
    let generated: GetPrismaClientConfig | undefined;
    // Prisma's own hook hands over the generated config; returned unchanged, it changes nothing for that class.
    const capture = { adapter: { provider: 'postgres', adapterName: 'config-capture', connect: () => Promise.reject(new Error('never connects')) } };
    new PrismaClient({ ...capture, __internal: { configOverride: (config: GetPrismaClientConfig) => (generated = config) } } as unknown as ConstructorParameters<typeof PrismaClient>[0]);
    sharingClass = getPrismaClient(sharePlansAcrossSchemas(generated!)) as unknown as typeof PrismaClient;
  }
  return sharingClass;
}

/** `config` with a compiler that shares one compiler instance and its plans across every tenant schema. */
export function sharePlansAcrossSchemas(config: GetPrismaClientConfig): GetPrismaClientConfig {
  const original = config.compilerWasm;
  if (!original) throw new Error('The generated Prisma client has no WASM query compiler');
  return { ...config, inlineSchema: config.inlineSchema + MARK, compilerWasm: { ...original, getRuntime: async () => withSharingCompiler(await original.getRuntime()) } };
}

function withSharingCompiler(runtime: CompilerRuntime): CompilerRuntime {
  const Original = runtime.QueryCompiler;
  const shared = new Map<string, SharedCompiler>();

  // Prisma keeps the loaded class for every client of the provider, so an unmarked client gets a plain compiler.
  class SharingQueryCompiler {
    private readonly schema?: string;
    private readonly shared?: SharedCompiler;
    private own?: Compiler;

    constructor(private readonly options: CompilerOptions) {
      const schema = options.connectionInfo.schemaName;
      if (!options.datamodel.endsWith(MARK) || schema === undefined || !PLAIN_SCHEMA.test(schema)) {
        this.own = new Original(options);
        return;
      }
      this.schema = schema;
      const placeholderOptions = { ...options, connectionInfo: { ...options.connectionInfo, schemaName: PLACEHOLDER_SCHEMA } };
      const key = JSON.stringify({ ...placeholderOptions, datamodel: undefined }) + options.datamodel;
      let entry = shared.get(key);
      if (!entry) {
        entry = { compiler: new Original(placeholderOptions), plans: new LRUCache({ max: PLAN_TEMPLATES }) };
        shared.set(key, entry);
      }
      this.shared = entry;
    }

    compile(request: string): ReturnType<Compiler['compile']> {
      return this.plan('single', request, (compiler) => compiler.compile(request)) as ReturnType<Compiler['compile']>;
    }

    compileBatch(request: string): ReturnType<Compiler['compileBatch']> {
      return this.plan('batch', request, (compiler) => compiler.compileBatch(request)) as ReturnType<Compiler['compileBatch']>;
    }

    free(): void {
      this.own?.free();
      this.own = undefined;
    }

    private plan(kind: string, request: string, compile: (compiler: Compiler) => object): object {
      const { shared: entry, schema } = this;
      // A request naming the placeholder itself (a literal in the query) is compiled for this schema alone.
      if (!entry || !schema || request.includes(PLACEHOLDER_SCHEMA)) return compile(this.ownCompiler());
      const key = `${kind}:${request}`;
      let template = entry.plans.get(key);
      if (!template) {
        template = deepFreeze(compile(entry.compiler));
        entry.plans.set(key, template);
      }
      const plan = withSchema(template, quoteIdentifier(schema));
      return plan === undefined ? compile(this.ownCompiler()) : plan;
    }

    private ownCompiler(): Compiler {
      return (this.own ??= new Original(this.options));
    }
  }
  return { ...runtime, QueryCompiler: SharingQueryCompiler as unknown as CompilerConstructor };
}

/**
 * `template` with every quoted placeholder schema replaced by `quotedSchema`; parts without one are shared, not copied.
 * Undefined when the placeholder also appears unquoted, which a plain substitution cannot place safely.
 */
export function withSchema<T>(template: T, quotedSchema: string): T | undefined {
  let unsafe = false;
  const visit = (value: unknown): unknown => {
    if (typeof value === 'string') {
      if (!value.includes(PLACEHOLDER_SCHEMA)) return value;
      const replaced = value.replaceAll(QUOTED_PLACEHOLDER, quotedSchema);
      if (replaced.includes(PLACEHOLDER_SCHEMA)) unsafe = true;
      return replaced;
    }
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = visit(item);
        if (next !== item) (copy ??= [...value])[i] = next;
      });
      return copy ?? value;
    }
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      let copy: Record<string, unknown> | undefined;
      for (const [key, item] of Object.entries(value)) {
        const next = visit(item);
        if (next !== item) (copy ??= { ...value })[key] = next;
      }
      return copy ?? value;
    }
    return value;
  };
  const result = visit(template) as T;
  return unsafe ? undefined : result;
}

// Shared by every tenant's plan: a runtime that wrote into one would write into all of them, so it cannot.
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
