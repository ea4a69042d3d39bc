-- The migration a tenant last failed on (or was blocked at), so every API instance's /metrics can count failed
-- tenants without visiting their schemas; cleared when the tenant is next brought current.
ALTER TABLE tenant_migration_summary
    ADD COLUMN failed_migration TEXT,
    ADD COLUMN failure          TEXT,
    ADD COLUMN failed_at        TIMESTAMPTZ;

-- Each fleet migration run (dry runs excluded): what it did. Runs happen in the CLI's process, not the API's.
CREATE TABLE fleet_migration_runs (
    id               BIGSERIAL PRIMARY KEY,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    latest_migration TEXT,
    tenants          INTEGER NOT NULL,
    migrated         INTEGER NOT NULL,
    failed           INTEGER NOT NULL,
    blocked          INTEGER NOT NULL,
    skipped          INTEGER NOT NULL,
    applied          INTEGER NOT NULL,
    halted           TEXT
);
