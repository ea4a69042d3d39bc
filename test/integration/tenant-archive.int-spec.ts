import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { AppModule } from '../../src/app.module';
import { loadConfig } from '../../src/config/config';
import { TenantRoles } from '../../src/tenancy/tenant-roles.service';
import { TenantRegistryRepository } from '../../src/control-plane/tenant-registry.repository';
import { FleetMigrator } from '../../src/tenancy/fleet-migrator.service';
import { loadMigrations } from '../../src/tenancy/migration-runner';
import { SchemaDriftService } from '../../src/tenancy/schema-drift.service';
import { TenantArchiveError, TenantArchiveErrorCode } from '../../src/tenancy/tenant-archive.errors';
import { TenantExporter } from '../../src/tenancy/tenant-export.service';
import { TenantImporter, type ImportReport } from '../../src/tenancy/tenant-import.service';
import { tenantSchemaName } from '../../src/tenancy/tenant-id.util';
import { TenantProvisioner } from '../../src/tenancy/tenant-provisioner.service';
import { TEST_JWT_SECRET } from '../factories/app';
import { newDatabase, type TestDatabase } from '../factories/database';
import { randomTenantId, TEST_PASSWORD } from '../factories/tenants';
import { assertCliBuilt, jsonReport, runTenantsCli } from '../support/tenants-cli';

const BASE_MIGRATIONS = join(__dirname, '..', '..', 'prisma', 'tenant', 'migrations');
const BASE = loadMigrations(BASE_MIGRATIONS).map((m) => m.name);
// A table with every kind of value the export must carry, a foreign key into Project (so it must load after it,
// though it sorts before it), identity, serial, generated columns and a free-standing sequence.
const TYPES = '29991231000000_archive_test_types';
const TYPES_SQL = `CREATE TYPE "Mood" AS ENUM ('calm', 'ünïcødé 😀');
CREATE TABLE "ArchiveSample" (
  "id" BIGSERIAL PRIMARY KEY,
  "projectId" UUID REFERENCES "Project"("id"),
  "label" TEXT,
  "at" TIMESTAMPTZ(6),
  "local" TIMESTAMP(6),
  "day" DATE,
  "span" INTERVAL,
  "doc" JSONB,
  "raw" JSON,
  "bytes" BYTEA,
  "mood" "Mood",
  "tags" TEXT[],
  "ratio" DOUBLE PRECISION,
  "amount" NUMERIC(20, 6),
  "flag" BOOLEAN,
  "ordinal" INTEGER GENERATED ALWAYS AS IDENTITY,
  "twice" BIGINT GENERATED ALWAYS AS ("id" * 2) STORED
);
CREATE SEQUENCE "ArchiveCounter" START 100;
`;
// Applied on import to an export taken before it: expand, backfill, constrain.
const FORWARD = '29991231000001_archive_test_slug';
const FORWARD_SQL = `ALTER TABLE "Project" ADD COLUMN "slug" TEXT;
UPDATE "Project" SET "slug" = lower("name");
ALTER TABLE "Project" ALTER COLUMN "slug" SET NOT NULL;
`;

