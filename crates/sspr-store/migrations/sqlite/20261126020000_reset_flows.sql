-- Reset flows (SPEC §5): the state between the requests of one reset, shared by every
-- instance. SQLite dialect; keep in step with ../postgres/20261126020000_reset_flows.sql.
CREATE TABLE reset_flows (
    id            TEXT PRIMARY KEY NOT NULL,
    cookie_hash   TEXT NOT NULL,
    -- NULL for a decoy flow (a user ID sspr will not serve)
    user_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    stage         TEXT NOT NULL,
    -- offered methods, proofs, current questions (JSON; no codes, no answers)
    state         TEXT NOT NULL,
    -- compare-and-set counter: every change is `WHERE version = <read version>`
    version       INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX reset_flows_expires ON reset_flows (expires_at_ms);
CREATE INDEX users_email_lower ON users (lower(email));
