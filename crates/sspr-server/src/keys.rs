//! The server key file: 32 random bytes (hex), created at first start with mode 0600 in a
//! 0700 directory. An existing key that others can read is refused, like ssh does.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use sspr_core::crypto::ServerKey;

#[derive(Debug, thiserror::Error)]
#[error("key file {path}: {reason}")]
pub struct KeyError {
    path: String,
    reason: String,
}

fn err(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Loads the key, creating it first if the file does not exist.
pub fn load_or_create(path: &Path) -> Result<ServerKey, KeyError> {
    if !path.exists() {
        create(path)?;
    }
    let meta = fs::metadata(path).map_err(|e| err(path, e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(
            path,
            format!("is readable by other users (mode {mode:o}); run `chmod 600` on it"),
        ));
    }
    let text = fs::read_to_string(path).map_err(|e| err(path, e.to_string()))?;
    let bytes = hex::decode(text.trim()).map_err(|_| err(path, "does not hold 64 hex digits"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| err(path, "does not hold 64 hex digits (32 bytes)"))?;
    Ok(ServerKey::from_bytes(bytes))
}

fn create(path: &Path) -> Result<(), KeyError> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(path, format!("cannot create its directory: {e}")))?;
    }
    let key: [u8; 32] = rand::random();
    // create_new: two instances starting at once must not overwrite each other's key.
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(err(path, format!("cannot create: {e}"))),
    };
    file.write_all(format!("{}\n", hex::encode(key)).as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| err(path, format!("cannot write: {e}")))?;
    tracing::info!(path = %path.display(), "created a new server key");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_with_0600_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/server.key");
        let a = load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.keyed_hash(b"x"), b.keyed_hash(b"x"));
    }

    #[test]
    fn readable_keys_and_garbage_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.key");
        load_or_create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            load_or_create(&path)
                .unwrap_err()
                .to_string()
                .contains("chmod 600")
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "nothex").unwrap();
        assert!(
            load_or_create(&path)
                .unwrap_err()
                .to_string()
                .contains("hex")
        );
    }
}
