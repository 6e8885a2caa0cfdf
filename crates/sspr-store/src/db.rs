//! How a statement reaches either database: one query API over PostgreSQL (sqlx's `Any`
//! driver and its pool) and SQLite (one rusqlite connection, run in place).
//!
//! Why SQLite does not go through sqlx: sqlx runs each SQLite connection on a thread of its
//! own and hands every statement, and every `BEGIN` and `COMMIT`, to that thread and the
//! answer back. On a small server each hand-over is two thread wake-ups, and under load those
//! wake-ups, not the SQL, were most of the CPU a reset flow cost besides its password hashes
//! (docs/benchmarks.md). Here a SQLite statement runs on the task's own thread while the task
//! holds the connection's (async) lock: a statement on a small table takes microseconds, and
//! a commit waits for its `fsync` (`synchronous = FULL`) on that thread. SQLite writes one
//! transaction at a time whatever the number of connections, so one connection loses only
//! parallel reads: a long read (a large report or export) makes the statements behind it wait,
//! and holds the thread it runs on until it is done.
//!
//! SQL is written once for both (`$1`, `$2`, … parameters: SQLite reads `$1` as a parameter
//! named "$1", and [`bind_lite`] binds by that name, so a number may repeat or come in any
//! order, as in PostgreSQL). Values are the store's conventions (see the crate comment):
//! integers, text and NULL, where a NULL keeps the type PostgreSQL needs to know.

use std::sync::Arc;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyPool};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// An error from either driver, or a value of the wrong type in a SQLite row.
#[derive(Debug)]
pub(crate) enum DbError {
    Sqlx(sqlx::Error),
    Lite(rusqlite::Error),
    Decode(String),
    /// The store was closed ([`Db::close`]).
    Closed,
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        DbError::Sqlx(e)
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Lite(e)
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Sqlx(e) => e.fmt(f),
            DbError::Lite(e) => e.fmt(f),
            DbError::Decode(m) => f.write_str(m),
            DbError::Closed => f.write_str("the database is closed"),
        }
    }
}

/// The SQLite connection, shared by the store's clones; `None` once closed.
pub(crate) type LiteConn = Arc<Mutex<Option<rusqlite::Connection>>>;

/// The SQLite connection, locked.
type Locked = OwnedMappedMutexGuard<Option<rusqlite::Connection>, rusqlite::Connection>;

/// Where statements run outside a transaction.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Any(AnyPool),
    Lite(LiteConn),
}

/// An open transaction. Dropped without [`Tx::commit`], it is rolled back: sqlx's by sqlx,
/// SQLite's at once, before the connection's lock is released.
pub(crate) enum Tx {
    Any(sqlx::Transaction<'static, Any>),
    Lite(LiteTx),
}

pub(crate) struct LiteTx(Locked);

impl Drop for LiteTx {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            // Nothing to report to: the caller has already returned the error that ended it.
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

impl Db {
    /// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite, which takes the write lock at
    /// once (waiting up to `busy_timeout` for another process, such as the CLI, to finish);
    /// a deferred transaction that reads first would have to upgrade its lock later, and
    /// SQLite refuses that upgrade without waiting when another connection wrote in between.
    pub(crate) async fn begin(&self) -> Result<Tx, DbError> {
        match self {
            Db::Any(pool) => Ok(Tx::Any(pool.begin().await?)),
            Db::Lite(conn) => {
                let guard = lock(conn).await?;
                guard.execute_batch("BEGIN IMMEDIATE")?;
                Ok(Tx::Lite(LiteTx(guard)))
            }
        }
    }

    /// Closes the pool or the connection (after the statements running on it); every later
    /// query fails as the database being unavailable.
    pub(crate) async fn close(&self) {
        match self {
            Db::Any(pool) => pool.close().await,
            Db::Lite(conn) => drop(conn.lock().await.take()),
        }
    }
}

/// The SQLite connection, with any transaction a panic left open rolled back.
async fn lock(conn: &LiteConn) -> Result<Locked, DbError> {
    let guard = OwnedMutexGuard::try_map(Arc::clone(conn).lock_owned().await, Option::as_mut)
        .map_err(|_| DbError::Closed)?;
    if !guard.is_autocommit() {
        let _ = guard.execute_batch("ROLLBACK");
    }
    Ok(guard)
}

impl Tx {
    pub(crate) async fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Any(tx) => Ok(tx.commit().await?),
            // A failed COMMIT leaves the transaction open; dropping `tx` then rolls it back.
            Tx::Lite(tx) => Ok(tx.0.execute_batch("COMMIT")?),
        }
    }
}

