//! A local folder standing in for an S3 bucket (`<root>/<bucket>/<key>`), for `tryon run`.
//! Conditional writes are serialised by a lock, which is exact within one process.

use std::path::{Path, PathBuf};

use tryon::adapters::storage::{PutCondition, Storage, StorageError, StoredObject};

pub struct FsStorage {
    root: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FsStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStorage { root: root.into(), lock: tokio::sync::Mutex::new(()) }
    }

    /// The file behind a key; keys that could escape the root are refused.
    pub fn path(&self, bucket: &str, key: &str) -> Result<PathBuf, StorageError> {
        let bad = |s: &str| s.is_empty() || s == "." || s == ".." || s.contains('\\');
        if bad(bucket) || bucket.contains('/') || key.starts_with('/') || key.split('/').any(bad) {
            return Err(StorageError::other(format!("key {key:?} cannot be stored in a folder")));
        }
        Ok(self.root.join(bucket).join(key))
    }
}

/// A content hash standing in for S3's ETag (FNV-1a, quoted like S3's).
pub fn etag_of(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("\"{h:016x}{:08x}\"", bytes.len())
}

async fn read(path: &Path) -> Result<Vec<u8>, StorageError> {
    tokio::fs::read(path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StorageError::NotFound,
        _ => StorageError::other(format!("{}: {e}", path.display())),
    })
}

impl Storage for FsStorage {
    async fn delete(&self, bucket: &str, key: &str) -> Result<(), StorageError> {
        let path = self.path(bucket, key)?;
        let _guard = self.lock.lock().await;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::other(format!("{}: cannot delete: {e}", path.display()))),
        }
    }

    async fn get(&self, bucket: &str, key: &str, max_bytes: u64) -> Result<StoredObject, StorageError> {
        let path = self.path(bucket, key)?;
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.is_dir() => return Err(StorageError::NotFound),
            Ok(m) if m.len() > max_bytes => return Err(StorageError::TooLarge { size: m.len() }),
            _ => {}
        }
        let bytes = read(&path).await?;
        Ok(StoredObject { etag: etag_of(&bytes), bytes, version_id: None })
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        condition: PutCondition<'_>,
    ) -> Result<String, StorageError> {
        let path = self.path(bucket, key)?;
        let _guard = self.lock.lock().await;
        match condition {
            PutCondition::Always => {}
            PutCondition::IfAbsent => {
                // When existence cannot be told, writing could overwrite a claim: refuse.
                let exists = tokio::fs::try_exists(&path).await.map_err(|e| {
                    StorageError::other(format!("{}: cannot tell whether it exists: {e}", path.display()))
                })?;
                if exists {
                    return Err(StorageError::PreconditionFailed);
                }
            }
            PutCondition::IfMatch(etag) => {
                if etag_of(&read(&path).await?) != etag {
                    return Err(StorageError::PreconditionFailed);
                }
            }
        }
        let io = |e: std::io::Error| StorageError::other(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let tmp = path.with_extension("tryon-tmp");
        let etag = etag_of(&body);
        tokio::fs::write(&tmp, body).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(etag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_if_absent_refuses_when_it_cannot_tell_whether_the_object_exists() {
        let root = std::env::temp_dir().join(format!("tryon-local-{}", std::process::id()));
        let store = FsStorage::new(&root);
        let key = "outputs/j/status.json";
        let path = store.path("b", key).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A symlink to itself: asking whether it exists fails (ELOOP), yet a rename would
        // replace it, which is what the old "treat unknown as absent" did.
        std::os::unix::fs::symlink(&path, &path).unwrap();
        let r = store.put("b", key, b"{}".to_vec(), "application/json", PutCondition::IfAbsent).await;
        assert!(matches!(&r, Err(StorageError::Other { message, .. }) if message.contains("cannot tell")), "{r:?}");
        assert!(std::fs::symlink_metadata(&path).unwrap().file_type().is_symlink(), "nothing was overwritten");
        std::fs::remove_dir_all(&root).ok();
    }
}
