/** Why an export file cannot be imported. The CLI prints the code and exits 1; nothing has been changed. */
export enum TenantArchiveErrorCode {
  /** Not a Tenantry export, or a format version this code does not read. */
  UNKNOWN_FORMAT = 'UNKNOWN_FORMAT',
  /** The export was taken at a migration newer than any this code knows. */
  NEWER_SCHEMA_VERSION = 'NEWER_SCHEMA_VERSION',
  /** The export's ledger names a migration this code does not have (not newer: renamed or removed). */
  UNKNOWN_MIGRATION = 'UNKNOWN_MIGRATION',
  /** Truncated, unparsable, or naming tables and columns the schema at its version lacks. */
  CORRUPT_ARCHIVE = 'CORRUPT_ARCHIVE',
  /** The schema holds something an export cannot restore faithfully (e.g. a foreign-key cycle between tables). */
  UNSUPPORTED_SCHEMA = 'UNSUPPORTED_SCHEMA',
}

export class TenantArchiveError extends Error {
  constructor(
    readonly code: TenantArchiveErrorCode,
    message: string,
  ) {
    super(message);
  }
}
