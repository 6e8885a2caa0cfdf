//! Timestamps are stored as unix milliseconds (`i64`), the precision the audit chain hashes.

use sspr_core::ports::StoreError;
use time::OffsetDateTime;

use crate::error::corrupt;

pub(crate) fn to_ms(at: OffsetDateTime) -> i64 {
    sspr_core::audit::at_millis(at)
}

pub(crate) fn opt_to_ms(at: Option<OffsetDateTime>) -> Option<i64> {
    at.map(to_ms)
}

pub(crate) fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| corrupt(format!("stored timestamp {ms} is out of range: {e}")))
}

pub(crate) fn opt_from_ms(ms: Option<i64>) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(from_ms).transpose()
}

/// The wall clock, truncated to milliseconds. The store has no clock port: it stamps
/// `created_at`, `updated_at`, audit records and the like with the time it writes them.
pub(crate) fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}
