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
// upgrade that changes this code fails here, loudly, rather than silently losing the sharing.
const ORIGINAL = 'static deserialize(t,r){let n=Ba(t);return new e(n,r)}';
const SHARED = 'static deserialize(t,r){let c=e.tenantryDecoded??=new WeakMap,s=c.get(t);return s||(s=new e(Ba(t),r),c.set(t,s)),s}';
const runtime = require.resolve('@prisma/client/runtime/client');
const source = readFileSync(runtime, 'utf8');
if (!source.includes(SHARED)) {
  if (!source.includes(ORIGINAL)) {
    throw new Error(`${runtime}: Prisma's parameterization decoder is not the one scripts/prisma-generate.js patches; update the patch`);
  }
  writeFileSync(runtime, source.replace(ORIGINAL, SHARED));
}
