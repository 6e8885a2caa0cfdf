//! sqlx errors mapped to the port's [`StoreError`], which holds no sqlx type (DESIGN rule 8).
//! The mapping keeps sqlx's message, so that the log shows the cause.

use sqlx::error::ErrorKind;
use sspr_core::ports::StoreError;

/// A constraint the database refused a write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
    Check,
}

/// Which constraint, if any, `e` reports.
pub(crate) fn violation(e: &sqlx::Error) -> Option<Violation> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    match db.kind() {
        ErrorKind::UniqueViolation => Some(Violation::Unique),
        ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
        ErrorKind::CheckViolation => Some(Violation::Check),
        _ => None,
    }
}

/// The general mapping: data that does not decode is `Corrupt`; everything else (the pool
/// timed out, the connection broke, the database refused or failed the statement) is
/// `Unavailable`. Callers that expect a constraint violation check [`violation`] first.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
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

/// Maps a write's error: a violation of the constraint named by `on` becomes `then`, anything
/// else the general mapping.
pub(crate) fn write(
    e: sqlx::Error,
    on: Violation,
    then: impl FnOnce() -> StoreError,
) -> StoreError {
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
