//! Reading columns of a [`Row`] into domain values; whatever does not parse is `Corrupt`.

use sspr_core::ports::StoreError;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{Decode, Row};
use crate::error::{self, corrupt};
use crate::time_ms::{from_ms, opt_from_ms};

pub(crate) fn get<T: Decode>(row: &Row, column: &str) -> Result<T, StoreError> {
    row.get(column).map_err(error::db)
}

pub(crate) fn uuid(row: &Row, column: &str) -> Result<Uuid, StoreError> {
    let raw: String = get(row, column)?;
    Uuid::parse_str(&raw).map_err(|e| corrupt(format!("{column} {raw:?} is not a UUID: {e}")))
}

pub(crate) fn opt_uuid(row: &Row, column: &str) -> Result<Option<Uuid>, StoreError> {
    let raw: Option<String> = get(row, column)?;
    raw.map(|raw| {
        Uuid::parse_str(&raw).map_err(|e| corrupt(format!("{column} {raw:?} is not a UUID: {e}")))
    })
    .transpose()
}

pub(crate) fn flag(row: &Row, column: &str) -> Result<bool, StoreError> {
    match get::<i64>(row, column)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(corrupt(format!("{column} is {other}, not 0 or 1"))),
    }
}

pub(crate) fn count(row: &Row, column: &str) -> Result<u32, StoreError> {
    let raw: i64 = get(row, column)?;
    u32::try_from(raw).map_err(|_| corrupt(format!("{column} {raw} is out of range")))
}

pub(crate) fn at(row: &Row, column: &str) -> Result<OffsetDateTime, StoreError> {
    from_ms(get(row, column)?)
}

pub(crate) fn opt_at(row: &Row, column: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    opt_from_ms(get(row, column)?)
}

/// An optional text column parsed by `parse` (e.g. `EmailAddress::parse`).
pub(crate) fn opt_parsed<T, E: std::fmt::Display>(
    row: &Row,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = get(row, column)?;
    raw.map(|raw| parse(&raw).map_err(|e| corrupt(format!("stored {column} {raw:?}: {e}"))))
        .transpose()
}

/// A text column parsed by `parse`.
pub(crate) fn parsed<T, E: std::fmt::Display>(
    row: &Row,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw: String = get(row, column)?;
    parse(&raw).map_err(|e| corrupt(format!("stored {column} {raw:?}: {e}")))
}
