//! Anchors the head of the platform's hash-chained audit log on the trade chain, so that
//! rewriting the log (even all of it, with recomputed hashes) is detectable against the
//! ledger. The server hands over every new head; a worker thread anchors the latest one
//! at most once per interval, as an `anchor` transaction signed by the platform key,
//! through a [`LedgerClient`] (the embedded node or a remote node's HTTP API).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use suanli_ledger::Payload;
use suanli_ledger::anchor::AnchorRecord;
use suanli_ledger_client::LedgerClient;
use suanli_platform_http::PortError;
use suanli_primitives::{ChainKind, Hash32, SecretKey};

use crate::BridgeError;

/// Shortest time between two anchors, in milliseconds.
pub const ANCHOR_INTERVAL_MS: u64 = 2_000;
/// Longest to wait for an anchor to commit, in milliseconds.
const COMMIT_TIMEOUT_MS: u64 = 5_000;

#[derive(Debug, Default)]
struct Slot {
    latest: Option<(u64, [u8; 32])>,
    anchored: Option<u64>,
    stopping: bool,
}

/// The `AuditAnchor` the platform server calls on every appended audit record.
#[derive(Debug)]
pub struct LedgerAnchor {
    slot: Arc<(Mutex<Slot>, Condvar)>,
}

impl LedgerAnchor {
    /// Starts the worker thread; it runs until the anchor is dropped.
    pub fn start(ledger: Arc<dyn LedgerClient>, key: SecretKey) -> Result<Self, BridgeError> {
        let slot: Arc<(Mutex<Slot>, Condvar)> = Arc::default();
        let worker_slot = Arc::clone(&slot);
        std::thread::Builder::new()
            .name("audit-anchor".into())
            .spawn(move || worker(&worker_slot, ledger.as_ref(), &key))
            .map_err(BridgeError::Thread)?;
        Ok(LedgerAnchor { slot })
    }
}

impl LedgerAnchor {
    /// Waits until the latest head handed over is anchored (submitted to the ledger);
    /// returns it, or `None` after `timeout`.
    pub fn wait_anchored(&self, timeout: Duration) -> Option<(u64, [u8; 32])> {
        let deadline = std::time::Instant::now() + timeout;
        let mut s = self.slot.0.lock();
        loop {
            if let Some((seq, hash)) = s.latest
                && s.anchored == Some(seq)
            {
                return Some((seq, hash));
            }
            if self.slot.1.wait_until(&mut s, deadline).timed_out() {
                return None;
            }
        }
    }
}

impl Drop for LedgerAnchor {
    fn drop(&mut self) {
        self.slot.0.lock().stopping = true;
        self.slot.1.notify_all();
    }
}

impl suanli_platform_http::AuditAnchor for LedgerAnchor {
    fn anchor(&self, seq: u64, hash: [u8; 32]) -> Result<(), PortError> {
        let mut slot = self.slot.0.lock();
        if slot.latest.is_none_or(|(s, _)| seq > s) {
            slot.latest = Some((seq, hash));
        }
        self.slot.1.notify_all();
        Ok(())
    }
}

fn worker(slot: &(Mutex<Slot>, Condvar), ledger: &dyn LedgerClient, key: &SecretKey) {
    let mut anchored: Option<u64> = None;
    loop {
        let next = {
            let mut s = slot.0.lock();
            // Sleep while there is nothing new: no head yet, or the latest is anchored.
            while !s.stopping && s.latest.is_none_or(|(seq, _)| Some(seq) == anchored) {
                slot.1.wait(&mut s);
            }
            if s.stopping {
                return;
            }
            s.latest
        };
        let Some((seq, hash)) = next else {
            continue;
        };
        match submit(ledger, key, seq, hash) {
            Ok(()) => {
                anchored = Some(seq);
                slot.0.lock().anchored = Some(seq);
                slot.1.notify_all();
                tracing::info!(seq, head = %Hash32::from_bytes(hash), "audit head anchored on the trade chain");
            }
            Err(e) => tracing::warn!(seq, error = %e, "audit anchoring failed; will retry"),
        }
        // The interval between anchors; a drop of the anchor ends it early, so the worker
        // lets go of the ledger promptly.
        let rest = std::time::Instant::now() + Duration::from_millis(ANCHOR_INTERVAL_MS);
        let mut s = slot.0.lock();
        while !s.stopping && !slot.1.wait_until(&mut s, rest).timed_out() {}
        if s.stopping {
            return;
        }
    }
}

