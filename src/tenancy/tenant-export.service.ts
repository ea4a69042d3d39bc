import { Injectable } from '@nestjs/common';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DatabasePools } from '../database/database-pools';
import { TenantAuditRepository } from '../control-plane/tenant-audit.repository';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { AppError, ErrorCode } from '../graphql/app-error';
import { copyLines } from './copy-lines.util';
import { readLedger } from './migration-runner';
import {
  EXPORT_FORMAT,
  VALUE_SETTINGS_PARAMS,
  VALUE_SETTINGS_SQL,
  type EndLine,
  type ExportHeader,
  type SequenceLine,
  type TableLine,
} from './tenant-archive';
import { listDataTables, listSequences, qualified, type DataTable } from './tenant-tables';
import { quoteIdentifier } from './tenant-id.util';

/** Rows between two progress reports of a table. */
const PROGRESS_ROWS = 100_000;

export interface ArchiveProgress {
  table: string;
  rows: number;
  /** The table is complete. */
  done: boolean;
}

export interface ArchiveOptions {
  /** Recorded in the audit log. */
  actor?: string;
  onProgress?: (progress: ArchiveProgress) => void;
}

export interface ExportReport {
  tenantId: string;
  file: string;
  schemaVersion: string | null;
  tables: { name: string; rows: number }[];
  sequences: number;
  bytes: number;
  elapsedMs: number;
}

/**
 * `tenants export`: one tenant's rows and sequence values as gzipped NDJSON (see tenant-archive.ts), read in one
 * REPEATABLE READ snapshot, a COPY per table streamed with backpressure, so memory stays flat. Writes
 * `<file>.partial` and renames it when complete: a failed export leaves no file that looks whole.
 */
@Injectable()
export class TenantExporter {
  constructor(
    private readonly pools: DatabasePools,
    private readonly registry: TenantRegistryRepository,
    private readonly audit: TenantAuditRepository,
  ) {}

  async export(tenantId: string, file: string, options: ArchiveOptions = {}): Promise<ExportReport> {
    const { actor = 'system', onProgress } = options;
    const started = Date.now();
    const tenant = await this.registry.getById(tenantId);
    if (!tenant || tenant.status === 'PROVISIONING') throw new AppError(ErrorCode.TENANT_NOT_FOUND, `No tenant "${tenantId}"`);
    const schema = tenant.schemaName;
    const partial = `${file}.partial`;
    // Read where the tenant is placed; its registry row stays on the primary.
    const client = await this.pools.owner(tenant.database).connect();
    const counts: Record<string, number> = {};
    let header: ExportHeader | undefined;
    let sequenceCount = 0;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SELECT set_config('search_path', $1, true)`, [quoteIdentifier(schema)]);
      await client.query(VALUE_SETTINGS_SQL, VALUE_SETTINGS_PARAMS);
      const ledger = await readLedger(client, schema);
      if (!ledger) throw new AppError(ErrorCode.TENANT_NOT_FOUND, `Tenant "${tenantId}" has no schema ${schema} (or no migration ledger)`);
      const tables = await listDataTables(client, schema);
      // No migration may change a table under the export: it would wait for this transaction.
      if (tables.length > 0) await client.query(`LOCK TABLE ${tables.map((t) => qualified(schema, t.name)).join(', ')} IN ACCESS SHARE MODE`);
      const sequences = await listSequences(client, schema);
      sequenceCount = sequences.length;
      const migrations = [...ledger.keys()].sort();
      header = {
        format: EXPORT_FORMAT,
        tenantId,
        schemaVersion: migrations.at(-1) ?? null,
        migrations,
        tenant: { name: tenant.name, plan: tenant.plan },
        exportedAt: new Date().toISOString(),
      };
      const lines = this.lines(client, schema, header, tables, sequences, counts, onProgress);
      await pipeline(lines, createGzip(), createWriteStream(partial));
      await client.query('COMMIT');
      client.release();
      await rename(partial, file);
    } catch (error) {
      // A COPY broken off leaves the connection mid-protocol, where a ROLLBACK would wait forever: the connection
      // is discarded instead, which ends the read-only transaction.
      client.release(error instanceof Error ? error : new Error(String(error)));
      await rm(partial, { force: true });
      throw error;
    }
    const { size } = await stat(file);
    await this.audit.create({
      tenantId,
      action: 'export',
      actor,
      result: 'ok',
      details: { file, database: tenant.database, schemaVersion: header.schemaVersion, rows: counts },
    }).catch(() => undefined);
    return {
      tenantId,
      file,
      schemaVersion: header.schemaVersion,
      tables: Object.entries(counts).map(([name, rows]) => ({ name, rows })),
      sequences: sequenceCount,
      bytes: size,
      elapsedMs: Date.now() - started,
    };
  }

  /** The file's lines; the pipeline pulls the next chunk only when gzip has drained. */
  private async *lines(
    client: PoolClient,
    schema: string,
    header: ExportHeader,
    tables: DataTable[],
    sequences: string[],
    counts: Record<string, number>,
    onProgress?: (progress: ArchiveProgress) => void,
  ): AsyncGenerator<string | Buffer> {
    yield `${JSON.stringify(header)}\n`;
    for (const table of tables) {
      const line: TableLine = { table: table.name, columns: table.columns.map((c) => c.name) };
      yield `${JSON.stringify(line)}\n`;
      counts[table.name] = 0;
      // Every value in PostgreSQL's text form (exact for every type, parsed back by the column type's input
      // function), and each row rendered as its JSON line by PostgreSQL; the lines reach gzip as bytes.
      const values = table.columns.map((c) => `${quoteIdentifier(c.name)}::text`).join(', ');
      const copy = client.query(
        copyTo(`COPY (SELECT array_to_json(ARRAY[${values}])::text FROM ${qualified(schema, table.name)}) TO STDOUT (FORMAT binary)`),
      );
      yield* copyLines(copy, (rows) => {
        const before = counts[table.name];
        counts[table.name] += rows;
        if (Math.floor(before / PROGRESS_ROWS) !== Math.floor(counts[table.name] / PROGRESS_ROWS)) {
          onProgress?.({ table: table.name, rows: counts[table.name], done: false });
        }
      });
      onProgress?.({ table: table.name, rows: counts[table.name], done: true });
    }
    for (const name of sequences) {
      // Sequences are not transactional: this is the value at the moment of reading, not of the snapshot.
      const { rows } = await client.query<{ value: string; is_called: boolean }>(
        `SELECT last_value::text AS value, is_called FROM ${qualified(schema, name)}`,
      );
      const line: SequenceLine = { sequence: name, value: rows[0].value, isCalled: rows[0].is_called };
      yield `${JSON.stringify(line)}\n`;
    }
    const end: EndLine = { end: true, rows: counts };
    yield `${JSON.stringify(end)}\n`;
  }
}
