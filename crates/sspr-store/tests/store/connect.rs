//! Connecting: URLs, file creation, and errors that say what is wrong.

use sspr_core::ports::{Store, StoreError};
use sspr_store::{Backend, SqlStore};

#[test]
fn backends_are_named_by_the_url() {
    assert_eq!(
        Backend::from_url("sqlite:///var/lib/sspr/sspr.db"),
        Some(Backend::Sqlite)
    );
    assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
    assert_eq!(
        Backend::from_url("postgres://u@h/db"),
        Some(Backend::Postgres)
    );
    assert_eq!(
        Backend::from_url("postgresql://u@h/db"),
        Some(Backend::Postgres)
    );
    assert_eq!(Backend::from_url("mysql://u@h/db"), None);
    assert_eq!(Backend::from_url("sspr.db"), None);
}

#[tokio::test]
async fn an_unsupported_url_is_refused() {
    let err = SqlStore::connect("mysql://root@127.0.0.1/sspr", 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("unsupported")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_broken_server_is_unavailable() {
    // Something that accepts connections and hangs up at once. (A refused connection would
    // be retried until the pool's acquire timeout, as a database that is still starting.)
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            drop(socket);
        }
    });
    let err = SqlStore::connect(&format!("postgres://postgres@127.0.0.1:{port}/sspr"), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    server.abort();
}

#[tokio::test]
async fn a_missing_sqlite_file_is_created_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    // No `mode=rwc`: the store adds it.
    let url = format!("sqlite://{}", path.display());
    let store = SqlStore::connect(&url, 2).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert!(path.exists());
    store.close().await;

    let db = crate::harness::Db {
        url: format!("{url}?mode=rw"),
        backend: Backend::Sqlite,
    };
    assert_eq!(db.fetch_text("PRAGMA journal_mode").await, "wal");
}

#[tokio::test]
async fn a_relative_sqlite_path_works() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    // Only this test uses relative paths, so moving the process elsewhere harms nobody.
    std::env::set_current_dir(dir.path()).unwrap();
    let connected = SqlStore::connect("sqlite://relative.db", 1).await;
    std::env::set_current_dir(cwd).unwrap();
    let store = connected.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    assert!(dir.path().join("relative.db").exists());
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_one_database() {
    use sspr_core::audit::events;
    // Asked for four connections, but an in-memory database exists per connection.
    let store = SqlStore::connect("sqlite::memory:", 4).await.unwrap();
    store.migrate().await.unwrap();
    let ada = crate::harness::new_user("ada");
    store
        .create_user(&ada, &crate::harness::event(events::ADD_USER, "ada"))
        .await
        .unwrap();
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = store.clone();
        reads.spawn(async move { store.get_user(ada.id).await.unwrap().is_some() });
    }
    assert!(reads.join_all().await.into_iter().all(|found| found));
}

#[tokio::test]
async fn a_closed_sqlite_store_is_unavailable_to_every_clone() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqlStore::connect(&format!("sqlite://{}/sspr.db", dir.path().display()), 1)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let clone = store.clone();
    store.close().await;
    for s in [&store, &clone] {
        let err = s.ping().await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Unavailable(m) if m.contains("closed")),
            "{err:?}"
        );
        let err = s.policy().await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
        assert!(matches!(s.migrate().await, Err(StoreError::Unavailable(_))));
    }
}
