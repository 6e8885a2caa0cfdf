//! Users, their password history and their lock state.

use std::collections::BTreeSet;

use crate::db::Row;
use sspr_core::audit::AuditEvent;
use sspr_core::ports::{Page, ProfileUpdate, StoreError};
use sspr_core::{
    AdminRole, DisplayName, EmailAddress, LockoutState, NewUser, PasswordHash, PhoneNumber, User,
    UserId, UserSource, Username,
};
use time::OffsetDateTime;

use crate::db::{self, Tx};
use crate::error::{self, Violation, corrupt};
use crate::time_ms::{now_ms, opt_to_ms};
use crate::{Backend, SqlStore, commit_audited, rows};

/// The columns [`decode`] reads, in the order of the table.
macro_rules! user_columns {
    () => {
        "id, username, display_name, first_name, last_name, email, alternate_email, \
         mobile_phone, office_phone, roles, enabled, source, admin_locked, failed_count, \
         lockout_count, locked_until_ms, password_hash, password_changed_at_ms, \
         registration_confirmed_at_ms, registration_prompted_at_ms, created_at_ms, updated_at_ms"
    };
}

pub(crate) fn decode(row: &Row) -> Result<User, StoreError> {
    let roles: String = rows::get(row, "roles")?;
    let roles = roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| AdminRole::parse(r).map_err(|e| corrupt(format!("stored roles: {e}"))))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(User {
        id: UserId(rows::uuid(row, "id")?),
        username: rows::parsed(row, "username", Username::parse)?,
        display_name: rows::parsed(row, "display_name", DisplayName::parse)?,
        first_name: rows::get(row, "first_name")?,
        last_name: rows::get(row, "last_name")?,
        email: rows::opt_parsed(row, "email", EmailAddress::parse)?,
        alternate_email: rows::opt_parsed(row, "alternate_email", EmailAddress::parse)?,
        mobile_phone: rows::opt_parsed(row, "mobile_phone", PhoneNumber::parse)?,
        office_phone: rows::opt_parsed(row, "office_phone", PhoneNumber::parse)?,
        roles,
        enabled: rows::flag(row, "enabled")?,
        source: rows::parsed(row, "source", UserSource::parse)?,
        admin_locked: rows::flag(row, "admin_locked")?,
        lockout: LockoutState {
            failed_count: rows::count(row, "failed_count")?,
            lockout_count: rows::count(row, "lockout_count")?,
            locked_until: rows::opt_at(row, "locked_until_ms")?,
        },
        password_hash: rows::get::<Option<String>>(row, "password_hash")?
            .map(PasswordHash::from_phc),
        password_changed_at: rows::opt_at(row, "password_changed_at_ms")?,
        registration_confirmed_at: rows::opt_at(row, "registration_confirmed_at_ms")?,
        registration_prompted_at: rows::opt_at(row, "registration_prompted_at_ms")?,
        created_at: rows::at(row, "created_at_ms")?,
        updated_at: rows::at(row, "updated_at_ms")?,
    })
}

fn roles_text(roles: &BTreeSet<AdminRole>) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Lower-cased for the case-insensitive search. Done in Rust rather than with SQL `LOWER`,
/// which is ASCII-only on SQLite and Unicode-aware on PostgreSQL.
pub(crate) fn search_key(display_name: &DisplayName) -> String {
    display_name.as_str().to_lowercase()
}

fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

/// A `LIKE` pattern matching values that contain `search` (already lower-cased), with the
/// pattern's own metacharacters escaped (`ESCAPE '\'`).
fn contains_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(crate) async fn insert<'e>(
    on: impl Into<db::On<'e>>,
    user: &NewUser,
    now: i64,
) -> Result<(), StoreError> {
    db::query(
        "INSERT INTO users (id, username, display_name, display_name_lower, first_name, \
         last_name, email, alternate_email, mobile_phone, office_phone, roles, enabled, source, \
         admin_locked, failed_count, lockout_count, locked_until_ms, password_hash, \
         password_changed_at_ms, registration_confirmed_at_ms, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, 0, 0, NULL, $14, $15, \
         NULL, $16, $16)",
    )
    .bind(user.id.0.to_string())
    .bind(user.username.as_str())
    .bind(user.display_name.as_str())
    .bind(search_key(&user.display_name))
    .bind(user.first_name.as_deref())
    .bind(user.last_name.as_deref())
    .bind(user.email.as_ref().map(EmailAddress::as_str))
    .bind(user.alternate_email.as_ref().map(EmailAddress::as_str))
    .bind(user.mobile_phone.as_ref().map(PhoneNumber::as_str))
    .bind(user.office_phone.as_ref().map(PhoneNumber::as_str))
    .bind(roles_text(&user.roles))
    .bind(bool_int(user.enabled))
    .bind(user.source.as_str())
    .bind(user.password_hash.as_ref().map(PasswordHash::as_phc))
    // A user created with a password has set it now.
    .bind(user.password_hash.as_ref().map(|_| now))
    .bind(now)
    .execute(on)
    .await
    .map_err(|e| {
        error::write(e, Violation::Unique, || {
            StoreError::Conflict(format!("a user named {} already exists", user.username))
        })
    })?;
    Ok(())
}