const SAMPLE_ROWS = `
INSERT INTO "User" (id, email, name, "passwordHash", role, status, "createdAt", "updatedAt") VALUES
  (gen_random_uuid(), 'zoe@example.test', 'Zoë 😀 e' || chr(769) || ' 𝔘𝔫𝔦', 'x', 'MEMBER', 'DEACTIVATED', '2026-01-02 03:04:05.678+00', '2026-01-02 03:04:05.679+00');
INSERT INTO "Project" (id, name, description, "ownerId", "createdAt", "updatedAt")
  SELECT gen_random_uuid(), 'P' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE E'line\\nbreak \\t tab "quote" \\\\ back ' || repeat('ü', g % 7) || ' 👩‍💻' END,
         (SELECT id FROM "User" ORDER BY email LIMIT 1), timestamptz '2026-11-25 00:00:00.123+00' + g * interval '1.001 second', now()
    FROM generate_series(1, 2500) g;
`;
const TYPED_ROWS = `
INSERT INTO "ArchiveSample" ("projectId") VALUES (NULL);
INSERT INTO "ArchiveSample" ("projectId", label, at, local, day, span, doc, raw, bytes, mood, tags, ratio, amount, flag)
  SELECT (SELECT id FROM "Project" ORDER BY name LIMIT 1), 'é' || chr(769) || ' ☃ 😀', '2026-11-25 07:10:00.123456+05:30', '1999-12-31 23:59:59.999999',
         '0044-03-15 BC', '1 year 2 mons 3 days 04:05:06.789', '{"a": [1, "ü", null], "b": {"c": "😀"}}',
         '{"keep":  "spacing", "dup": 1, "dup": 2}', '\\x00ff10', 'ünïcødé 😀', ARRAY['a', NULL, 'b,c', '"q"', ''],
         0.1::float8 + 0.2::float8, 12345678901234.123456, true;
INSERT INTO "ArchiveSample" (at, local, day, ratio, flag, tags) VALUES ('infinity', '-infinity', 'infinity', 'NaN', false, '{}');
SELECT nextval('"ArchiveCounter"'), nextval('"ArchiveCounter"'), nextval('"ArchiveCounter"');
`;

