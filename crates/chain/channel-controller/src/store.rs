//! The controller's durable store (redb): per channel, its setup and the latest
//! dual-signed state. A batch of updates is one write transaction, committed with
//! `Durability::Immediate` (fsync) before the controller acknowledges any of them, so
//! many channels' updates share one fsync (group commit).

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use suanli_primitives::{Fen, Signature};
use suanli_trade::Serial;
use suanli_trade::channel::{SignedState, Statement};

use crate::{ChannelError, ChannelSetup};

const SETUPS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("setups");
const LATEST: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("latest");

/// File name of the store inside the controller's data directory.
pub const STORE_FILE: &str = "channels.redb";

fn db<E: Into<redb::Error>>(e: E) -> ChannelError {
    ChannelError::Store(e.into().to_string())
}

#[derive(Debug)]
pub struct Store {
    db: Database,
}

/// What the store holds for one channel.
#[derive(Debug, Clone)]
pub struct Stored {
    pub setup: ChannelSetup,
    pub latest: Option<SignedState>,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, ChannelError> {
        std::fs::create_dir_all(dir).map_err(|e| ChannelError::Store(e.to_string()))?;
        let database = Database::create(dir.join(STORE_FILE)).map_err(db)?;
        let w = database.begin_write().map_err(db)?;
        w.open_table(SETUPS).map_err(db)?;
        w.open_table(LATEST).map_err(db)?;
        w.commit().map_err(db)?;
        Ok(Store { db: database })
    }

    /// Every channel, with its latest state.
    pub fn load(&self) -> Result<Vec<Stored>, ChannelError> {
        let r = self.db.begin_read().map_err(db)?;
        let setups = r.open_table(SETUPS).map_err(db)?;
        let latest = r.open_table(LATEST).map_err(db)?;
        let mut out = Vec::new();
        for row in setups.iter().map_err(db)? {
            let (serial, bytes) = row.map_err(db)?;
            let setup: ChannelSetup = serde_json::from_slice(bytes.value())
                .map_err(|e| ChannelError::Store(format!("setup does not decode: {e}")))?;
            let state = latest
                .get(serial.value())
                .map_err(db)?
                .map(|b| decode_state(b.value()))
                .transpose()?;
            out.push(Stored {
                setup,
                latest: state,
            });
        }
        Ok(out)
    }

    /// Saves (replaces) setups, durably.
    pub fn put_setups(&self, setups: &[ChannelSetup]) -> Result<(), ChannelError> {
        let w = self.db.begin_write().map_err(db)?;
        {
            let mut t = w.open_table(SETUPS).map_err(db)?;
            for s in setups {
                let bytes =
                    serde_json::to_vec(s).map_err(|e| ChannelError::Store(e.to_string()))?;
                t.insert(s.terms.serial.as_bytes(), bytes.as_slice())
                    .map_err(db)?;
            }
        }
        w.commit().map_err(db)
    }

    /// Saves the latest states of a batch of channels in one durable commit. A state
    /// replaces the stored one only if its sequence number is greater, so concurrent
    /// batches can never make the store go back.
    pub fn put_latest(&self, states: &[SignedState]) -> Result<(), ChannelError> {
        if states.is_empty() {
            return Ok(());
        }
        let w = self.db.begin_write().map_err(db)?;
        {
            let mut t = w.open_table(LATEST).map_err(db)?;
            for s in states {
                let key = s.statement.serial.as_bytes();
                let stored_seq = t
                    .get(key)
                    .map_err(db)?
                    .map(|b| decode_state(b.value()).map(|d| d.statement.seq))
                    .transpose()?;
                if stored_seq.is_none_or(|seq| seq < s.statement.seq) {
                    t.insert(key, encode_state(s).as_slice()).map_err(db)?;
                }
            }
        }
        w.commit().map_err(db)
    }
}

