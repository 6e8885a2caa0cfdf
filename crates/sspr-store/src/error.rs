//! Database errors (sqlx's for PostgreSQL, rusqlite's for SQLite) mapped to the port's
//! [`StoreError`], which holds no driver type (DESIGN rule 8). The mapping keeps the driver's
//! message, so that the log shows the cause.

use rusqlite::ffi;
use sqlx::error::ErrorKind;
use sspr_core::ports::StoreError;

use crate::db::DbError;

/// A constraint the database refused a write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
    Check,
}

/// Which constraint, if any, `e` reports.
pub(crate) fn violation(e: &DbError) -> Option<Violation> {
    match e {
        DbError::Sqlx(sqlx::Error::Database(db)) => match db.kind() {
            ErrorKind::UniqueViolation => Some(Violation::Unique),
            ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
            ErrorKind::CheckViolation => Some(Violation::Check),
            _ => None,
        },
        DbError::Lite(rusqlite::Error::SqliteFailure(f, _)) => match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                Some(Violation::Unique)
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(Violation::ForeignKey),
            ffi::SQLITE_CONSTRAINT_CHECK => Some(Violation::Check),
            _ => None,
        },
        _ => None,
    }
}

/// The general mapping: data that does not decode is `Corrupt`; everything else (the pool
/// timed out, the connection broke, the database refused or failed the statement) is
/// `Unavailable`. Callers that expect a constraint violation check [`violation`] first.
pub(crate) fn db(e: impl Into<DbError>) -> StoreError {
    match e.into() {
        DbError::Sqlx(e) => sqlx_error(e),
        DbError::Lite(e) => lite_error(e),
        DbError::Decode(m) => StoreError::Corrupt(m),
        DbError::Closed => StoreError::Unavailable("the database is closed".into()),
    }
}

fn sqlx_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => StoreError::Corrupt(e.to_string()),
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("timed out waiting for a database connection".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the database pool is closed".into()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn lite_error(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnIndex(_)
        | rusqlite::Error::InvalidColumnName(_)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt(e.to_string()),
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                ffi::ErrorCode::DatabaseCorrupt | ffi::ErrorCode::NotADatabase
            ) =>
        {
            StoreError::Corrupt(e.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Maps a write's error: a violation of the constraint named by `on` becomes `then`, anything
/// else the general mapping.
pub(crate) fn write(
    e: impl Into<DbError>,
    on: Violation,
    then: impl FnOnce() -> StoreError,
) -> StoreError {
    let e = e.into();
    if violation(&e) == Some(on) {
        then()
    } else {
        db(e)
    }
}

/// Stored data that does not parse.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
