import { defineConfig } from 'prisma/config';

// Only `prisma generate` runs here: tenant migrations are applied by Tenantry's own runner.
export default defineConfig({
  schema: 'prisma/tenant/schema.prisma',
});