/// Bytes of a stored state: serial 16 ‖ seq 8 ‖ minutes 8 ‖ cost 8 ‖ usage 32 ‖ close 1 ‖
/// supplier signature 64 ‖ consumer signature 64 (JSON of the close reason is avoided by
/// storing the statement's own close code).
const STATE_BYTES: usize = 16 + 8 + 8 + 8 + 32 + 1 + 64 + 64;

fn encode_state(s: &SignedState) -> Vec<u8> {
    let st = &s.statement;
    let mut out = Vec::with_capacity(STATE_BYTES);
    out.extend_from_slice(st.serial.as_bytes());
    out.extend_from_slice(&st.seq.to_be_bytes());
    out.extend_from_slice(&st.minutes.to_be_bytes());
    out.extend_from_slice(&st.cost_fen.get().to_be_bytes());
    out.extend_from_slice(&st.usage_sha256);
    out.push(suanli_trade::channel::close_code(st.close));
    out.extend_from_slice(s.supplier_signature.as_bytes());
    out.extend_from_slice(s.consumer_signature.as_bytes());
    out
}

fn decode_state(b: &[u8]) -> Result<SignedState, ChannelError> {
    let bad = || ChannelError::Store("a stored state does not decode".into());
    if b.len() != STATE_BYTES {
        return Err(bad());
    }
    let u64_at = |at: usize| {
        <[u8; 8]>::try_from(&b[at..at + 8])
            .map(u64::from_be_bytes)
            .map_err(|_| bad())
    };
    let serial = Serial::from_bytes(<[u8; 16]>::try_from(&b[0..16]).map_err(|_| bad())?);
    let statement = Statement {
        serial,
        seq: u64_at(16)?,
        minutes: u64_at(24)?,
        cost_fen: i64::try_from(u64_at(32)?)
            .ok()
            .and_then(|raw| Fen::new(raw).ok())
            .ok_or_else(bad)?,
        usage_sha256: <[u8; 32]>::try_from(&b[40..72]).map_err(|_| bad())?,
        close: suanli_trade::channel::close_from_code(b[72]).map_err(|_| bad())?,
    };
    Ok(SignedState {
        statement,
        supplier_signature: Signature::from_bytes(&b[73..137]).map_err(|_| bad())?,
        consumer_signature: Signature::from_bytes(&b[137..201]).map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use suanli_primitives::SecretKey;
    use suanli_trade::CloseReason;

    #[test]
    fn states_round_trip() {
        let k = SecretKey::from_label("k");
        let st = Statement {
            serial: Serial::from_bytes([3; 16]),
            seq: 9,
            minutes: 4,
            cost_fen: Fen::new(77).unwrap(),
            usage_sha256: [5; 32],
            close: Some(CloseReason::StoppedByConsumer),
        };
        let s = SignedState {
            statement: st,
            supplier_signature: st.sign(&k),
            consumer_signature: st.sign(&k),
        };
        assert_eq!(decode_state(&encode_state(&s)).unwrap(), s);
        assert!(decode_state(&encode_state(&s)[1..]).is_err());
    }

    #[test]
    fn the_store_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let k = SecretKey::from_label("k");
        let at = |seq: u64| {
            let st = Statement {
                serial: Serial::from_bytes([3; 16]),
                seq,
                minutes: seq,
                cost_fen: Fen::new(seq as i64).unwrap(),
                usage_sha256: [5; 32],
                close: None,
            };
            SignedState {
                statement: st,
                supplier_signature: st.sign(&k),
                consumer_signature: st.sign(&k),
            }
        };
        store.put_latest(&[at(5)]).unwrap();
        store.put_latest(&[at(3)]).unwrap();
        let r = store.db.begin_read().unwrap();
        let t = r.open_table(LATEST).unwrap();
        let got = decode_state(t.get(&[3u8; 16]).unwrap().unwrap().value()).unwrap();
        assert_eq!(got.statement.seq, 5);
    }
}