/// What a query runs on: the pool or connection, or an open transaction.
pub(crate) enum On<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> Self {
        On::Db(db)
    }
}

impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        On::Tx(tx)
    }
}

/// A value bound to a parameter.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

/// What can be bound: the store binds integers and text only (see the crate comment).
pub(crate) trait Bind {
    fn value(self) -> Value;
}

impl Bind for i64 {
    fn value(self) -> Value {
        Value::Int(self)
    }
}

impl Bind for String {
    fn value(self) -> Value {
        Value::Text(self)
    }
}

impl Bind for &str {
    fn value(self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl Bind for &String {
    fn value(self) -> Value {
        Value::Text(self.clone())
    }
}

impl Bind for Option<i64> {
    fn value(self) -> Value {
        self.map_or(Value::NullInt, Value::Int)
    }
}

impl Bind for Option<String> {
    fn value(self) -> Value {
        self.map_or(Value::NullText, Value::Text)
    }
}

impl Bind for Option<&str> {
    fn value(self) -> Value {
        self.map_or(Value::NullText, |s| Value::Text(s.to_owned()))
    }
}

impl Bind for Option<&String> {
    fn value(self) -> Value {
        self.map_or(Value::NullText, |s| Value::Text(s.clone()))
    }
}

/// SQL text: a literal, or text assembled at run time from fixed pieces ([`dynamic`]).
enum Sql {
    Static(&'static str),
    Dynamic(String),
}

impl Sql {
    fn as_str(&self) -> &str {
        match self {
            Sql::Static(s) => s,
            Sql::Dynamic(s) => s,
        }
    }
}

/// SQL assembled at run time. Only fixed fragments may go into it, never a value: values are
/// bound. (The same speed bump as sqlx's `AssertSqlSafe`.)
pub(crate) struct Dynamic(pub(crate) String);

impl From<&'static str> for Sql {
    fn from(s: &'static str) -> Self {
        Sql::Static(s)
    }
}

impl From<Dynamic> for Sql {
    fn from(s: Dynamic) -> Self {
        Sql::Dynamic(s.0)
    }
}

/// A statement with its bound values.
#[must_use = "a query does nothing until it is executed or fetched"]
pub(crate) struct Query {
    sql: Sql,
    args: Vec<Value>,
}

#[allow(private_bounds)]
pub(crate) fn query(sql: impl Into<Sql>) -> Query {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

/// What an `execute` changed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Done(u64);

impl Done {
    pub(crate) fn rows_affected(&self) -> u64 {
        self.0
    }
}

/// A row of either driver.
pub(crate) enum Row {
    Any(AnyRow),
    Lite(LiteRow),
}

/// A SQLite row, read out of its statement (whose rows borrow it).
pub(crate) struct LiteRow {
    columns: Arc<[String]>,
    values: Vec<rusqlite::types::Value>,
}

impl LiteRow {
    fn value(&self, column: &str) -> Result<&rusqlite::types::Value, DbError> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| DbError::Decode(format!("no column {column:?} in the row")))
    }
}

/// A column's value as a Rust type.
pub(crate) trait Decode: Sized {
    fn from_any(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error>;
    fn from_lite(value: &rusqlite::types::Value) -> Option<Self>;
}

impl Decode for i64 {
    fn from_any(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn from_lite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
}

impl Decode for String {
    fn from_any(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn from_lite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl<T: Decode> Decode for Option<T>
where
    Option<T>: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    fn from_any(row: &AnyRow, column: &str) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(row, column)
    }
    fn from_lite(value: &rusqlite::types::Value) -> Option<Self> {
        match value {
            rusqlite::types::Value::Null => Some(None),
            v => T::from_lite(v).map(Some),
        }
    }
}

impl Row {
    pub(crate) fn get<T: Decode>(&self, column: &str) -> Result<T, DbError> {
        match self {
            Row::Any(row) => Ok(T::from_any(row, column)?),
            Row::Lite(row) => {
                let value = row.value(column)?;
                T::from_lite(value).ok_or_else(|| {
                    DbError::Decode(format!(
                        "column {column:?} holds {value:?}, not a {}",
                        std::any::type_name::<T>()
                    ))
                })
            }
        }
    }
}

impl Query {
    pub(crate) fn bind(mut self, value: impl Bind) -> Self {
        self.args.push(value.value());
        self
    }