/// The label of the anchor of audit record `seq`.
pub fn anchor_label(seq: u64) -> String {
    format!("suanli-audit-head seq={seq}")
}

/// Anchored means committed: a head still in the mempool could be lost.
fn submit(
    ledger: &dyn LedgerClient,
    key: &SecretKey,
    seq: u64,
    hash: [u8; 32],
) -> Result<(), BridgeError> {
    let record = AnchorRecord::new(&anchor_label(seq), Hash32::from_bytes(hash))?;
    ledger.transact(
        ChainKind::Trade,
        key,
        Payload::Anchor(record),
        Duration::from_millis(COMMIT_TIMEOUT_MS),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use suanli_platform_http::AuditAnchor;

    use super::*;

    fn committed_anchor(
        node: &suanli_node::Node,
        key: &suanli_primitives::PublicKey,
    ) -> Option<Vec<u8>> {
        let nonce = node.next_nonce(ChainKind::Trade, key).checked_sub(1)?;
        node.state_get(
            ChainKind::Trade,
            &suanli_ledger::anchor::anchor_key(key, nonce),
        )
    }

    fn wait_for_anchor(node: &suanli_node::Node, key: &suanli_primitives::PublicKey) -> Vec<u8> {
        for _ in 0..500 {
            if let Some(v) = committed_anchor(node, key) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no anchor committed");
    }

    #[test]
    fn anchors_the_latest_head_on_an_embedded_and_a_remote_node() {
        let dir = tempfile::tempdir().unwrap();
        let (node, producers) = suanli_ledger_client::embedded::open_node(
            dir.path(),
            "suanli-test",
            None,
            suanli_ledger::MempoolConfig {
                block_interval_ms: 5,
                ..Default::default()
            },
        )
        .unwrap();

        let key = SecretKey::from_label("platform/embedded");
        let anchor =
            LedgerAnchor::start(Arc::clone(&node) as Arc<dyn LedgerClient>, key.clone()).unwrap();
        anchor.anchor(3, [3; 32]).unwrap();
        anchor.anchor(2, [2; 32]).unwrap(); // an older head never replaces a newer one
        assert_eq!(
            anchor.wait_anchored(Duration::from_secs(10)),
            Some((3, [3; 32]))
        );
        let value = wait_for_anchor(&node, &key.public());
        let stored = suanli_ledger::anchor::StoredAnchor::decode(&value).unwrap();
        assert_eq!(stored.digest.as_bytes(), &[3; 32]);
        assert_eq!(stored.label, "suanli-audit-head seq=3");

        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(suanli_node_http::serve(
            Arc::clone(&node),
            suanli_node_http::Access::tokens(&["member-token-0123456789"]),
            listener,
            std::future::pending(),
        ));
        let remote_key = SecretKey::from_label("platform/remote");
        let remote = LedgerAnchor::start(
            Arc::new(suanli_ledger_client::HttpLedger::new(
                &base,
                Some("member-token-0123456789"),
            )),
            remote_key.clone(),
        )
        .unwrap();
        remote.anchor(7, [7; 32]).unwrap();
        assert_eq!(
            remote.wait_anchored(Duration::from_secs(10)),
            Some((7, [7; 32]))
        );
        let value = wait_for_anchor(&node, &remote_key.public());
        let stored = suanli_ledger::anchor::StoredAnchor::decode(&value).unwrap();
        assert_eq!(stored.digest.as_bytes(), &[7; 32]);

        node.stop();
        producers.into_iter().for_each(|p| p.join().unwrap());
    }
}
