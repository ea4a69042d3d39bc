import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { loadConfig } from '../../src/config/config';
import { applyMigrationsInTransaction, LEDGER_TABLE, loadMigrations } from '../../src/tenancy/migration-runner';
import { quoteIdentifier, tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { newDatabase, type TestDatabase } from '../factories/database';
import { actualObjects, expectedObjects, modelDrift, readDatamodel, type AllowedExtra, type DbObject } from '../support/model-drift';

// What the migrations may create beyond schema.prisma. Each entry must still exist, or the drift reports it.
const ALLOWED_EXTRAS: AllowedExtra[] = [
  { table: LEDGER_TABLE, reason: 'the migration ledger is ours, not a Prisma model' },
  { key: 'check User.User_email_lowercase', reason: 'Prisma cannot express CHECK constraints' },
];

const paths = loadConfig({ NODE_ENV: 'test' }).paths;
const prismaSchema = readFileSync(join(paths.root, 'prisma', 'tenant', 'schema.prisma'), 'utf8');

describe('tenant migrations against prisma/tenant/schema.prisma', () => {
  let db: TestDatabase;
  let pool: Pool;
  let expected: DbObject[];
  let scratch = 0;

  beforeAll(async () => {
    db = await newDatabase();
    pool = new Pool({ connectionString: db.url, max: 2 });
    expected = expectedObjects(readDatamodel(prismaSchema));
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  /** A fresh schema migrated by the real runner, exactly as provisioning does it; `alter` then runs inside it. */
  async function migratedSchema(schema = `drift_scratch_${++scratch}`, alter?: string): Promise<string> {
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
      await client.query('BEGIN');
      await applyMigrationsInTransaction(client, schema, loadMigrations(paths.tenantMigrations));
      await client.query('COMMIT');
      if (alter) {
        await client.query('BEGIN');
        await client.query(`SET LOCAL search_path TO ${quoteIdentifier(schema)}`);
        await client.query(alter);
        await client.query('COMMIT');
      }
      return schema;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function actual(schema: string): Promise<DbObject[]> {
    const client = await pool.connect();
    try {
      return await actualObjects(client, schema);
    } finally {
      client.release();
    }
  }

  it('creates exactly the tables, columns, defaults, keys, indexes, foreign keys and enums the model describes', async () => {
    const schema = await migratedSchema(tenantSchemaName('drift-check'));
    expect(modelDrift(expected, await actual(schema), ALLOWED_EXTRAS)).toEqual([]);
  });

  it('reads the model the way Prisma would migrate it', () => {
    // Spot checks that the model side is not vacuous: every kind of object shows up with its details.
    expect(expected).toEqual(
      expect.arrayContaining([
        { key: 'table Project', description: '' },
        { key: 'column User.id', description: 'uuid NOT NULL' },
        { key: 'column User.email', description: 'character varying(254) NOT NULL' },
        { key: 'column User.role', description: `enum Role NOT NULL DEFAULT 'MEMBER'::"Role"` },
        { key: 'column User.createdAt', description: 'timestamp(3) with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP' },
        { key: 'column User.updatedAt', description: 'timestamp(3) with time zone NOT NULL' },
        { key: 'column Project.description', description: 'text NULL' },
        { key: 'primary key Project', description: 'Project_pkey (id)' },
        { key: 'index User.User_email_key', description: 'UNIQUE btree (email)' },
        { key: 'index Project.Project_createdAt_id_idx', description: 'btree (createdAt DESC, id DESC)' },
        { key: 'foreign key Project.Project_ownerId_fkey', description: '(ownerId) REFERENCES User (id) ON DELETE RESTRICT ON UPDATE CASCADE' },
        { key: 'enum Role', description: '(ADMIN, MEMBER)' },
      ]),
    );
  });

  it('reports a field the model has and the migrations lack', async () => {
    const grown = prismaSchema.replace(/(\n\s*description\s+String\?)/, '$1\n  archived Boolean @default(false)');
    expect(grown).not.toBe(prismaSchema);
    const schema = await migratedSchema();
    expect(modelDrift(expectedObjects(readDatamodel(grown)), await actual(schema), ALLOWED_EXTRAS)).toEqual([
      '- column Project.archived: boolean NOT NULL DEFAULT false',
    ]);
  });

  // Each change runs in its own scratch schema after the real migrations: the comparator must see all of them.
  it.each<[string, string, string[]]>([
    ['an extra column', 'ALTER TABLE "Project" ADD COLUMN extra int', ['+ column Project.extra: integer NULL']],
    [
      'a column of another type',
      'ALTER TABLE "Project" ALTER COLUMN name TYPE text',
      ['- column Project.name: character varying(200) NOT NULL', '+ column Project.name: text NOT NULL'],
    ],
    [
      'a nullable column made NOT NULL',
      'ALTER TABLE "Project" ALTER COLUMN description SET NOT NULL',
      ['- column Project.description: text NULL', '+ column Project.description: text NOT NULL'],
    ],
    [
      'a dropped default',
      'ALTER TABLE "User" ALTER COLUMN role DROP DEFAULT',
      [`- column User.role: enum Role NOT NULL DEFAULT 'MEMBER'::"Role"`, '+ column User.role: enum Role NOT NULL'],
    ],
    [
      'a default the model lacks',
      `ALTER TABLE "User" ALTER COLUMN "updatedAt" SET DEFAULT now()`,
      ['- column User.updatedAt: timestamp(3) with time zone NOT NULL', '+ column User.updatedAt: timestamp(3) with time zone NOT NULL DEFAULT now()'],
    ],
    ['a missing index', 'DROP INDEX "Project_ownerId_idx"', ['- index Project.Project_ownerId_idx: btree (ownerId)']],
    [
      'an index in the wrong sort order',
      'DROP INDEX "Project_createdAt_id_idx"; CREATE INDEX "Project_createdAt_id_idx" ON "Project" ("createdAt", id DESC)',
      ['- index Project.Project_createdAt_id_idx: btree (createdAt DESC, id DESC)', '+ index Project.Project_createdAt_id_idx: btree (createdAt, id DESC)'],
    ],
    [
      'an index in the wrong column order',
      'DROP INDEX "Project_createdAt_id_idx"; CREATE INDEX "Project_createdAt_id_idx" ON "Project" (id DESC, "createdAt" DESC)',
      ['- index Project.Project_createdAt_id_idx: btree (createdAt DESC, id DESC)', '+ index Project.Project_createdAt_id_idx: btree (id DESC, createdAt DESC)'],
    ],
    [
      'a unique index that is not unique',
      'DROP INDEX "User_email_key"; CREATE INDEX "User_email_key" ON "User" (email)',
      ['- index User.User_email_key: UNIQUE btree (email)', '+ index User.User_email_key: btree (email)'],
    ],
    ['an extra unique index', 'CREATE UNIQUE INDEX "Project_description_key" ON "Project" (description)', ['+ index Project.Project_description_key: UNIQUE btree (description)']],
    [
      'a foreign key with another ON DELETE rule',
      `ALTER TABLE "Project" DROP CONSTRAINT "Project_ownerId_fkey";
       ALTER TABLE "Project" ADD CONSTRAINT "Project_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "User"(id) ON DELETE CASCADE ON UPDATE CASCADE`,
      [
        '- foreign key Project.Project_ownerId_fkey: (ownerId) REFERENCES User (id) ON DELETE RESTRICT ON UPDATE CASCADE',
        '+ foreign key Project.Project_ownerId_fkey: (ownerId) REFERENCES User (id) ON DELETE CASCADE ON UPDATE CASCADE',
      ],
    ],
    [
      'a primary key under another name',
      'ALTER TABLE "Project" RENAME CONSTRAINT "Project_pkey" TO project_pk',
      ['- primary key Project: Project_pkey (id)', '+ primary key Project: project_pk (id)'],
    ],
    [
      'an extra enum value',
      `ALTER TYPE "Role" ADD VALUE 'GUEST'`,
      ['- enum Role: (ADMIN, MEMBER)', '+ enum Role: (ADMIN, MEMBER, GUEST)'],
    ],
    [
      'a CHECK constraint nobody allowed',
      `ALTER TABLE "Project" ADD CONSTRAINT "Project_name_trimmed" CHECK (name = btrim(name))`,
      ['+ check Project.Project_name_trimmed: CHECK (((name)::text = btrim((name)::text)))'],
    ],
    [
      'an allowed CHECK constraint that is gone',
      'ALTER TABLE "User" DROP CONSTRAINT "User_email_lowercase"',
      ['? check User.User_email_lowercase is allowed (Prisma cannot express CHECK constraints) but absent'],
    ],
    [
      'an extra table, view, function and trigger',
      `CREATE TABLE "Audit" (id int PRIMARY KEY);
       CREATE VIEW recent AS SELECT id FROM "Project";
       CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
       CREATE TRIGGER project_touch BEFORE UPDATE ON "Project" FOR EACH ROW EXECUTE FUNCTION touch()`,
      [
        '+ column Audit.id: integer NOT NULL',
        '+ function touch()',
        '+ primary key Audit: Audit_pkey (id)',
        '+ table Audit',
        '+ trigger Project.project_touch',
        '+ view recent',
      ],
    ],
  ])('reports %s', async (_change, sql, drift) => {
    const schema = await migratedSchema(undefined, sql);
    expect(modelDrift(expected, await actual(schema), ALLOWED_EXTRAS)).toEqual(drift);
  });
});
