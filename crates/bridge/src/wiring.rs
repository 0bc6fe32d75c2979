//! How a platform is connected to its ledger: a separate node over HTTP, or an embedded
//! node in the platform's data directory (`DATA/node`), and the ports given to it — the
//! audit anchor (signed with the platform key), the DID registry, suppliers' publishing
//! (signed with their own keys), and party enrolment
//! when the genesis operator's key is here (embedded node only, `docs/key-custody.md` §7).

use std::path::Path;
use std::sync::Arc;

use suanli_identity::{DidId, SuanliDid};
use suanli_ledger::MempoolConfig;
use suanli_ledger_client::embedded::{NETWORK_DEFAULT, Running, open_node_with_clock, stop};
use suanli_ledger_client::{HttpLedger, LedgerClient};
use suanli_node::Node;
use suanli_platform_http::Platform;
use suanli_primitives::{ChainKind, Clock, SecretKey, SystemClock};

use crate::BridgeError;
use crate::agent_keys::LedgerAgentKeys;
use crate::anchor::LedgerAnchor;
use crate::consumer_channels::{CHANNEL_LISTEN_DEFAULT, CONSUMER_ROUND_MS, ConsumerWiring};
use crate::dids::{LedgerDids, LedgerParties};
use crate::hosted_agents::{HOSTED_ROUND_MS, HostedWiring};
use crate::onboarding::LedgerOnboarding;
use crate::operator::OperatorSigner;
use crate::payout::LedgerPayouts;
use crate::supply::LedgerSupply;
use crate::trade_book::LedgerTradeBook;
// --- trades (issue 18, H-trades)
use crate::channel_key::{CHANNEL_ENDPOINT_DEFAULT, PlatformChannel};
use crate::mirror::LedgerMirror;
use crate::trade_ledger::LedgerTrades;

/// The ports a platform is given by [`PlatformLedger::ports`].
#[derive(Debug)]
pub struct LedgerPorts {
    /// Shared, so a caller can wait for a head to be anchored (the demo does).
    pub anchor: Arc<LedgerAnchor>,
    pub dids: LedgerDids,
    /// Only where the genesis operator's key is.
    pub parties: Option<LedgerParties>,
    /// Supplier onboarding's qualification checks and enrolment reads (issue 16).
    pub onboarding: LedgerOnboarding,
    // --- supply (issue 16, supply helper)
    /// Suppliers' modes and offers, signed by their own keys.
    pub supply: LedgerSupply,
    /// Suppliers' trades and reputation (issue 16).
    pub trade_book: LedgerTradeBook,
    /// The supplier agent's chain port.
    pub agent_keys: LedgerAgentKeys,
    // --- payout burns (issue 16, payout helper)
    /// Supplier payouts' custody, burns and returns: only where the genesis operator's
    /// key is (custody is its account).
    pub payouts: Option<LedgerPayouts>,
    // --- issue 16, platform-hosted agents
    /// What the hosted-agent worker needs; started by the caller once the platform is
    /// open ([`HostedWiring::start`]).
    pub hosted: HostedWiring,
    // --- issue 18, the platform's consumer side of service channels
    /// What the consumer-channel worker needs; started by the caller once the platform is
    /// open ([`ConsumerWiring::start`]; the caller may change `listen` and `advertise`).
    pub consumer_channels: ConsumerWiring,
    // --- trades (issue 18, H-trades)
    /// The exchange's chain side (orders as trades, wallets, ratings).
    pub trades: LedgerTrades,
    /// The organisation wallets' mirror: only where the genesis operator's key is.
    pub mirror: Option<LedgerMirror>,
    // --- issue 18, billing
    /// Top-ups, channel notices, channels and bundles of trades.
    pub desk: crate::trade_desk::LedgerTradeDesk,
}

impl LedgerPorts {
    /// Gives `platform` these ports.
    pub fn attach(self, platform: Platform) -> Platform {
        let platform = platform
            .with_anchor(self.anchor)
            .with_did_registry(Arc::new(self.dids))
            .with_onboarding(Arc::new(self.onboarding))
            // --- supply (issue 16, supply helper)
            .with_supply_ledger(Arc::new(self.supply))
            .with_trade_book(Arc::new(self.trade_book)) // issue 16
            .with_hosted_agents(Arc::new(self.agent_keys.clone())) // issue 16, hosted agents
            .with_agent_keys(Arc::new(self.agent_keys));
        // --- payout burns (issue 16, payout helper)
        let platform = match self.payouts {
            Some(payouts) => platform.with_payout_ledger(Arc::new(payouts)),
            None => platform,
        };
        // --- trades (issue 18, H-trades)
        let platform = platform.with_trade_ledger(Arc::new(self.trades));
        let platform = platform.with_trade_desk(Arc::new(self.desk)); // issue 18, billing
        let platform = match self.mirror {
            Some(m) => platform.with_mirror(Arc::new(m)),
            None => platform,
        };
        match self.parties {
            Some(parties) => platform.with_enrolment(Arc::new(parties)),
            None => platform,
        }
    }
}

