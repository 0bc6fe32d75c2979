//! Platform-hosted supplier agents (`docs/supply.md` §3.5, `docs/key-custody.md` §9).
//!
//! - [`LedgerAgentKeys`] implements the platform's `HostedAgentPort`: an acceptance policy
//!   is checked by the agent's own rules ([`suanli_agent::policy::Policy::from_draft`]),
//!   and a key the platform generated is delegated with its proof of possession
//!   ([`suanli_trade::op::agent_proof`]) exactly as a key delegated by hand.
//! - [`HostedAgents`] is the worker `suanli serve` starts: every few seconds it asks the
//!   service layer which hosted agents run ([`supply_hosted::running`]) and runs one round
//!   ([`Agent::tick`]) of each — a [`suanli_agent::Agent`] with the platform's ledger
//!   client, an in-process [`Platform`] (the work-order service functions, called as the
//!   supplier organisation; no HTTP, no API token), the manual work-order provisioner, a
//!   [`DoneStore`] under `DATA/hosted-agents/<id>` (its channel controller's store in
//!   `channels/` beside it, on the server's runtime) and the injected clock. Who each
//!   agent acts as and its policy are read again every pass. Rounds run side by side
//!   ([`HOSTED_PARALLEL_MAX`] at a time); a failed or panicking round, an agent that
//!   cannot be built or a pass that panics is logged and the rest go on; a stopped agent
//!   is dropped at the next pass; [`HostedAgents::stop`] (or dropping the handle) ends
//!   the worker between rounds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use suanli_agent::channels::SupplierChannels;
use suanli_agent::platform::{Access, Platform, WorkOrder};
use suanli_agent::policy::{Policy, PolicyDraft};
use suanli_agent::provision::ManualWorkOrders;
use suanli_agent::store::DoneStore;
use suanli_agent::{Agent, AgentError};
use suanli_identity::Fragment;
use suanli_ledger_client::{LedgerClient, supply};
use suanli_platform_http::auth::Authed;
use suanli_platform_http::domain::audit::{AuditEvent, Outcome};
use suanli_platform_http::hosted_agents::{HostedAgentPort, PolicyRefusal};
use suanli_platform_http::http::append_audit;
use suanli_platform_http::service::supply_hosted::{self, HostedRun};
use suanli_platform_http::service::supply_work_orders::{self as wo, RaiseRequest};
use suanli_platform_http::store::{HostedPolicy, WorkOrderRecord};
use suanli_platform_http::{AppState, PortError};
use suanli_primitives::{Clock, SecretKey};
use suanli_trade::{PartyDid, Serial};

use crate::agent_keys::{LedgerAgentKeys, refusal};

/// Time between two passes over the hosted agents, in milliseconds.
pub const HOSTED_ROUND_MS: u64 = 5_000;
/// How often the sleeping worker looks at its stop flag, in milliseconds.
pub const HOSTED_STOP_CHECK_MS: u64 = 100;
/// Most hosted agents whose rounds run at the same time (each on its own thread), so one
/// slow agent does not hold the others up.
pub const HOSTED_PARALLEL_MAX: usize = 8;
/// The hosted agents' stores, under the platform's data directory.
pub const HOSTED_DIR: &str = "hosted-agents";

fn draft(p: &HostedPolicy) -> PolicyDraft {
    PolicyDraft {
        mode: p.mode.clone(),
        max_units: p.max_units,
        max_minutes: p.max_minutes,
        max_value_fen: p.max_value_fen,
        offers: Some(p.offers.clone()),
    }
}

impl HostedAgentPort for LedgerAgentKeys {
    fn check_policy(&self, policy: &HostedPolicy) -> Result<(), PolicyRefusal> {
        Policy::from_draft(draft(policy))
            .map(|_| ())
            .map_err(|e| PolicyRefusal {
                field: e
                    .field
                    .strip_prefix("policy.")
                    .unwrap_or(&e.field)
                    .to_owned(),
                message: e.message,
            })
    }

