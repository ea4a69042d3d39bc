// `prisma generate` never runs the schema engine, but the CLI insists on finding one; point it at node.
const { execFileSync } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');

execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});

// Every PrismaClient decodes the generated client's parameterization graph anew (~460 KB of objects, ~0.7 ms of CPU
// and its GC), which makes a tenant client cost as much as everything else in a cold tenant's request. The decoded
// graph is only ever read, so the runtime is patched to decode it once per generated client and share it. An
// upgrade that changes patched code fails here, loudly, rather than silently losing a patch.
const runtime = require.resolve('@prisma/client/runtime/client');
const PATCHES = [
  {
    what: "Prisma's parameterization decoder",
    original: 'static deserialize(t,r){let n=Ba(t);return new e(n,r)}',
    patched: 'static deserialize(t,r){let c=e.tenantryDecoded??=new WeakMap,s=c.get(t);return s||(s=new e(Ba(t),r),c.set(t,s)),s}',
  },
  // A client with any extension walks every result row and relation to apply computed fields (~60 µs for a page of
  // 20 projects with owners), even when no extension has any: Tenantry's only extension is a query hook. The walk
  // is skipped when no extension in the chain declares `result`, which leaves every row as the walk would.
  {
    what: "Prisma's result-extension walk",
    original: 'function ks({result:e,modelName:t,args:r,extensions:n,runtimeDataModel:i,globalOmit:o}){return n.isEmpty()||',
    patched:
      'function tenantryHasResultFields(n){for(let x=n.head;x;x=x.previous)if(x.extension.result)return!0;return!1}' +
      'function ks({result:e,modelName:t,args:r,extensions:n,runtimeDataModel:i,globalOmit:o}){return n.isEmpty()||!tenantryHasResultFields(n)||',
  },
];
let source = readFileSync(runtime, 'utf8');
for (const { what, original, patched } of PATCHES) {
  if (source.includes(patched)) continue;
  if (!source.includes(original)) throw new Error(`${runtime}: ${what} is not the one scripts/prisma-generate.js patches; update the patch`);
  source = source.replace(original, patched);
}
writeFileSync(runtime, source);
