-- Placement: which configured database (DATABASES, or "primary" for DATABASE_URL) holds the tenant's schema.
-- The schema keeps its name wherever it lives; the control plane itself stays on the primary.
ALTER TABLE tenants
    ADD COLUMN database TEXT NOT NULL DEFAULT 'primary' CHECK (database ~ '^[a-z][a-z0-9_-]{0,39}$');
CREATE INDEX tenants_database_idx ON tenants (database, id);
