-- MOVING: a tenant fenced while `tenants move` copies its schema to another database; requests get TENANT_MOVING.
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'MOVING', 'DELETED'));
