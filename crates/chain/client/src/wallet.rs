//! The files a party keeps beside its key: PKCS#8 key files, JSON inputs (claims,
//! credentials, schemas), and the per-issuer status-list counter that hands out each
//! revocation slot once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use suanli_identity::DidId;
use suanli_primitives::SecretKey;

use crate::error::{ClientError, ensure};

/// Largest credential, presentation, claims or schema file read, in bytes.
pub const INPUT_FILE_BYTES_MAX: u64 = 64 * 1024;
/// How long to wait for another issuance to release the counter, in milliseconds.
const SLOT_LOCK_WAIT_MS: u64 = 5_000;

/// Reads a key file.
pub fn load_key(path: &Path) -> Result<SecretKey, ClientError> {
    SecretKey::load(path).map_err(|source| ClientError::KeyFile {
        path: path.to_owned(),
        source,
    })
}

/// Reads a JSON file of at most [`INPUT_FILE_BYTES_MAX`] bytes.
pub fn read_json(path: &Path) -> Result<Value, ClientError> {
    let read = |source| ClientError::Read {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    ensure!(
        meta.len() <= INPUT_FILE_BYTES_MAX,
        "{} is {} bytes; at most {INPUT_FILE_BYTES_MAX} are accepted",
        path.display(),
        meta.len()
    );
    let text = std::fs::read_to_string(path).map_err(read)?;
    serde_json::from_str(&text).map_err(|source| ClientError::Json {
        path: path.to_owned(),
        source,
    })
}

/// Now, by the system clock, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    use suanli_primitives::time::{Clock, SystemClock};
    SystemClock.now_ms()
}

/// An exclusive lock file (created with O_EXCL, removed on drop), so two concurrent
/// issuances never read the same counter value.
#[derive(Debug)]
struct SlotLock(PathBuf);

impl SlotLock {
    fn acquire(path: &Path) -> Result<Self, ClientError> {
        let deadline = Instant::now() + Duration::from_millis(SLOT_LOCK_WAIT_MS);
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(_) => return Ok(SlotLock(path.to_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    ensure!(
                        Instant::now() < deadline,
                        "{} is held by another issuance; if none is running, remove it",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(source) => {
                    return Err(ClientError::Write {
                        path: path.to_owned(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for SlotLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The next unused status-list slot `(list, index)` of an issuer DID, kept in
/// `<did id>.status-next` in the directory of the issuing key file (list 0 first, then
/// list 1, …), so a rotated key kept beside the old one continues the same sequence.
/// Allocated before signing and persisted at once: a crash can waste an index but never
/// hand one out twice.
pub fn next_status_slot(key_path: &Path, issuer: &DidId) -> Result<(u16, u32), ClientError> {
    let dir = key_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let path = dir.join(format!("{issuer}.status-next"));
    let _lock = SlotLock::acquire(&dir.join(format!("{issuer}.status-next.lock")))?;
    let used: u64 = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| ClientError::invalid(format!("{} is corrupt", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(source) => return Err(ClientError::Read { path, source }),
    };
    let bits = u64::from(suanli_identity::op::STATUS_LIST_BITS);
    let list = u16::try_from(used / bits).map_err(ClientError::invalid)?;
    ensure!(
        list < suanli_identity::op::STATUS_LISTS_MAX,
        "this issuer key has used every status list"
    );
    let tmp = dir.join(format!("{issuer}.status-next.tmp"));
    let write = |source| ClientError::Write {
        path: tmp.clone(),
        source,
    };
    std::fs::write(&tmp, (used + 1).to_string()).map_err(write)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(write)?;
    std::fs::rename(&tmp, &path).map_err(write)?;
    let index = u32::try_from(used % bits).map_err(ClientError::invalid)?;
    Ok((list, index))
}
