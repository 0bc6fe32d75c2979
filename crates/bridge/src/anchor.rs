//! Anchors the head of the platform's hash-chained audit log on the trade chain, so that
//! rewriting the log (even all of it, with recomputed hashes) is detectable against the
//! ledger. The server hands over every new head; a worker thread anchors the latest one
//! at most once per interval, as an `anchor` transaction signed by the platform key,
//! either into the embedded node or to a remote node over its HTTP API.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use suanli_ledger::anchor::AnchorRecord;
use suanli_ledger::{Outcome, Payload, Transaction};
use suanli_node::{Node, TxStatus};
use suanli_primitives::{ChainId, ChainKind, Hash32, SecretKey};

/// Shortest time between two anchors, in milliseconds.
pub const ANCHOR_INTERVAL_MS: u64 = 2_000;
/// Longest to wait for an anchor to commit, in milliseconds.
const REMOTE_TIMEOUT_MS: u64 = 5_000;

/// Where anchors go.
#[derive(Debug, Clone)]
pub enum LedgerTarget {
    Embedded(Arc<Node>),
    /// A node's API: base URL (e.g. `http://127.0.0.1:7410`) and the member token the
    /// node requires, if any.
    Remote {
        url: String,
        token: Option<String>,
    },
}

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
    pub fn start(target: LedgerTarget, key: SecretKey) -> anyhow::Result<Self> {
        let slot: Arc<(Mutex<Slot>, Condvar)> = Arc::default();
        let worker_slot = Arc::clone(&slot);
        std::thread::Builder::new()
            .name("audit-anchor".into())
            .spawn(move || worker(&worker_slot, &target, &key))?;
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
    fn anchor(&self, seq: u64, hash: [u8; 32]) -> Result<(), String> {
        let mut slot = self.slot.0.lock();
        if slot.latest.is_none_or(|(s, _)| seq > s) {
            slot.latest = Some((seq, hash));
        }
        self.slot.1.notify_all();
        Ok(())
    }
}

fn worker(slot: &(Mutex<Slot>, Condvar), target: &LedgerTarget, key: &SecretKey) {
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
        match submit(target, key, seq, hash) {
            Ok(()) => {
                anchored = Some(seq);
                slot.0.lock().anchored = Some(seq);
                slot.1.notify_all();
                tracing::info!(seq, head = %Hash32::from_bytes(hash), "audit head anchored on the trade chain");
            }
            Err(e) => tracing::warn!(seq, error = %e, "audit anchoring failed; will retry"),
        }
        std::thread::sleep(Duration::from_millis(ANCHOR_INTERVAL_MS));
    }
}

/// The label of the anchor of audit record `seq`.
pub fn anchor_label(seq: u64) -> String {
    format!("suanli-audit-head seq={seq}")
}

fn submit(target: &LedgerTarget, key: &SecretKey, seq: u64, hash: [u8; 32]) -> anyhow::Result<()> {
    let record = AnchorRecord::new(&anchor_label(seq), Hash32::from_bytes(hash))?;
    match target {
        LedgerTarget::Embedded(node) => {
            let chain = node.chain_id(ChainKind::Trade);
            let nonce = node.next_nonce(ChainKind::Trade, &key.public());
            let tx = Transaction::sign(&chain, key, nonce, Payload::Anchor(record));
            let id = node.submit(tx)?;
            // Anchored means committed: a head still in the mempool could be lost.
            let status = node.wait(
                &id,
                ChainKind::Trade,
                Duration::from_millis(REMOTE_TIMEOUT_MS),
            )?;
            anyhow::ensure!(
                matches!(
                    status,
                    TxStatus::Committed {
                        outcome: Outcome::Applied,
                        ..
                    }
                ),
                "anchor transaction {id} ended as {status:?}"
            );
        }
        LedgerTarget::Remote { url: base, token } => {
            let bearer = token.as_ref().map(|t| format!("Bearer {t}"));
            let with_token = |r: ureq::RequestBuilder<ureq::typestate::WithoutBody>| match &bearer {
                Some(b) => r.header("authorization", b),
                None => r,
            };
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_millis(2 * REMOTE_TIMEOUT_MS)))
                .build()
                .into();
            let head: serde_json::Value =
                with_token(agent.get(&format!("{base}/v1/chains/trade/head")))
                    .call()?
                    .body_mut()
                    .read_json()?;
            let chain: ChainId = head["chain"].as_str().unwrap_or_default().parse()?;
            let nonces: serde_json::Value =
                with_token(agent.get(&format!("{base}/v1/chains/trade/nonces/{}", key.public())))
                    .call()?
                    .body_mut()
                    .read_json()?;
            let nonce = nonces["next_nonce"]
                .as_u64()
                .ok_or_else(|| anyhow::anyhow!("node answered without next_nonce"))?;
            let tx = Transaction::sign(&chain, key, nonce, Payload::Anchor(record));
            let mut post = agent
                .post(&format!("{base}/v1/txs?wait_ms={REMOTE_TIMEOUT_MS}"))
                .header("content-type", "application/octet-stream");
            if let Some(b) = &bearer {
                post = post.header("authorization", b);
            }
            // Anchored means committed: the node answers 200 only once the block is durable.
            let answer: serde_json::Value = post.send(tx.encoded())?.body_mut().read_json()?;
            anyhow::ensure!(
                answer["result"]["status"] == "committed"
                    && answer["result"]["outcome"]["status"] == "applied",
                "anchor transaction not committed: {answer}"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use suanli_platform_http::AuditAnchor;

    use super::*;

    fn committed_anchor(node: &Node, key: &suanli_primitives::PublicKey) -> Option<Vec<u8>> {
        let nonce = node.next_nonce(ChainKind::Trade, key).checked_sub(1)?;
        node.state_get(
            ChainKind::Trade,
            &suanli_ledger::anchor::anchor_key(key, nonce),
        )
    }

    fn wait_for_anchor(node: &Node, key: &suanli_primitives::PublicKey) -> Vec<u8> {
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
        let (node, producers) = crate::cmd::node::open_node(
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
            LedgerAnchor::start(LedgerTarget::Embedded(Arc::clone(&node)), key.clone()).unwrap();
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
            LedgerTarget::Remote {
                url: base,
                token: Some("member-token-0123456789".into()),
            },
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
