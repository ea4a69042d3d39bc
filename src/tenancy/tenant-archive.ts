import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { TenantArchiveError, TenantArchiveErrorCode } from './tenant-archive.errors';

// A tenant export is gzipped NDJSON: the header, then for each table (parents before children) a table line
// followed by one JSON array per row, then one line per sequence, then the end line with the row counts (so a
// truncated file is detected). Every value is PostgreSQL's own text form of the column (or null), produced
// and parsed under the session settings below, so any type with text I/O — timestamps to the microsecond,
// bytea, json, enums, arrays, unicode — round-trips exactly.

export const EXPORT_FORMAT = 'tenantry-export/1';

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  tenantId: string;
  /** The last migration in the tenant's ledger when the export was taken (null: none). */
  schemaVersion: string | null;
  /** Every migration of that ledger, in name order. */
  migrations: string[];
  tenant: { name: string; plan: string };
  exportedAt: string;
}

export interface TableLine {
  table: string;
  columns: string[];
}

export interface SequenceLine {
  sequence: string;
  /** bigint as text. */
  value: string;
  isCalled: boolean;
}

export interface EndLine {
  end: true;
  /** Rows written per table. */
  rows: Record<string, number>;
}

export type RowLine = (string | null)[];
export type ArchiveLine = TableLine | SequenceLine | EndLine | RowLine;

/** Session settings under which values are written and read: unambiguous, locale-free text forms. */
export const VALUE_SETTINGS: [string, string][] = [
  ['DateStyle', 'ISO, YMD'],
  ['IntervalStyle', 'postgres'],
  ['TimeZone', 'UTC'],
  ['bytea_output', 'hex'],
  ['extra_float_digits', '1'],
];

export const VALUE_SETTINGS_SQL = `SELECT ${VALUE_SETTINGS.map((_, n) => `set_config($${2 * n + 1}, $${2 * n + 2}, true)`).join(', ')}`;
export const VALUE_SETTINGS_PARAMS = VALUE_SETTINGS.flat();

/** The lines of a gzipped NDJSON file, read with backpressure (memory stays flat whatever the file's size). */
export async function* readArchiveLines(file: string): AsyncGenerator<string> {
  const source = createReadStream(file);
  const input = source.pipe(createGunzip());
  source.on('error', (error) => input.destroy(error));
  input.setEncoding('utf8');
  let carry = '';
  let started = false;
  try {
    for await (const chunk of input as AsyncIterable<string>) {
      started = true;
      const parts = (carry + chunk).split('\n');
      carry = parts.pop()!;
      for (const line of parts) if (line.length > 0) yield line;
    }
  } catch (error) {
    if (error instanceof TenantArchiveError) throw error;
    // Not gzip at all is an unknown format; a gzip stream that breaks off is a damaged export.
    const code = started ? TenantArchiveErrorCode.CORRUPT_ARCHIVE : TenantArchiveErrorCode.UNKNOWN_FORMAT;
    throw new TenantArchiveError(code, `${file} is not a complete gzip file: ${(error as Error).message}`);
  } finally {
    input.destroy();
    source.destroy();
  }
  if (carry.length > 0) yield carry;
}

export function parseLine(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new TenantArchiveError(TenantArchiveErrorCode.CORRUPT_ARCHIVE, `line ${lineNumber} is not JSON`);
  }
}

/** Checks the first line; throws UNKNOWN_FORMAT for anything but a header of EXPORT_FORMAT. */
export function parseHeader(line: string | undefined): ExportHeader {
  let header: Partial<ExportHeader> | undefined;
  try {
    header = line === undefined ? undefined : (JSON.parse(line) as Partial<ExportHeader>);
  } catch {
    header = undefined;
  }
  if (!header || typeof header !== 'object' || header.format !== EXPORT_FORMAT) {
    const found = header && typeof header === 'object' && 'format' in header ? ` (format ${JSON.stringify(header.format)})` : '';
    throw new TenantArchiveError(TenantArchiveErrorCode.UNKNOWN_FORMAT, `Not a ${EXPORT_FORMAT} file${found}`);
  }
  const valid =
    typeof header.tenantId === 'string' &&
    Array.isArray(header.migrations) &&
    header.migrations.every((m) => typeof m === 'string') &&
    (header.schemaVersion === null || header.schemaVersion === header.migrations.at(-1)) &&
    typeof header.tenant?.name === 'string' &&
    typeof header.tenant?.plan === 'string';
  if (!valid) throw new TenantArchiveError(TenantArchiveErrorCode.CORRUPT_ARCHIVE, 'The export header is incomplete');
  return header as ExportHeader;
}
