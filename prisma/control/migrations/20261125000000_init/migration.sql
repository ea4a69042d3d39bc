-- The control plane: the only tables that know about every tenant.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{0,38}[a-z0-9]$'),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status      TEXT NOT NULL DEFAULT 'PROVISIONING'
                CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'DELETED')),
    plan        TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'starter', 'pro', 'enterprise')),
    schema_name TEXT NOT NULL UNIQUE,
    deleted_at  TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE tenant_domains (
    domain     TEXT PRIMARY KEY CHECK (domain = lower(domain)),
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tenant_domains_tenant_id_idx ON tenant_domains (tenant_id);

-- Answers "what is pending where" without visiting every tenant schema.
CREATE TABLE tenant_migration_summary (
    tenant_id      TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last_migration TEXT,
    applied_count  INTEGER NOT NULL DEFAULT 0,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every registry change tells every API instance to drop its cached copy of the tenant.
CREATE FUNCTION notify_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tenantry_tenant_changed', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION notify_tenant_changed();