    fn delegate_hosted(
        &self,
        supplier: &SecretKey,
        supplier_did: &str,
        agent: &SecretKey,
        fragment: &str,
    ) -> Result<(), PortError> {
        let invalid = |code: &'static str, e: &dyn std::fmt::Display| PortError::Refused {
            code,
            message: e.to_string(),
        };
        let did = PartyDid::parse(supplier_did).map_err(|e| invalid("invalid_did", &e))?;
        let fragment = Fragment::new(fragment).map_err(|e| invalid("invalid_fragment", &e))?;
        let proof = suanli_trade::op::agent_proof(agent, &did, fragment.as_str());
        supply::authorise_agent_key(
            self.ledger.as_ref(),
            supplier,
            &agent.public(),
            &proof,
            &fragment,
        )
        .map_err(refusal)?;
        Ok(())
    }
}

/// The agent's platform, in process: the work-order service functions, called as the
/// supplier organisation's agent (its administrator with only the scope `supply:agent`).
struct InProcess {
    state: AppState,
    acting: Authed,
    rt: tokio::runtime::Handle,
}

/// Written by hand: only which organisation it acts for.
impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("org", &self.acting.org.id)
            .finish_non_exhaustive()
    }
}

fn platform_error(e: suanli_platform_http::service::ServiceError) -> AgentError {
    AgentError::Platform {
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

fn work_order(w: WorkOrderRecord) -> WorkOrder {
    WorkOrder {
        id: w.id,
        serial: w.serial,
        status: w.status.as_str().to_owned(),
        access: w.access.map(|d| Access {
            address: d.address.as_str().to_owned(),
            credentials_ref: d.credentials_ref.as_str().to_owned(),
            pool_id: d.pool_id.as_str().to_owned(),
        }),
    }
}

/// The audit log's client fields of the hosted agents' changes (no request behind them).
pub const HOSTED_AUDIT_CLIENT: &str = "suanli hosted agent";

impl InProcess {
    /// Audits a work order the hosted agent created or closed, as the API's middleware
    /// audits a manual agent's request: the acting administrator and organisation, the
    /// route's action and the work order's path.
    async fn audit(&self, action: &str, w: &WorkOrderRecord, status: u16) {
        let event = AuditEvent {
            at_ms: self.state.clock.now_unix_ms(),
            actor_user: Some(self.acting.user.id.get()),
            actor_org: Some(self.acting.org.id.get()),
            action: action.to_owned(),
            target: format!("/api/v1/supplier/work-orders/{}", w.id),
            ip: String::new(),
            user_agent: HOSTED_AUDIT_CLIENT.to_owned(),
            outcome: Outcome::Success,
            status,
        };
        append_audit(&self.state, &event).await;
    }
}

impl Platform for InProcess {
    fn raise(&self, serial: &Serial, needs_approval: bool) -> Result<WorkOrder, AgentError> {
        let r = RaiseRequest {
            serial: serial.to_string(),
            needs_approval,
        };
        let w = self.rt.block_on(async {
            let (w, created) = wo::raise(&self.state, &self.acting, &r).await?;
            if created {
                self.audit("POST /api/v1/supplier/work-orders", &w, 201)
                    .await;
            }
            Ok(w)
        });
        Ok(work_order(w.map_err(platform_error)?))
    }

    fn close(&self, id: i64) -> Result<WorkOrder, AgentError> {
        let w = self.rt.block_on(async {
            let w = wo::close(&self.state, &self.acting, id).await?;
            self.audit("POST /api/v1/supplier/work-orders/{id}/close", &w, 200)
                .await;
            Ok(w)
        });
        Ok(work_order(w.map_err(platform_error)?))
    }
}

/// What the worker needs beyond the platform: the ledger, the clock the agents date their
/// records by, and how often they run. `suanli serve` and the test harness take it from
/// [`crate::wiring::LedgerPorts::hosted`] and [`HostedWiring::start`] it once the
/// platform is open.
#[derive(Debug, Clone)]
pub struct HostedWiring {
    /// The ledger the agents sign on.
    pub ledger: Arc<dyn LedgerClient>,
    /// The clock of the agents' records (the chain's).
    pub clock: Arc<dyn Clock>,
    /// Time between passes, in milliseconds.
    pub round_ms: u64,
}

impl HostedWiring {
    /// Starts the worker for `state`, keeping the agents' stores under `data_dir`. Must be
    /// called on a Tokio runtime (the worker calls the service layer on it).
    pub fn start(self, state: AppState, data_dir: &Path) -> HostedAgents {
        let stop = Arc::new(AtomicBool::new(false));
        let mut worker = Worker {
            wiring: self,
            state,
            dir: data_dir.join(HOSTED_DIR),
            rt: tokio::runtime::Handle::current(),
            agents: BTreeMap::new(),
        };
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("hosted-agents".into())
            .spawn(move || worker.run(&flag));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "the hosted-agent worker did not start");
                None
            }
        };
        HostedAgents { stop, thread }
    }
}

