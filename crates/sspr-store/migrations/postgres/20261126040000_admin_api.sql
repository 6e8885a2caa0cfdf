-- Administration API (SPEC §9.1): API tokens, and indexes for the filtered audit query.
-- Postgres dialect; keep in step with ../sqlite/20261126040000_admin_api.sql.

-- A token is `sspr_<id>_<secret>`; only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    secret_sha256   TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    expires_at_ms   BIGINT,
    revoked_at_ms   BIGINT,
    last_used_at_ms BIGINT
);

-- The audit filters of GET /api/v1/admin/audit and the activity report.
CREATE INDEX audit_events_type_at ON audit_events (event_type, at_ms);
CREATE INDEX audit_events_actor ON audit_events (actor);
CREATE INDEX audit_events_target ON audit_events (target);