async fn select_by_id<'e>(
    on: impl Into<db::On<'e>>,
    id: UserId,
) -> Result<Option<User>, StoreError> {
    db::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id.0.to_string())
    .fetch_optional(on)
    .await
    .map_err(error::db)?
    .as_ref()
    .map(decode)
    .transpose()
}

impl SqlStore {
    pub(crate) async fn create_user_impl(
        &self,
        user: &NewUser,
        audit: &AuditEvent,
    ) -> Result<User, StoreError> {
        let mut tx = self.begin().await?;
        insert(&mut tx, user, now_ms()).await?;
        let created = select_by_id(&mut tx, user.id)
            .await?
            .ok_or_else(|| corrupt("a user just inserted cannot be read back"))?;
        commit_audited(tx, audit).await?;
        Ok(created)
    }

    pub(crate) async fn create_users_impl(
        &self,
        users: &[NewUser],
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        for user in users {
            // An error returns early and drops `tx`, which rolls back every insert so far.
            insert(&mut tx, user, now).await?;
        }
        commit_audited(tx, audit).await
    }

    pub(crate) async fn get_user_impl(&self, id: UserId) -> Result<Option<User>, StoreError> {
        select_by_id(&self.db, id).await
    }

    /// The user whose username or email address is `login` (already lower-cased). More than
    /// one match (a username equal to another user's email) finds nobody: a reset must be
    /// about exactly one person.
    pub(crate) async fn find_user_by_login_impl(
        &self,
        login: &str,
    ) -> Result<Option<User>, StoreError> {
        let found = db::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = $1 OR lower(email) = $1 LIMIT 2"
        ))
        .bind(login)
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?;
        match found.as_slice() {
            [one] => Ok(Some(decode(one)?)),
            _ => Ok(None),
        }
    }

    pub(crate) async fn find_user_impl(
        &self,
        username: &Username,
    ) -> Result<Option<User>, StoreError> {
        db::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.db)
        .await
        .map_err(error::db)?
        .as_ref()
        .map(decode)
        .transpose()
    }

    pub(crate) async fn list_users_impl(
        &self,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<User>, StoreError> {
        let search = search.map(str::trim).unwrap_or_default().to_lowercase();
        // `username` is stored lower-case already.
        db::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username LIKE $1 ESCAPE '\\' OR display_name_lower LIKE $1 ESCAPE '\\' \
             ORDER BY username LIMIT $2 OFFSET $3"
        ))
        .bind(contains_pattern(&search))
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(decode)
        .collect()
    }

    pub(crate) async fn search_users_impl(
        &self,
        search: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Page<User>, StoreError> {
        let search = search.map(str::trim).unwrap_or_default().to_lowercase();
        let pattern = contains_pattern(&search);
        // Email addresses are ASCII in practice, so SQL `LOWER` (ASCII-only on SQLite) is
        // enough for them; usernames and display names are lower-cased in Rust on write.
        const WHERE: &str = "username LIKE $1 ESCAPE '\\' OR display_name_lower LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\'";
        let items = db::query(db::Dynamic(format!(
            "SELECT {} FROM users WHERE {WHERE} ORDER BY username LIMIT $2 OFFSET $3",
            user_columns!()
        )))
        .bind(pattern.clone())
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.db)
        .await
        .map_err(error::db)?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
        let total = db::query(db::Dynamic(format!(
            "SELECT COUNT(*) AS n FROM users WHERE {WHERE}"
        )))
        .bind(pattern)
        .fetch_one(&self.db)
        .await
        .map_err(error::db)?;
        let total: i64 = rows::get(&total, "n")?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    pub(crate) async fn require_reregistration_impl(
        &self,
        id: UserId,
        audit: &AuditEvent,
    ) -> Result<u64, StoreError> {
        let id_text = id.0.to_string();
        let mut tx = self.begin().await?;
        let found = db::query(
            "UPDATE users SET registration_confirmed_at_ms = NULL, \
             registration_prompted_at_ms = NULL, updated_at_ms = $2 WHERE id = $1",
        )
        .bind(&id_text)
        .bind(now_ms())
        .execute(&mut tx)
        .await
        .map_err(error::db)?;
        if found.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let removed = db::query("DELETE FROM methods WHERE user_id = $1")
            .bind(&id_text)
            .execute(&mut tx)
            .await
            .map_err(error::db)?
            .rows_affected();
        let mut audit = audit.clone();
        audit.details = serde_json::json!({ "methods_removed": removed });
        commit_audited(tx, &audit).await?;
        Ok(removed)
    }

    pub(crate) async fn update_profile_impl(
        &self,
        id: UserId,
        update: &ProfileUpdate,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let done = db::query(
            "UPDATE users SET display_name = $2, display_name_lower = $3, first_name = $4, \
             last_name = $5, email = $6, alternate_email = $7, mobile_phone = $8, \
             office_phone = $9, roles = $10, enabled = $11, updated_at_ms = $12 WHERE id = $1",
        )
        .bind(id.0.to_string())
        .bind(update.display_name.as_str())
        .bind(search_key(&update.display_name))
        .bind(update.first_name.as_deref())
        .bind(update.last_name.as_deref())
        .bind(update.email.as_ref().map(EmailAddress::as_str))
        .bind(update.alternate_email.as_ref().map(EmailAddress::as_str))
        .bind(update.mobile_phone.as_ref().map(PhoneNumber::as_str))
        .bind(update.office_phone.as_ref().map(PhoneNumber::as_str))
        .bind(roles_text(&update.roles))
        .bind(bool_int(update.enabled))
        .bind(now_ms())
        .execute(&mut tx)
        .await
        .map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        commit_audited(tx, audit).await
    }

    pub(crate) async fn set_password_impl(
        &self,
        id: UserId,
        hash: &PasswordHash,
        keep_history: u8,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        write_password(&mut tx, self.backend, id, hash, keep_history).await?;
        commit_audited(tx, audit).await
    }

    pub(crate) async fn password_history_impl(
        &self,
        id: UserId,
    ) -> Result<Vec<PasswordHash>, StoreError> {
        db::query("SELECT hash FROM password_history WHERE user_id = $1 ORDER BY id DESC")
            .bind(id.0.to_string())
            .fetch_all(&self.db)
            .await
            .map_err(error::db)?
            .iter()
            .map(|row| rows::get::<String>(row, "hash").map(PasswordHash::from_phc))
            .collect()
    }

    pub(crate) async fn set_admin_locked_impl(
        &self,
        id: UserId,
        locked: bool,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let sql = if locked {
            "UPDATE users SET admin_locked = 1, updated_at_ms = $2 WHERE id = $1"
        } else {
            // Unlocking clears smart lockout too: the administrator means "let them in".
            "UPDATE users SET admin_locked = 0, failed_count = 0, lockout_count = 0, \
             locked_until_ms = NULL, updated_at_ms = $2 WHERE id = $1"
        };
        let mut tx = self.begin().await?;
        let done = db::query(sql)
            .bind(id.0.to_string())
            .bind(now_ms())
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        commit_audited(tx, audit).await
    }

    pub(crate) async fn update_lockout_impl(
        &self,
        id: UserId,
        expected: &LockoutState,
        new: &LockoutState,
        audit: Option<&AuditEvent>,
    ) -> Result<bool, StoreError> {
        // Compare-and-set: written only if the row still holds `expected`. A missing
        // locked_until compares as -1 (COALESCE), which works alike on both dialects.
        let query = db::query(
            "UPDATE users SET failed_count = $2, lockout_count = $3, locked_until_ms = $4, \
             updated_at_ms = $5 WHERE id = $1 AND failed_count = $6 AND lockout_count = $7 \
             AND COALESCE(locked_until_ms, -1) = $8",
        )
        .bind(id.0.to_string())
        .bind(i64::from(new.failed_count))
        .bind(i64::from(new.lockout_count))
        .bind(opt_to_ms(new.locked_until))
        .bind(now_ms())
        .bind(i64::from(expected.failed_count))
        .bind(i64::from(expected.lockout_count))
        .bind(opt_to_ms(expected.locked_until).unwrap_or(-1));
        let Some(audit) = audit else {
            let done = query.execute(&self.db).await.map_err(error::db)?;
            return Ok(done.rows_affected() == 1);
        };
        let mut tx = self.begin().await?;
        let done = query.execute(&mut tx).await.map_err(error::db)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        commit_audited(tx, audit).await?;
        Ok(true)
    }

    pub(crate) async fn set_registration_confirmed_impl(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        let done = db::query(
            "UPDATE users SET registration_confirmed_at_ms = $2, updated_at_ms = $3 WHERE id = $1",
        )
        .bind(id.0.to_string())
        .bind(opt_to_ms(at))
        .bind(now_ms())
        .execute(&self.db)
        .await
        .map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn set_registration_prompted_impl(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StoreError> {
        // Setting keeps the first mark (the skip window must not restart on every sign-in);
        // clearing always clears.
        let sql = if at.is_some() {
            "UPDATE users SET registration_prompted_at_ms = COALESCE(registration_prompted_at_ms, $2), \
             updated_at_ms = $3 WHERE id = $1"
        } else {
            "UPDATE users SET registration_prompted_at_ms = $2, updated_at_ms = $3 WHERE id = $1"
        };
        let done = db::query(sql)
            .bind(id.0.to_string())
            .bind(opt_to_ms(at))
            .bind(now_ms())
            .execute(&self.db)
            .await
            .map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn delete_user_impl(
        &self,
        id: UserId,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        // Memberships, sessions and password history go with the row (ON DELETE CASCADE).
        let done = db::query("DELETE FROM users WHERE id = $1")
            .bind(id.0.to_string())
            .execute(&mut tx)
            .await
            .map_err(error::db)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commit_audited(tx, audit).await?;
        Ok(true)
    }
}

/// Stores `hash` as the user's password in `tx`: the current one moves into the history,
/// which keeps `keep_history` entries, and the lockout counters are reset. (The caller
/// appends the audit record and commits.)
pub(crate) async fn write_password(
    tx: &mut Tx,
    backend: Backend,
    id: UserId,
    hash: &PasswordHash,
    keep_history: u8,
) -> Result<(), StoreError> {
    let id_text = id.0.to_string();
    let now = now_ms();
    // On PostgreSQL, first a write to the user's row: it takes the row lock, so a concurrent
    // password change waits instead of moving the same old hash into the history. SQLite's
    // `BEGIN IMMEDIATE` has already taken the database's write lock.
    if backend == Backend::Postgres {
        let found = db::query("UPDATE users SET updated_at_ms = $2 WHERE id = $1")
            .bind(&id_text)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(error::db)?;
        if found.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
    }
    db::query(
        "INSERT INTO password_history (user_id, hash, created_at_ms) \
         SELECT id, password_hash, $2 FROM users WHERE id = $1 AND password_hash IS NOT NULL",
    )
    .bind(&id_text)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(error::db)?;
    db::query(
        "DELETE FROM password_history WHERE user_id = $1 AND id NOT IN \
         (SELECT id FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2)",
    )
    .bind(&id_text)
    .bind(i64::from(keep_history))
    .execute(&mut *tx)
    .await
    .map_err(error::db)?;
    let done = db::query(
        "UPDATE users SET password_hash = $2, password_changed_at_ms = $3, \
         updated_at_ms = $3, failed_count = 0, lockout_count = 0, locked_until_ms = NULL \
         WHERE id = $1",
    )
    .bind(&id_text)
    .bind(hash.as_phc())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(error::db)?;
    // An unknown user: nothing was written (the transaction is rolled back on return).
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time_ms::to_ms;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(contains_pattern("ada"), "%ada%");
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(contains_pattern(""), "%%");
    }

    #[test]
    fn roles_are_comma_separated_names() {
        let roles: BTreeSet<_> = [AdminRole::UserAdmin, AdminRole::GlobalAdmin].into();
        assert_eq!(roles_text(&roles), "global_admin,user_admin");
        assert_eq!(roles_text(&BTreeSet::new()), "");
    }

    #[test]
    fn to_ms_truncates() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_234_567_899).unwrap();
        assert_eq!(to_ms(t), 1234);
    }
}
