import type { GetPrismaClientConfig } from '@prisma/client/runtime/client';
import { PrismaClient } from '../../prisma/generated/tenant-client/client';
import { PLACEHOLDER_SCHEMA, planSharingPrismaClient, sharePlansAcrossSchemas, withSchema } from './shared-query-plans';

type Runtime = Awaited<ReturnType<NonNullable<GetPrismaClientConfig['compilerWasm']>['getRuntime']>>;
type Compiler = InstanceType<Runtime['QueryCompiler']>;

// The generated client's own config, read through the same hook the tenant clients use.
function generatedConfig(): GetPrismaClientConfig {
  let config: GetPrismaClientConfig | undefined;
  const options = { adapter: { provider: 'postgres', adapterName: 'none', connect: () => Promise.reject(new Error('unused')) }, __internal: { configOverride: (c: GetPrismaClientConfig) => (config = c) } };
  new PrismaClient(options as unknown as ConstructorParameters<typeof PrismaClient>[0]);
  return config!;
}

// Node's global; this project's TypeScript lib does not declare it.
const { WebAssembly } = globalThis as unknown as { WebAssembly: { Instance: new (module: unknown, imports: object) => { exports: Record<string, unknown> } } };

// Instantiates the compiler's WASM the way Prisma's loader does, for the given loading config.
async function loadCompiler(compilerWasm: NonNullable<GetPrismaClientConfig['compilerWasm']>): Promise<Runtime['QueryCompiler']> {
  const runtime = await compilerWasm.getRuntime();
  const instance = new WebAssembly.Instance(await compilerWasm.getQueryCompilerWasmModule(), { [compilerWasm.importName]: runtime });
  runtime.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return runtime.QueryCompiler;
}

const connectionInfo = (schemaName: string) => ({ schemaName, supportsRelationJoins: true });

const REQUESTS = [
  '{"modelName":"Project","action":"findMany","query":{"arguments":{"take":20,"orderBy":{"createdAt":"desc"},"where":{"name":{"contains":{"$type":"Param","value":{"name":"%1","type":"String"}}}}},"selection":{"$composites":true,"$scalars":true}}}',
  '{"modelName":"Project","action":"findMany","query":{"arguments":{"take":5},"selection":{"$scalars":true,"owner":{"selection":{"$scalars":true}}}}}',
  '{"modelName":"User","action":"findUnique","query":{"arguments":{"where":{"id":{"$type":"Param","value":{"name":"%1","type":"String"}}}},"selection":{"role":true,"status":true}}}',
  '{"modelName":"Task","action":"updateOne","query":{"arguments":{"where":{"id":{"$type":"Param","value":{"name":"%1","type":"String"}}},"data":{"status":"DONE"}},"selection":{"$scalars":true}}}',
  '{"modelName":"Project","action":"aggregate","query":{"arguments":{},"selection":{"_count":{"selection":{"_all":true}}}}}',
];

describe('query plans shared across tenant schemas', () => {
  const config = generatedConfig();
  const shared = sharePlansAcrossSchemas(config);
  let Plain: Runtime['QueryCompiler'];
  let Sharing: Runtime['QueryCompiler'];

  beforeAll(async () => {
    Plain = await loadCompiler(config.compilerWasm!);
    Sharing = await loadCompiler(shared.compilerWasm!);
  });

  const plainFor = (schema: string): Compiler => new Plain({ datamodel: config.inlineSchema, provider: 'postgres', connectionInfo: connectionInfo(schema) });
  const sharingFor = (schema: string): Compiler => new Sharing({ datamodel: shared.inlineSchema, provider: 'postgres', connectionInfo: connectionInfo(schema) });

  it('gives each tenant exactly the plan its own compiler would, however many tenants compiled the shape before', () => {
    for (const schema of ['tenant_acme', 'tenant_globex', 'tenant_a1']) {
      const sharing = sharingFor(schema);
      const plain = plainFor(schema);
      for (const request of REQUESTS) expect(sharing.compile(request)).toEqual(plain.compile(request));
      plain.free();
      sharing.free();
    }
  });

  it('names no other schema than the tenant’s own in its SQL', () => {
    const plan = JSON.stringify(sharingFor('tenant_globex').compile(REQUESTS[1]));
    expect(plan).toContain('\\"tenant_globex\\".\\"Project\\"');
    expect(plan).not.toContain(PLACEHOLDER_SCHEMA);
    expect(plan.match(/\\"(tenant[a-z_0-9]*)\\"\./g)?.every((ref) => ref.includes('tenant_globex'))).toBe(true);
  });

  it('compiles a request that mentions the placeholder schema with the tenant’s own compiler', () => {
    const request = REQUESTS[3].replace('"DONE"', `"${PLACEHOLDER_SCHEMA}"`);
    const sharing = sharingFor('tenant_acme');
    const plain = plainFor('tenant_acme');
    // An invalid enum value: both refuse it alike.
    expect(() => plain.compile(request)).toThrow();
    expect(() => sharing.compile(request)).toThrow();
  });

  it('hands out plans that share frozen parts, so one tenant’s use cannot alter another’s', () => {
    const a = sharingFor('tenant_acme').compile(REQUESTS[0]) as unknown as { type: string; args: { structure: object } };
    const b = sharingFor('tenant_globex').compile(REQUESTS[0]) as unknown as { type: string; args: { structure: object } };
    expect(a).not.toBe(b);
    expect(a.args.structure).toBe(b.args.structure);
    expect(Object.isFrozen(a.args.structure)).toBe(true);
  });

  it('leaves clients without the hook, or with a schema it cannot place, to a compiler of their own', () => {
    const unmarked = new Sharing({ datamodel: config.inlineSchema, provider: 'postgres', connectionInfo: connectionInfo('tenant_acme') });
    expect(unmarked.compile(REQUESTS[2])).toEqual(plainFor('tenant_acme').compile(REQUESTS[2]));
    const quoted = sharingFor('Odd"Schema');
    expect(quoted.compile(REQUESTS[2])).toEqual(plainFor('Odd"Schema').compile(REQUESTS[2]));
  });

  it('leaves the generated PrismaClient class as it was', () => {
    planSharingPrismaClient();
    expect(generatedConfig().inlineSchema).toBe(config.inlineSchema);
    expect(generatedConfig().compilerWasm).toBe(config.compilerWasm);
  });

  it('refuses to place a schema where the placeholder appears unquoted', () => {
    expect(withSchema({ sql: `SELECT 1 FROM "${PLACEHOLDER_SCHEMA}"."User"` }, '"tenant_acme"')).toEqual({ sql: 'SELECT 1 FROM "tenant_acme"."User"' });
    expect(withSchema({ sql: `SELECT '${PLACEHOLDER_SCHEMA}'` }, '"tenant_acme"')).toBeUndefined();
  });
});