    pub(crate) async fn execute<'a>(self, on: impl Into<On<'a>>) -> Result<Done, DbError> {
        match on.into() {
            On::Db(Db::Any(pool)) => Ok(Done(self.any().execute(pool).await?.rows_affected())),
            On::Tx(Tx::Any(tx)) => Ok(Done(self.any().execute(&mut **tx).await?.rows_affected())),
            On::Db(Db::Lite(conn)) => self.lite_execute(&*lock(conn).await?),
            On::Tx(Tx::Lite(tx)) => self.lite_execute(&tx.0),
        }
    }

    pub(crate) async fn fetch_all<'a>(self, on: impl Into<On<'a>>) -> Result<Vec<Row>, DbError> {
        let any = |rows: Vec<AnyRow>| rows.into_iter().map(Row::Any).collect();
        match on.into() {
            On::Db(Db::Any(pool)) => Ok(any(self.any().fetch_all(pool).await?)),
            On::Tx(Tx::Any(tx)) => Ok(any(self.any().fetch_all(&mut **tx).await?)),
            On::Db(Db::Lite(conn)) => self.lite_fetch(&*lock(conn).await?, usize::MAX),
            On::Tx(Tx::Lite(tx)) => self.lite_fetch(&tx.0, usize::MAX),
        }
    }

    pub(crate) async fn fetch_optional<'a>(
        self,
        on: impl Into<On<'a>>,
    ) -> Result<Option<Row>, DbError> {
        match on.into() {
            On::Db(Db::Any(pool)) => Ok(self.any().fetch_optional(pool).await?.map(Row::Any)),
            On::Tx(Tx::Any(tx)) => Ok(self.any().fetch_optional(&mut **tx).await?.map(Row::Any)),
            On::Db(Db::Lite(conn)) => Ok(self.lite_fetch(&*lock(conn).await?, 1)?.pop()),
            On::Tx(Tx::Lite(tx)) => Ok(self.lite_fetch(&tx.0, 1)?.pop()),
        }
    }

    pub(crate) async fn fetch_one<'a>(self, on: impl Into<On<'a>>) -> Result<Row, DbError> {
        self.fetch_optional(on)
            .await?
            .ok_or(DbError::Sqlx(sqlx::Error::RowNotFound))
    }

    /// The statement for sqlx, with each NULL typed as its column is.
    fn any(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        let mut q = match self.sql {
            Sql::Static(s) => sqlx::query(s),
            Sql::Dynamic(s) => sqlx::query(sqlx::AssertSqlSafe(s)),
        };
        for value in self.args {
            q = match value {
                Value::Int(i) => q.bind(i),
                Value::Text(s) => q.bind(s),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<String>),
            };
        }
        q
    }

    fn lite_execute(&self, conn: &rusqlite::Connection) -> Result<Done, DbError> {
        let mut stmt = conn.prepare_cached(self.sql.as_str())?;
        bind_lite(&mut stmt, &self.args)?;
        // Stepped through rather than `raw_execute`, which refuses a statement that returns
        // rows (an `UPDATE … RETURNING` run for its effect).
        let mut rows = stmt.raw_query();
        while rows.next()?.is_some() {}
        drop(rows);
        Ok(Done(conn.changes()))
    }

    fn lite_fetch(&self, conn: &rusqlite::Connection, max: usize) -> Result<Vec<Row>, DbError> {
        let mut stmt = conn.prepare_cached(self.sql.as_str())?;
        bind_lite(&mut stmt, &self.args)?;
        let columns: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let width = columns.len();
        let mut out = Vec::new();
        let mut rows = stmt.raw_query();
        while out.len() < max {
            let Some(row) = rows.next()? else { break };
            let values = (0..width)
                .map(|i| row.get::<_, rusqlite::types::Value>(i))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Row::Lite(LiteRow {
                columns: Arc::clone(&columns),
                values,
            }));
        }
        // Stopping early changes nothing a statement does: SQLite makes all of a `DELETE …
        // RETURNING`'s changes in its first step.
        Ok(out)
    }
}

/// Binds `args` to `$N` parameters by their number.
fn bind_lite(stmt: &mut rusqlite::CachedStatement<'_>, args: &[Value]) -> Result<(), DbError> {
    for index in 1..=stmt.parameter_count() {
        let number = stmt
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=args.len()).contains(n))
            .ok_or_else(|| {
                DbError::Decode(format!(
                    "parameter {:?} has no bound value",
                    stmt.parameter_name(index)
                ))
            })?;
        match &args[number - 1] {
            Value::Int(i) => stmt.raw_bind_parameter(index, i)?,
            Value::Text(s) => stmt.raw_bind_parameter(index, s)?,
            Value::NullInt | Value::NullText => {
                stmt.raw_bind_parameter(index, rusqlite::types::Null)?
            }
        }
    }
    Ok(())
}