describe('tenants export / import', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let observer: Client;
  let work: string;
  /** The real migrations plus TYPES; and plus TYPES and FORWARD. */
  let typesDir: string;
  let forwardDir: string;

  beforeAll(async () => {
    assertCliBuilt();
    db = await newDatabase();
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'error' });
    app = await NestFactory.createApplicationContext(AppModule.forOperations(config), { logger: ['fatal'] });
    observer = new Client({ connectionString: db.url });
    await observer.connect();
    work = mkdtempSync(join(tmpdir(), 'tenantry-archive-'));
    typesDir = withMigrations('types', [[TYPES, TYPES_SQL]]);
    forwardDir = withMigrations('forward', [[FORWARD, FORWARD_SQL]]);
  });
  afterAll(async () => {
    await observer.end();
    await app.close();
    await db.drop();
    rmSync(work, { recursive: true, force: true });
  });

  function withMigrations(name: string, extra: [string, string][]): string {
    const dir = join(work, name);
    cpSync(BASE_MIGRATIONS, dir, { recursive: true });
    for (const [migration, sql] of extra) {
      mkdirSync(join(dir, migration));
      writeFileSync(join(dir, migration, 'migration.sql'), sql);
    }
    return dir;
  }

  async function tenantWith(sql: string, migrationsDir?: string): Promise<string> {
    const id = randomTenantId('x');
    await app.get(TenantProvisioner).create({ id, name: `Archive ${id} ☃`, plan: 'pro', adminEmail: `admin@${id}.test`, adminPassword: TEST_PASSWORD });
    if (migrationsDir) expect((await app.get(FleetMigrator).migrate({ tenants: [id], migrationsDir })).totals.failed).toBe(0);
    await observer.query('BEGIN');
    await observer.query(`SET LOCAL search_path TO ${tenantSchemaName(id)}`);
    await observer.query(sql);
    await observer.query('COMMIT');
    return id;
  }

  /** Per table (the ledger aside): row count and md5 over the rows' text in a total order. */
  async function checksums(id: string): Promise<Record<string, string>> {
    const schema = tenantSchemaName(id);
    const { rows: tables } = await observer.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> '_tenantry_migrations' ORDER BY 1`,
      [schema],
    );
    const result: Record<string, string> = {};
    for (const { name } of tables) {
      const { rows } = await observer.query<{ n: string; sum: string }>(
        `SELECT count(*) AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${schema}."${name}" t`,
      );
      result[name] = `${rows[0].n} ${rows[0].sum}`;
    }
    return result;
  }

  async function sequences(id: string): Promise<Record<string, string>> {
    const schema = tenantSchemaName(id);
    const { rows: names } = await observer.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY 1`,
      [schema],
    );
    const result: Record<string, string> = {};
    for (const { name } of names) {
      const { rows } = await observer.query(`SELECT last_value, is_called FROM ${schema}."${name}"`);
      result[name] = `${rows[0].last_value} ${rows[0].is_called}`;
    }
    return result;
  }

  async function leftover(id: string): Promise<{ registered: boolean; schema: boolean }> {
    const registered = (await app.get(TenantRegistryRepository).getById(id)) !== null;
    const { rows } = await observer.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [tenantSchemaName(id)]);
    return { registered, schema: rows.length > 0 };
  }

  it('round-trips every row and sequence value through the CLI: NULLs, timestamps, unicode, json, bytea, enums, arrays', async () => {
    const source = await tenantWith(SAMPLE_ROWS + TYPED_ROWS, typesDir);
    const file = join(work, `${source}.ndjson.gz`);
    const exported = await runTenantsCli(db.url, ['export', source, '--out', file]);
    expect(exported.code).toBe(0);
    const { rows: tables } = await observer.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1 AND tablename <> '_tenantry_migrations'`,
      [tenantSchemaName(source)],
    );
    expect(exported.stderr).toMatch(new RegExp(`Exported .* 2505 row\\(s\\) in ${tables[0].n} table\\(s\\), 3 sequence\\(s\\), \\d+ bytes .* in \\d+ ms`));

    // Parents first, whatever the names; a header, then the end line with the counts.
    const lines = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ format: 'tenantry-export/1', tenantId: source, schemaVersion: TYPES, migrations: [...BASE, TYPES] });
    const order = lines.filter((l) => l.table).map((l) => l.table as string);
    expect(order).toHaveLength(tables[0].n);
    // Each table after every table it references.
    for (const [parent, child] of [['User', 'Project'], ['Project', 'ArchiveSample'], ['Project', 'Task'], ['User', 'RefreshToken']]) {
      expect([parent, child, order.indexOf(parent) < order.indexOf(child)]).toEqual([parent, child, true]);
    }
    const end = lines.at(-1);
    expect(end).toMatchObject({ end: true, rows: { User: 2, Project: 2500, ArchiveSample: 3 } });
    expect(Object.values(end.rows as Record<string, number>).reduce((sum, n) => sum + n, 0)).toBe(2505);
    expect(lines.find((l) => l.table === 'ArchiveSample').columns).not.toContain('twice');

    const copy = randomTenantId('x');
    const imported = await runTenantsCli(db.url, ['import', file, '--as', copy, '--json', '--migrations-dir', typesDir]);
    expect(imported.code).toBe(0);
    expect(jsonReport<ImportReport>(imported)).toMatchObject({ tenantId: copy, from: source, schemaVersion: TYPES, migratedForward: [], sequences: 3 });
    expect(imported.stderr).toMatch(/Imported .* in \d+ ms/);

    expect(await checksums(copy)).toEqual(await checksums(source));
    // The imported tenant gets its own database role, like a provisioned one.
    const { rows: grants } = await observer.query(`SELECT has_schema_privilege($1, $2, 'USAGE') AS usage`, [
      app.get(TenantRoles).roleOf(copy),
      tenantSchemaName(copy),
    ]);
    expect(grants[0].usage).toBe(true);
    expect(Object.keys(await checksums(copy))).toEqual([...order].sort());
    expect(await sequences(copy)).toEqual(await sequences(source));
    expect((await sequences(copy))['ArchiveCounter']).toBe('102 true');
    const { rows } = await observer.query(`SELECT at, label, bytes FROM ${tenantSchemaName(copy)}."ArchiveSample" WHERE label IS NOT NULL`);
    expect(rows[0].at.toISOString()).toBe('2026-11-25T01:40:00.123Z');
    expect(rows[0].label).toBe('é\u0301 ☃ 😀');
    expect(rows[0].bytes).toEqual(Buffer.from([0x00, 0xff, 0x10]));

    const registered = await app.get(TenantRegistryRepository).getById(copy);
    expect(registered).toMatchObject({ status: 'ACTIVE', plan: 'pro', name: `Archive ${source} ☃` });
    const status = await app.get(SchemaDriftService).status({ tenants: [copy], migrationsDir: typesDir });
    expect(status.tenants[0]).toMatchObject({ status: 'current', drift: [] });
  }, 180_000);

  it('imports an export taken at an older migration and migrates it forward with its data', async () => {
    const source = await tenantWith(SAMPLE_ROWS);
    const file = join(work, `${source}.ndjson.gz`);
    await app.get(TenantExporter).export(source, file);
    const copy = randomTenantId('x');
    const report = await app.get(TenantImporter).import(file, copy, { migrationsDir: forwardDir });
    expect(report).toMatchObject({ schemaVersion: BASE.at(-1), migratedForward: [FORWARD] });

    const [before, after] = [await checksums(source), await checksums(copy)];
    expect(after.User).toBe(before.User);
    const { rows } = await observer.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE slug = lower(name))::int AS backfilled FROM ${tenantSchemaName(copy)}."Project"`,
    );
    expect(rows[0]).toEqual({ n: 2500, backfilled: 2500 });
    const status = await app.get(SchemaDriftService).status({ tenants: [copy], migrationsDir: forwardDir });
    expect(status.tenants[0]).toMatchObject({ status: 'current', lastMigration: FORWARD, drift: [] });
  });

  it('rejects unknown formats, newer schema versions and truncated files, leaving no tenant behind', async () => {
    const source = await tenantWith(TYPED_ROWS, typesDir);
    const file = join(work, `${source}.ndjson.gz`);
    await app.get(TenantExporter).export(source, file);
    const importer = app.get(TenantImporter);
    const rejects = async (path: string, code: TenantArchiveErrorCode, migrationsDir = typesDir) => {
      const id = randomTenantId('x');
      const error = await importer.import(path, id, { migrationsDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TenantArchiveError);
      expect(error).toMatchObject({ code });
      expect(await leftover(id)).toEqual({ registered: false, schema: false });
    };

    const other = join(work, 'other.gz');
    writeFileSync(other, gzipSync('{"format":"someone-else/7"}\n'));
    await rejects(other, TenantArchiveErrorCode.UNKNOWN_FORMAT);
    const plain = join(work, 'plain.ndjson');
    writeFileSync(plain, gunzipSync(readFileSync(file)));
    await rejects(plain, TenantArchiveErrorCode.UNKNOWN_FORMAT);

    // Taken at TYPES, which the real migrations directory does not know.
    await rejects(file, TenantArchiveErrorCode.NEWER_SCHEMA_VERSION, BASE_MIGRATIONS);

    // Every row loads, then the missing end line fails the import: the transaction takes it all back.
    const truncated = join(work, 'truncated.gz');
    const text = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
    writeFileSync(truncated, gzipSync(text.slice(0, -1).join('\n') + '\n'));
    await rejects(truncated, TenantArchiveErrorCode.CORRUPT_ARCHIVE);
    const cut = join(work, 'cut.gz');
    writeFileSync(cut, readFileSync(file).subarray(0, 200));
    await rejects(cut, TenantArchiveErrorCode.CORRUPT_ARCHIVE);

    const cli = await runTenantsCli(db.url, ['import', other, '--as', randomTenantId('x')]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('UNKNOWN_FORMAT: ');
    const taken = await runTenantsCli(db.url, ['import', file, '--as', source, '--migrations-dir', typesDir]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('CONFLICT: ');
    expect((await runTenantsCli(db.url, ['import', file])).code).toBe(2);
    expect((await runTenantsCli(db.url, ['export', 'no-such-tenant', '--out', join(work, 'none.gz')])).code).toBe(1);
  }, 180_000);
});
