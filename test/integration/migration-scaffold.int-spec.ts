import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { AppError } from '../../src/graphql/app-error';
import { applyMigrationsInTransaction, LEDGER_TABLE, loadMigrations } from '../../src/tenancy/migration-runner';
import { MigrationScaffolder } from '../../src/tenancy/migration-scaffold.service';
import { quoteIdentifier } from '../../src/tenancy/tenant-id.util';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { actualObjects, expectedObjects, modelDrift, readDatamodel, type AllowedExtra } from '../support/model-drift';
import { assertCliBuilt, runTenantsCli } from '../support/tenants-cli';

const ROOT = join(__dirname, '..', '..');
const SCHEMA = readFileSync(join(ROOT, 'prisma', 'tenant', 'schema.prisma'), 'utf8');
const ALLOWED_EXTRAS: AllowedExtra[] = [
  { table: LEDGER_TABLE, reason: 'the migration ledger is ours, not a Prisma model' },
  { key: 'check User.User_email_lowercase', reason: 'Prisma cannot express CHECK constraints' },
];
// Far enough ahead to sort after every real migration.
const LATER = new Date('2999-01-01T00:00:00Z');

/** schema.prisma with a new table (relation, composite unique, sorted index), new columns, a new enum and value, and a dropped column. */
function grownSchema(): string {
  const grown = SCHEMA.replace(/enum Role \{\n\s*ADMIN\n\s*MEMBER\n/, 'enum Role {\n  ADMIN\n  MEMBER\n  OWNER\n')
    .replace(/(\n\s*email\s+String[^\n]*)/, '$1\n  nickname     String?    @db.VarChar(50)')
    .replace(/\n\s*description\s+String\?/, '\n  priority    Priority @default(LOW)\n  tags        Tag[]')
    .concat(`
enum Priority {
  LOW
  HIGH
}

model Tag {
  id        String   @id @default(uuid()) @db.Uuid
  name      String   @db.VarChar(40)
  uses      Int      @default(0)
  projectId String   @db.Uuid
  project   Project  @relation(fields: [projectId], references: [id], onDelete: Cascade)
  createdAt DateTime @default(now()) @db.Timestamptz(3)

  @@unique([projectId, name])
  @@index([createdAt(sort: Desc)])
}
`);
  for (const part of ['OWNER', 'nickname', 'priority', 'model Tag']) if (!grown.includes(part)) throw new Error(`schema edit missed ${part}`);
  const descriptions = (schema: string) => (schema.match(/\n\s*description\s+String\?/g) ?? []).length;
  if (descriptions(grown) !== descriptions(SCHEMA) - 1) throw new Error("schema edit kept Project's description");
  return grown;
}

describe('tenants migration new', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let pool: Pool;
  let work: string;
  let scratch = 0;

  beforeAll(async () => {
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    pool = new Pool({ connectionString: db.url, max: 2 });
    work = mkdtempSync(join(tmpdir(), 'tenantry-scaffold-'));
  });
  afterAll(async () => {
    await pool.end();
    await app.close();
    await db.drop();
    rmSync(work, { recursive: true, force: true });
  });

  /** A copy of the real migrations and `schema` as schema.prisma, in a directory of their own. */
  function project(schema: string): { migrationsDir: string; schemaFile: string } {
    const dir = mkdtempSync(join(work, 'project-'));
    const migrationsDir = join(dir, 'migrations');
    cpSync(join(ROOT, 'prisma', 'tenant', 'migrations'), migrationsDir, { recursive: true });
    const schemaFile = join(dir, 'schema.prisma');
    writeFileSync(schemaFile, schema);
    return { migrationsDir, schemaFile };
  }

  /** The model drift of a fresh schema built by every migration in `migrationsDir`, as provisioning builds it. */
  async function driftAfterMigrations(migrationsDir: string, schema: string): Promise<string[]> {
    const name = `scaffold_scratch_${++scratch}`;
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA ${quoteIdentifier(name)}`);
      await client.query('BEGIN');
      await applyMigrationsInTransaction(client, name, loadMigrations(migrationsDir));
      await client.query('COMMIT');
      return modelDrift(expectedObjects(readDatamodel(schema)), await actualObjects(client, name), ALLOWED_EXTRAS);
    } finally {
      client.release();
    }
  }

  it('generates SQL that, applied after the migrations, leaves no drift from the grown schema.prisma', async () => {
    const schema = grownSchema();
    const { migrationsDir, schemaFile } = project(schema);
    expect(await driftAfterMigrations(migrationsDir, schema)).not.toEqual([]);

    const report = await app.get(MigrationScaffolder).scaffold('tags_and_priorities', { schemaFile, migrationsDir, now: LATER });
    expect(report).toMatchObject({ name: '29990101000000_tags_and_priorities', todos: [] });
    expect(report.file).toBe(join(migrationsDir, '29990101000000_tags_and_priorities', 'migration.sql'));
    const sql = readFileSync(report.file, 'utf8');
    expect(sql).toContain(`ALTER TYPE "Role" ADD VALUE 'OWNER';`);
    expect(sql).toContain(`CREATE TYPE "Priority" AS ENUM ('LOW', 'HIGH');`);
    expect(sql).toContain('CREATE TABLE "Tag" (');
    expect(sql).toContain('ALTER TABLE "User" ADD COLUMN "nickname" character varying(50);');
    expect(sql).toContain('ALTER TABLE "Project" DROP COLUMN "description";');
    expect(report.statements).toBe(9);

    expect(await driftAfterMigrations(migrationsDir, schema)).toEqual([]);
  });

  it('writes a commented template when schema.prisma and the migrations agree', async () => {
    const { migrationsDir, schemaFile } = project(SCHEMA);
    const report = await app.get(MigrationScaffolder).scaffold('backfill_names', { schemaFile, migrationsDir, now: LATER });
    expect(report.statements).toBe(0);
    const lines = readFileSync(report.file, 'utf8').split('\n').filter((line) => line.trim().length > 0);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((line) => line.startsWith('--'))).toBe(true);
    expect(await driftAfterMigrations(migrationsDir, SCHEMA)).toEqual([]);
  });

  it('refuses a bad name, and a timestamp that would sort before an existing migration', async () => {
    const { migrationsDir, schemaFile } = project(SCHEMA);
    const scaffolder = app.get(MigrationScaffolder);
    await expect(scaffolder.scaffold('Add-Tags', { schemaFile, migrationsDir })).rejects.toBeInstanceOf(AppError);
    await expect(scaffolder.scaffold('old', { schemaFile, migrationsDir, now: new Date('2000-01-01T00:00:00Z') })).rejects.toThrow(/sort before/);
    expect(loadMigrations(migrationsDir).map((m) => m.name)).toEqual(loadMigrations(join(ROOT, 'prisma', 'tenant', 'migrations')).map((m) => m.name));

    assertCliBuilt();
    const cli = await runTenantsCli(db.url, ['migration', 'new', 'Add-Tags', '--migrations-dir', migrationsDir]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('A migration name matches');
    expect(existsSync(join(migrationsDir, 'Add-Tags'))).toBe(false);
  });
});
