// `prisma generate` never runs the schema engine, but the CLI insists on finding one; point it at node.
const { execFileSync } = require('node:child_process');

execFileSync(process.execPath, [require.resolve('prisma/build/index.js'), 'generate'], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