/// One round of the agent `id`, its failure or panic logged.
fn round(id: i64, agent: &Agent) {
    let round = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| agent.tick()));
    match round {
        Ok(Ok(r)) if r != suanli_agent::Round::default() => {
            tracing::info!(hosted_agent = id, round = ?r, "hosted agent round");
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(hosted_agent = id, code = e.code(), error = %e, "hosted agent round failed");
        }
        Err(_) => tracing::error!(hosted_agent = id, "hosted agent round panicked"),
    }
}

/// The running worker. Stopped by [`HostedAgents::stop`], or when dropped (every exit of
/// `suanli serve`, an error included, stops it before the ledger stops).
#[derive(Debug)]
pub struct HostedAgents {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HostedAgents {
    /// Stops the worker after the round it is in, and waits for it.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the hosted-agent worker panicked");
        }
    }

    /// Whether the worker thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for HostedAgents {
    fn drop(&mut self) {
        self.halt();
    }
}

struct Worker {
    wiring: HostedWiring,
    state: AppState,
    dir: PathBuf,
    rt: tokio::runtime::Handle,
    agents: BTreeMap<i64, Agent>,
}

impl Worker {
    fn run(&mut self, stop: &AtomicBool) {
        tracing::info!(dir = %self.dir.display(), "hosted-agent worker running");
        while !stop.load(Ordering::SeqCst) {
            let pass = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.pass(stop)));
            if pass.is_err() {
                tracing::error!(
                    "a pass over the hosted agents panicked; the next one runs as usual"
                );
            }
            let mut slept = 0;
            while slept < self.wiring.round_ms && !stop.load(Ordering::SeqCst) {
                let step = HOSTED_STOP_CHECK_MS.min(self.wiring.round_ms - slept);
                std::thread::sleep(std::time::Duration::from_millis(step));
                slept += step;
            }
        }
        tracing::info!("hosted-agent worker stopped");
    }

    /// One round of every hosted agent that runs, [`HOSTED_PARALLEL_MAX`] at a time;
    /// agents no longer running are dropped. An agent that cannot be built is logged and
    /// left out; the others run.
    fn pass(&mut self, stop: &AtomicBool) {
        let runs = match self.rt.block_on(supply_hosted::running(&self.state)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "listing the hosted agents failed");
                return;
            }
        };
        self.agents.retain(|id, _| runs.iter().any(|r| r.id == *id));
        let mut ready = Vec::new();
        for run in runs {
            let id = run.id;
            match self.agent(run) {
                Ok(()) => ready.push(id),
                Err(e) => {
                    self.agents.remove(&id);
                    tracing::warn!(hosted_agent = id, code = e.code(), error = %e, "hosted agent not started");
                }
            }
        }
        for batch in ready.chunks(HOSTED_PARALLEL_MAX) {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            let agents = &self.agents;
            std::thread::scope(|scope| {
                for id in batch {
                    if let Some(agent) = agents.get(id) {
                        scope.spawn(move || round(*id, agent));
                    }
                }
            });
        }
    }

    /// The agent of `run`: the one already built (its policy and who it acts as brought
    /// up to date: the administrator's roles may have changed), or a new one.
    fn agent(&mut self, run: HostedRun) -> Result<(), AgentError> {
        let policy = Policy::from_draft(draft(&run.policy))
            .map_err(|e| AgentError::Config(e.to_string()))?;
        let platform: Arc<dyn Platform> = Arc::new(InProcess {
            state: self.state.clone(),
            acting: run.acting,
            rt: self.rt.clone(),
        });
        let provisioner = Arc::new(ManualWorkOrders::new(Arc::clone(&platform)));
        match self.agents.entry(run.id) {
            std::collections::btree_map::Entry::Occupied(o) => {
                let a = o.into_mut();
                a.policy = policy;
                a.platform = platform;
                a.provisioner = provisioner;
            }
            std::collections::btree_map::Entry::Vacant(v) => {
                let supplier = PartyDid::parse(&run.supplier_did)
                    .map_err(|e| AgentError::Config(format!("supplier_did: {e}")))?;
                let agent_dir = self.dir.join(run.id.to_string());
                let store = DoneStore::open(&agent_dir)?;
                tracing::info!(hosted_agent = run.id, supplier = %supplier, "hosted agent started");
                v.insert(Agent {
                    ledger: Arc::clone(&self.wiring.ledger),
                    provisioner,
                    platform,
                    supplier,
                    key: run.key,
                    key_fragment: run.fragment,
                    policy,
                    store,
                    clock: Arc::clone(&self.wiring.clock),
                    channels: SupplierChannels::on(&agent_dir, self.rt.clone()),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn policy(mode: &str, units: Option<u32>, offers: Vec<u64>) -> HostedPolicy {
        HostedPolicy {
            mode: mode.into(),
            max_units: units,
            max_minutes: units.map(u64::from),
            max_value_fen: units.map(i64::from),
            offers,
        }
    }

    #[test]
    fn dropping_the_worker_s_handle_stops_the_worker() {
        let dir = tempfile::tempdir().unwrap();
        let config = suanli_platform_http::config::Config {
            data_dir: dir.path().join("data"),
            ..suanli_platform_http::config::Config::default()
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(suanli_platform_http::SystemClock);
        let platform = rt
            .block_on(suanli_platform_http::Platform::open(
                &config,
                Arc::clone(&clock),
            ))
            .unwrap();
        let state = platform.state.clone();
        let before = Arc::strong_count(&state.hosted_keyring);
        let wiring = HostedWiring {
            ledger: Arc::new(suanli_ledger_client::HttpLedger::new(
                "http://127.0.0.1:9",
                None,
            )),
            clock,
            // One pass, then a sleep far longer than the test.
            round_ms: 3_600_000,
        };
        let worker = {
            let _entered = rt.enter();
            wiring.start(state.clone(), dir.path())
        };
        assert!(worker.is_running());
        assert_eq!(Arc::strong_count(&state.hosted_keyring), before + 1);
        // An exit path that never calls `stop` (a start-up error after the worker ran):
        // dropping the handle stops the worker, which lets go of the platform's state.
        drop(worker);
        assert_eq!(Arc::strong_count(&state.hosted_keyring), before);
    }

    #[test]
    fn policies_are_checked_by_the_agent_s_rules_with_the_api_s_field_names() {
        let ledger: Arc<dyn LedgerClient> = Arc::new(suanli_ledger_client::HttpLedger::new(
            "http://127.0.0.1:9",
            None,
        ));
        let port = LedgerAgentKeys::new(ledger);
        assert_eq!(port.check_policy(&policy("manual", None, vec![])), Ok(()));
        assert_eq!(port.check_policy(&policy("auto", Some(2), vec![1])), Ok(()));
        for (p, field) in [
            (policy("sometimes", None, vec![]), "mode"),
            (policy("manual", Some(1), vec![]), "policy"),
            (policy("auto", None, vec![]), "max_units"),
            (policy("auto", Some(0), vec![]), "policy"),
            (policy("auto", Some(1), vec![0]), "offers"),
        ] {
            assert_eq!(port.check_policy(&p).unwrap_err().field, field, "{p:?}");
        }
    }
}
