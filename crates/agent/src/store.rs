//! The agent's one durable fact: which trades are done (closed on the chain and their
//! provisioning released), so later rounds skip them. One redb file; each mark is one
//! durable commit. Everything else the agent re-derives from the chain and the platform.

use crate::AgentError;
use redb::{Database, ReadableDatabase, TableDefinition};
use std::path::Path;
use suanli_trade::Serial;

/// The store's file under the agent's data directory.
pub const STORE_FILE: &str = "agent.redb";

const DONE: TableDefinition<&[u8; 16], u64> = TableDefinition::new("done");

fn db<E: Into<redb::Error>>(e: E) -> AgentError {
    AgentError::Store(e.into())
}

/// The trades the agent finished with.
#[derive(Debug)]
pub struct DoneStore {
    db: Database,
}

impl DoneStore {
    /// Opens (creating) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, AgentError> {
        std::fs::create_dir_all(dir).map_err(|source| AgentError::File {
            what: "data directory",
            path: dir.display().to_string(),
            source,
        })?;
        let database = Database::create(dir.join(STORE_FILE)).map_err(db)?;
        let w = database.begin_write().map_err(db)?;
        w.open_table(DONE).map_err(db)?;
        w.commit().map_err(db)?;
        Ok(DoneStore { db: database })
    }

    /// Whether `serial` is done.
    pub fn is_done(&self, serial: &Serial) -> Result<bool, AgentError> {
        let r = self.db.begin_read().map_err(db)?;
        let t = r.open_table(DONE).map_err(db)?;
        Ok(t.get(serial.as_bytes()).map_err(db)?.is_some())
    }

    /// Marks `serial` done at `at_ms` (durable when this returns).
    pub fn mark_done(&self, serial: &Serial, at_ms: u64) -> Result<(), AgentError> {
        let w = self.db.begin_write().map_err(db)?;
        {
            let mut t = w.open_table(DONE).map_err(db)?;
            t.insert(serial.as_bytes(), at_ms).map_err(db)?;
        }
        w.commit().map_err(db)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn marks_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let s = Serial::from_bytes([7; 16]);
        {
            let store = DoneStore::open(dir.path()).unwrap();
            assert!(!store.is_done(&s).unwrap());
            store.mark_done(&s, 5).unwrap();
        }
        let store = DoneStore::open(dir.path()).unwrap();
        assert!(store.is_done(&s).unwrap());
        assert!(!store.is_done(&Serial::from_bytes([8; 16])).unwrap());
    }
}
