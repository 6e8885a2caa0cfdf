-- Security info (SPEC §6): the methods users register, one-time codes, throttling counters and
-- WebAuthn ceremony state. SQLite dialect; keep in step with ../postgres/20261126010000_security_info.sql.

-- When the registration interrupt was first shown (the skip window counts from here).
ALTER TABLE users ADD COLUMN registration_prompted_at_ms INTEGER;

CREATE TABLE methods (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    -- the email address, E.164 number or passkey name; '' for authenticator and questions
    label           TEXT NOT NULL,
    -- sealed TOTP secret, passkey credential, or the hashed question answers (JSON)
    secret          TEXT,
    -- authenticator: the last time step used; passkey: the signature counter
    counter         INTEGER NOT NULL DEFAULT 0,
    verified_at_ms  INTEGER,
    created_at_ms   INTEGER NOT NULL,
    last_used_at_ms INTEGER
) STRICT;

CREATE INDEX methods_user ON methods (user_id, created_at_ms);

-- One-time codes, by keyed hash only. `binding` names what the code proves (a method being
-- verified, or a reset flow's method); the hash covers it, so a code proves nothing else.
CREATE TABLE one_time_codes (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    binding       TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
) STRICT;

CREATE INDEX one_time_codes_binding ON one_time_codes (binding);
CREATE INDEX one_time_codes_user ON one_time_codes (user_id);

-- Attempts counted by the limits of SPEC §4, shared by every instance.
CREATE TABLE throttle_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    key     TEXT NOT NULL,
    -- the user the attempt was about, so a successful reset can clear their counters
    user_id TEXT,
    at_ms   INTEGER NOT NULL
) STRICT;

CREATE INDEX throttle_events_key ON throttle_events (key, at_ms);
CREATE INDEX throttle_events_user ON throttle_events (user_id);
CREATE INDEX throttle_events_at ON throttle_events (at_ms);

-- WebAuthn registration/authentication state between the two requests of a ceremony.
CREATE TABLE ceremonies (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    state         TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
