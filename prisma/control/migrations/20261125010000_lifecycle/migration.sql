-- Who did what to which tenant, and whether it worked. No foreign key: rows outlive a hard-deleted tenant.
CREATE TABLE tenant_audit (
    id        BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    actor     TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    result    TEXT NOT NULL CHECK (result IN ('ok', 'error')),
    details   JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX tenant_audit_tenant_id_idx ON tenant_audit (tenant_id, id DESC);

-- Custom domains are cached like tenant ids; the payload `domain:<hostname>` cannot be a tenant id (no ':').
CREATE FUNCTION notify_tenant_domain_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('tenantry_tenant_changed', 'domain:' || OLD.domain);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.domain IS DISTINCT FROM OLD.domain) THEN
        PERFORM pg_notify('tenantry_tenant_changed', 'domain:' || NEW.domain);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenant_domains_changed AFTER INSERT OR UPDATE OR DELETE ON tenant_domains
    FOR EACH ROW EXECUTE FUNCTION notify_tenant_domain_changed();
