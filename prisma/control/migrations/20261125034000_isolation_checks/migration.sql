-- Each `tenants isolation-check` run: which cross-tenant reads were tried under the real tenant roles, and whether
-- PostgreSQL refused every one of them.
CREATE TABLE isolation_checks (
    id          BIGSERIAL PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    tenants     INTEGER NOT NULL,
    probes      INTEGER NOT NULL,
    ok          BOOLEAN NOT NULL,
    -- [{ "from": id, "to": id, "outcome": "readable" | "error", "detail": … }] for every probe that was not refused
    failures    JSONB NOT NULL DEFAULT '[]'
);