/// The ledger a platform writes to.
#[derive(Debug)]
pub struct PlatformLedger {
    /// The client every adapter uses.
    pub client: Arc<dyn LedgerClient>,
    /// The embedded node, when there is no separate one.
    pub embedded: Option<Running>,
    /// The genesis operator's key (embedded node only).
    operator: Option<SecretKey>,
    /// The clock the ledger's credentials are dated by.
    clock: Arc<dyn Clock>,
    /// The separate node, when there is one (asked for its identity authority).
    remote: Option<HttpLedger>,
    /// The identity chain's genesis authority, when known without asking a remote node.
    authority: Option<DidId>,
    /// The platform's channel key (issue 18), from the data directory when there is one.
    channel: Option<PlatformChannel>,
}

impl PlatformLedger {
    /// The node at `url` (an `http://` or `https://` base URL, with its member `token`),
    /// or, without one, an embedded node under `data_dir/node` on the system clock.
    pub fn open(
        data_dir: &Path,
        url: Option<&str>,
        token: Option<&str>,
    ) -> Result<Self, BridgeError> {
        if let Some(url) = url {
            let url = url.trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(BridgeError::invalid(
                    "bad_node_url",
                    format!(
                        "--node must be an http:// or https:// URL of a ledger node, got {url:?}"
                    ),
                ));
            }
            tracing::info!(node = url, "using a separate ledger node");
            return Ok(Self {
                client: Arc::new(HttpLedger::new(url, token)),
                embedded: None,
                operator: None,
                clock: Arc::new(SystemClock),
                remote: Some(HttpLedger::new(url, token)),
                authority: None,
                channel: Some(PlatformChannel::open(data_dir, CHANNEL_ENDPOINT_DEFAULT)?),
            });
        }
        Self::embedded(data_dir, Arc::new(SystemClock))
    }

    /// An embedded node under `data_dir/node` whose blocks and credentials are dated by
    /// `clock` (`suanli serve` uses the system clock; tests a clock they move).
    pub fn embedded(data_dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, BridgeError> {
        let dir = data_dir.join("node");
        let (node, producers) = open_node_with_clock(
            &dir,
            NETWORK_DEFAULT,
            None,
            MempoolConfig::default(),
            Arc::clone(&clock),
        )?;
        tracing::info!(dir = %dir.display(), "embedded ledger node ready");
        let operator = SecretKey::load(&dir.join("operator.key"))?;
        let authority = DidId::derive(&node.genesis(ChainKind::Identity).credit_operator);
        Ok(Self {
            authority: Some(authority),
            client: Arc::clone(&node) as Arc<dyn LedgerClient>,
            embedded: Some((node, producers)),
            operator: Some(operator),
            clock,
            remote: None,
            channel: Some(PlatformChannel::open(data_dir, CHANNEL_ENDPOINT_DEFAULT)?),
        })
    }

    /// A node the caller runs itself (the demo's, on its own clock): the ports use
    /// `node`, date credentials by `clock` and enrol parties with `operator`, the
    /// genesis operator's key; [`PlatformLedger::stop`] leaves the node running.
    pub fn over_node(node: Arc<Node>, operator: SecretKey, clock: Arc<dyn Clock>) -> Self {
        let authority = DidId::derive(&node.genesis(ChainKind::Identity).credit_operator);
        Self {
            client: node as Arc<dyn LedgerClient>,
            embedded: None,
            operator: Some(operator),
            clock,
            remote: None,
            authority: Some(authority),
            channel: None,
        }
    }

    /// The platform's channel key pay-as-you-go orders delegate to (issue 18); `open` and
    /// `embedded` load it from the data directory, a caller-run node ([`Self::over_node`])
    /// is given it here.
    pub fn with_channel(mut self, channel: PlatformChannel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// The ledger's ports for a platform (before it opens: a remote node is asked for its
    /// identity chain here, not on the platform's runtime); the audit anchor signs with
    /// `platform_key`.
    pub fn ports(&self, platform_key: SecretKey) -> Result<LedgerPorts, BridgeError> {
        tracing::info!(key = %platform_key.public(), "platform key anchors the audit-log head on the trade chain");
        let dids = LedgerDids::new(Arc::clone(&self.client))?;
        let onboarding = LedgerOnboarding::new(
            Arc::clone(&self.client),
            self.authority()?,
            Arc::clone(&self.clock),
        )?;
        let anchor = Arc::new(LedgerAnchor::start(Arc::clone(&self.client), platform_key)?);
        // One signer for every port that signs with the operator key: they share its
        // lock, so two never take the same nonce (`crate::operator`).
        let signer = self.operator.clone().map(OperatorSigner::new);
        let parties = match &signer {
            Some(operator) => Some(LedgerParties::new(
                Arc::clone(&self.client),
                Arc::clone(&self.clock),
                operator.clone(),
            )),
            None => {
                tracing::warn!(
                    "separate ledger node: approved registrations are not issued KYC credentials nor enrolled on the trade chain (the operator key is not here)"
                );
                None
            }
        };
        let trade_book = LedgerTradeBook::new(Arc::clone(&self.client), Arc::clone(&self.clock));
        // The consumer channel controller, once started, watches every trade the
        // exchange follows whose order delegated its channel to the platform's key.
        let channel_slot: Arc<
            std::sync::OnceLock<Arc<crate::consumer_channels::ConsumerChannels>>,
        > = Arc::default();
        Ok(LedgerPorts {
            anchor,
            dids,
            parties,
            onboarding,
            // --- supply (issue 16, supply helper)
            supply: LedgerSupply::new(Arc::clone(&self.client)),
            trade_book,
            agent_keys: LedgerAgentKeys::new(Arc::clone(&self.client)),
            // --- payout burns (issue 16, payout helper)
            payouts: signer
                .as_ref()
                .map(|op| LedgerPayouts::new(Arc::clone(&self.client), op.clone())),
            // --- issue 16, platform-hosted agents
            hosted: HostedWiring {
                ledger: Arc::clone(&self.client),
                clock: Arc::clone(&self.clock),
                round_ms: HOSTED_ROUND_MS,
            },
            // --- issue 18, consumer channels
            consumer_channels: ConsumerWiring {
                ledger: Arc::clone(&self.client),
                clock: Arc::clone(&self.clock),
                round_ms: CONSUMER_ROUND_MS,
                listen: CHANNEL_LISTEN_DEFAULT,
                advertise: None,
                slot: Arc::clone(&channel_slot),
            },
            // --- trades (issue 18, H-trades)
            trades: LedgerTrades::new(
                Arc::clone(&self.client),
                signer.clone(),
                self.channel.clone(),
                LedgerTradeBook::new(Arc::clone(&self.client), Arc::clone(&self.clock)),
            )
            .with_channels(Arc::clone(&channel_slot)),
            // --- issue 18, billing
            desk: crate::trade_desk::LedgerTradeDesk::new(Arc::clone(&self.client), channel_slot),
            mirror: signer
                .as_ref()
                .map(|op| LedgerMirror::new(Arc::clone(&self.client), op.clone())),
        })
    }

    /// The identity chain's genesis authority: the embedded node's genesis operator, or
    /// what a remote node's `/1.0/issuers` names.
    fn authority(&self) -> Result<DidId, BridgeError> {
        if let Some(authority) = &self.authority {
            return Ok(authority.clone());
        }
        let remote = self.remote.as_ref().ok_or_else(|| {
            BridgeError::invalid("no_ledger", "neither an embedded nor a remote node")
        })?;
        let list = remote.get_ok("/1.0/issuers")?;
        let text = list["authority"].as_str().unwrap_or_default();
        let did = SuanliDid::parse(text).map_err(|e| {
            BridgeError::invalid("bad_authority", format!("the node names {text:?}: {e}"))
        })?;
        Ok(did.id().clone())
    }

    /// Stops the embedded node, if any.
    pub fn stop(self) {
        if let Some(running) = self.embedded {
            stop(running);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separate_node_must_be_an_http_url_and_an_embedded_one_has_the_operator_key() {
        let dir = tempfile::tempdir().unwrap();
        let refused = PlatformLedger::open(dir.path(), Some("ftp://ledger"), None).unwrap_err();
        assert_eq!(refused.code(), "bad_node_url");

        let remote = PlatformLedger::open(dir.path(), Some("http://127.0.0.1:9/"), None).unwrap();
        assert!(remote.embedded.is_none() && remote.operator.is_none());

        let embedded = PlatformLedger::open(dir.path(), None, None).unwrap();
        let on_disk = SecretKey::load(&dir.path().join("node").join("operator.key")).unwrap();
        assert_eq!(
            embedded.operator.as_ref().map(SecretKey::public),
            Some(on_disk.public())
        );
        embedded.stop();
    }
}
