-- Directory sync (SPEC §7): which sspr users and groups come from the on-premises directory,
-- and the incremental-sync watermark (in `settings`). PostgreSQL dialect; keep in step with
-- ../sqlite/20261126030000_directory_sync.sql.

CREATE TABLE directory_users (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- entryUUID / objectGUID: stable across renames and moves
    external_id TEXT COLLATE "C" NOT NULL UNIQUE,
    -- lower-cased DN, to resolve group members
    dn          TEXT NOT NULL,
    -- SHA-256 of the synced fields: an unchanged entry costs no write
    digest      TEXT NOT NULL
);

CREATE INDEX directory_users_dn ON directory_users (dn);

CREATE TABLE directory_groups (
    group_id    TEXT PRIMARY KEY NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    external_id TEXT NOT NULL UNIQUE,
    dn          TEXT NOT NULL
);
