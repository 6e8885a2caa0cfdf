-- sspr schema, PostgreSQL dialect. Keep in step with ../sqlite/20261125000000_init.sql: same
-- tables, columns and meaning. Conventions shared by both dialects:
--   * ids are hyphenated UUID text;
--   * integers, booleans (0/1) and timestamps (unix milliseconds, columns ending in _ms) are
--     64-bit integers, the one integer type sqlx's Any driver decodes alike on both backends;
--   * JSON is stored as text, byte for byte as written (the audit chain hashes it).

CREATE TABLE users (
    id                           TEXT PRIMARY KEY NOT NULL,
    -- COLLATE "C": compared and ordered bytewise, as SQLite does, whatever the database's
    -- locale; list_users pages in this order on both backends.
    username                     TEXT COLLATE "C" NOT NULL UNIQUE CHECK (username = lower(username)),
    display_name                 TEXT NOT NULL,
    -- lower-cased in Rust (Unicode-aware) for the case-insensitive search of list_users
    display_name_lower           TEXT NOT NULL,
    first_name                   TEXT,
    last_name                    TEXT,
    email                        TEXT,
    alternate_email              TEXT,
    mobile_phone                 TEXT,
    office_phone                 TEXT,
    -- comma-separated admin role names, '' for none
    roles                        TEXT NOT NULL DEFAULT '',
    enabled                      BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    source                       TEXT NOT NULL CHECK (source IN ('cloud', 'directory')),
    admin_locked                 BIGINT NOT NULL DEFAULT 0 CHECK (admin_locked IN (0, 1)),
    failed_count                 BIGINT NOT NULL DEFAULT 0,
    lockout_count                BIGINT NOT NULL DEFAULT 0,
    locked_until_ms              BIGINT,
    password_hash                TEXT,
    password_changed_at_ms       BIGINT,
    registration_confirmed_at_ms BIGINT,
    created_at_ms                BIGINT NOT NULL,
    updated_at_ms                BIGINT NOT NULL
);

CREATE INDEX users_email ON users (email);

CREATE TABLE password_history (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX password_history_user ON password_history (user_id, id);

CREATE TABLE groups (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    -- lower-cased in Rust: group names are unique case-insensitively
    name_lower    TEXT COLLATE "C" NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id        TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_user_id  TEXT REFERENCES users (id) ON DELETE CASCADE,
    member_group_id TEXT REFERENCES groups (id) ON DELETE CASCADE,
    CHECK ((member_user_id IS NULL) <> (member_group_id IS NULL)),
    CHECK (member_group_id IS NULL OR member_group_id <> group_id),
    UNIQUE (group_id, member_user_id),
    UNIQUE (group_id, member_group_id)
);

CREATE INDEX group_members_user ON group_members (member_user_id);
CREATE INDEX group_members_group ON group_members (member_group_id);

CREATE TABLE settings (
    key           TEXT PRIMARY KEY NOT NULL,
    value         TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- The head of the audit chain: the last sequence number and its hash. Appending starts with
-- an UPDATE of this one row, which serialises concurrent appenders.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_events (
    seq            BIGINT PRIMARY KEY,
    at_ms          BIGINT NOT NULL,
    event_type     TEXT NOT NULL,
    actor          TEXT,
    target         TEXT,
    client_ip      TEXT,
    user_agent     TEXT,
    outcome        TEXT NOT NULL,
    reason         TEXT,
    correlation_id TEXT,
    details        TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);

CREATE INDEX audit_events_at ON audit_events (at_ms);

CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    revoked       BIGINT NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE outbox (
    id                 TEXT PRIMARY KEY NOT NULL,
    channel            TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    subject            TEXT NOT NULL,
    body               TEXT NOT NULL,
    created_at_ms      BIGINT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts           BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms     BIGINT,
    sent_at_ms         BIGINT,
    last_error         TEXT
);

CREATE INDEX outbox_due ON outbox (status, next_attempt_at_ms);
CREATE INDEX outbox_created ON outbox (created_at_ms);
