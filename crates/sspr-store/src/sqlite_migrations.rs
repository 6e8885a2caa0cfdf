//! Applies sqlx's migrations (`migrations/sqlite`, embedded by `sqlx::migrate!`) on the
//! rusqlite connection, keeping sqlx's bookkeeping table `_sqlx_migrations` exactly as sqlx
//! keeps it: a database migrated by an earlier release (through sqlx) carries on, and `sqlx
//! migrate info` still reads it. The rules are sqlx's too: a half-applied or edited migration
//! stops the start (`Corrupt`), and so does an applied migration this release does not know
//! (the database belongs to a newer release: `Unavailable`).

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension};
use sqlx::migrate::Migrator;
use sspr_core::ports::StoreError;

const TABLE: &str = "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);";

pub(crate) fn run(conn: &mut Connection, migrator: &Migrator) -> Result<(), StoreError> {
    let failed =
        |e: rusqlite::Error| StoreError::Unavailable(format!("database migration failed: {e}"));
    conn.execute_batch(TABLE).map_err(failed)?;
    let dirty: Option<i64> = conn
        .query_row(
            "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .map_err(failed)?;
    if let Some(version) = dirty {
        return Err(StoreError::Corrupt(format!(
            "database migration failed: migration {version} is partially applied"
        )));
    }
    let applied: Vec<(i64, Vec<u8>)> = conn
        .prepare("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .and_then(|mut stmt| {
            stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .map_err(failed)?;
    let known = |version: i64| {
        migrator
            .iter()
            .any(|m| m.version == version && !m.migration_type.is_down_migration())
    };
    if let Some((version, _)) = applied.iter().find(|(v, _)| !known(*v)) {
        return Err(StoreError::Unavailable(format!(
            "database migration failed: migration {version} was applied but is unknown to \
             this release (was the database migrated by a newer one?)"
        )));
    }
    for migration in migrator.iter() {
        if migration.migration_type.is_down_migration() {
            continue;
        }
        if let Some((_, checksum)) = applied.iter().find(|(v, _)| *v == migration.version) {
            if *checksum != *migration.checksum {
                return Err(StoreError::Corrupt(format!(
                    "database migration failed: migration {} was applied but has been \
                     modified since",
                    migration.version
                )));
            }
            continue;
        }
        let start = Instant::now();
        let record = "INSERT INTO _sqlx_migrations \
             (version, description, success, checksum, execution_time) \
             VALUES (?1, ?2, TRUE, ?3, -1)";
        let values = (
            migration.version,
            migration.description.as_ref(),
            migration.checksum.as_ref(),
        );
        if migration.no_tx {
            conn.execute_batch(migration.sql.as_str()).map_err(failed)?;
            conn.execute(record, values).map_err(failed)?;
        } else {
            // The script and its record in one transaction: never applied twice.
            let tx = conn.transaction().map_err(failed)?;
            tx.execute_batch(migration.sql.as_str()).map_err(failed)?;
            tx.execute(record, values).map_err(failed)?;
            tx.commit().map_err(failed)?;
        }
        let nanos = i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        conn.execute(
            "UPDATE _sqlx_migrations SET execution_time = ?1 WHERE version = ?2",
            (nanos, migration.version),
        )
        .map_err(failed)?;
    }
    Ok(())
}
