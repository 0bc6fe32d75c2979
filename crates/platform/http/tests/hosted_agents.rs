//! The platform-hosted agent's start and stop over the API when the chain refuses or does
//! not answer (`docs/supply.md` §3.5), with test doubles of the chain ports: a delegation
//! the chain refuses leaves nothing behind; one whose outcome is unknown stays `starting`
//! (a second start is refused) until the worker's `running` finds the key authorised and
//! activates it, with the sealed key opening to the listed public key; stopping revokes a
//! key still authorised and skips one already revoked by hand. The end-to-end run against
//! a real chain is `tools/webtest/tests/hosted_agent.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use suanli_platform_http::agent_keys::{AgentKeyFacts, AgentKeys, TradeFacts};
use suanli_platform_http::hosted_agents::{
    HOSTED_KEY_FILE, HostedAgentPort, Keyring, PolicyRefusal,
};
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::payment::SignedTx;
use suanli_platform_http::service::supply_hosted;
use suanli_platform_http::store::HostedPolicy;
use suanli_platform_http::{AppState, PortError};
use suanli_primitives::{PublicKey, SecretKey, Signature};

/// DIDs derived from keys, "created" at once.
#[derive(Debug, Default)]
struct Dids;

impl DidRegistry for Dids {
    fn did_of(&self, key: &PublicKey) -> String {
        format!("did:suanli:test:{}", &key.to_hex()[..32])
    }
    fn sign_create(&self, key: &SecretKey) -> Result<SignedTx, PortError> {
        Ok(SignedTx {
            reference: key.public().to_hex(),
            encoded_hex: key.public().to_hex(),
        })
    }
    fn send(&self, _: &SignedTx) -> Result<(), PortError> {
        Ok(())
    }
}

/// What the next delegation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Commit,
    Refuse,
    NoAnswer,
    /// Commits after the worker activated the record meanwhile.
    CommitActivated,
    /// Commits after a stop overtook the start (the record is already stopped).
    CommitStopped,
}

/// The chain's agent keys, by supplier DID, and what the next delegation does.
#[derive(Debug)]
struct Chain {
    keys: Mutex<Vec<(String, AgentKeyFacts)>>,
    next: Mutex<Next>,
    revocations: Mutex<u32>,
    platform: Mutex<Option<(AppState, tokio::runtime::Handle)>>,
}

impl Chain {
    /// What another request or the worker does to the starting record meanwhile.
    fn meanwhile(&self, activate: bool) {
        let (state, rt) = self.platform.lock().unwrap().clone().unwrap();
        rt.block_on(async {
            for h in state.store.running_hosted_agents().await.unwrap() {
                if activate {
                    state.store.activate_hosted_agent(h.id, 5).await.unwrap();
                } else {
                    state
                        .store
                        .stop_hosted_agent(h.id, h.created_by, 5)
                        .await
                        .unwrap();
                }
            }
        });
    }

    fn revoked(&self, key: &PublicKey) -> bool {
        let keys = self.keys.lock().unwrap();
        keys.iter()
            .any(|(_, k)| k.key == key.to_hex() && k.revoked_at_ms.is_some())
    }
}

impl Chain {
    fn add(&self, did: &str, key: &PublicKey, fragment: &str) {
        self.keys.lock().unwrap().push((
            did.to_owned(),
            AgentKeyFacts {
                key: key.to_hex(),
                fragment: fragment.to_owned(),
                authorised_at_ms: 1,
                revoked_at_ms: None,
            },
        ));
    }
}

impl AgentKeys for Chain {
    fn trade(&self, _: &str) -> Result<Option<TradeFacts>, PortError> {
        Ok(None)
    }
    fn agents(&self, supplier_did: &str) -> Result<Vec<AgentKeyFacts>, PortError> {
        let keys = self.keys.lock().unwrap();
        Ok(keys
            .iter()
            .filter(|(d, _)| d == supplier_did)
            .map(|(_, k)| k.clone())
            .collect())
    }
    fn delegate(
        &self,
        _: &SecretKey,
        _: &PublicKey,
        _: &Signature,
        _: &str,
    ) -> Result<(), PortError> {
        unreachable!("the hosted agent delegates through HostedAgentPort")
    }
    fn revoke(&self, supplier: &SecretKey, agent: &PublicKey) -> Result<(), PortError> {
        let did = Dids.did_of(&supplier.public());
        let mut keys = self.keys.lock().unwrap();
        // As `revoke_agent_key`: idempotent for a known key (it also removes the DID
        // document's method a revocation on the trade chain alone left behind).
        let found = keys
            .iter_mut()
            .find(|(d, k)| *d == did && k.key == agent.to_hex());
        match found {
            Some((_, k)) => {
                k.revoked_at_ms.get_or_insert(2);
                *self.revocations.lock().unwrap() += 1;
                Ok(())
            }
            None => Err(PortError::Refused {
                code: "chain_refused",
                message: "not an agent key".into(),
            }),
        }
    }
}

impl HostedAgentPort for Chain {
    fn check_policy(&self, _: &HostedPolicy) -> Result<(), PolicyRefusal> {
        Ok(())
    }
    fn delegate_hosted(
        &self,
        supplier: &SecretKey,
        supplier_did: &str,
        agent: &SecretKey,
        fragment: &str,
    ) -> Result<(), PortError> {
        assert_eq!(supplier_did, Dids.did_of(&supplier.public()));
        let next = *self.next.lock().unwrap();
        match next {
            Next::CommitActivated | Next::CommitStopped => {
                self.meanwhile(next == Next::CommitActivated);
                self.add(supplier_did, &agent.public(), fragment);
                Ok(())
            }
            Next::Commit => {
                self.add(supplier_did, &agent.public(), fragment);
                Ok(())
            }
            Next::Refuse => Err(PortError::Refused {
                code: "chain_refused",
                message: "fragment_in_use".into(),
            }),
            Next::NoAnswer => Err(PortError::ledger(std::io::Error::other("timed out"))),
        }
    }
}

fn own_key(srv: &TestServer, cred: &Cred, login: &str) -> (Cred, String, String) {
    let new_pw = format!("{}-Own", pw(login));
    let (s, v) = srv.post(
        "/api/v1/me/password",
        cred,
        json!({"current_password": pw(login), "new_password": new_pw}),
    );
    assert_eq!(s, 204, "{v}");
    let cred = srv.login(login, &new_pw);
    let (_, v) = srv.get("/api/v1/me/key", &cred);
    let did = v["key"]["did"].as_str().unwrap().to_owned();
    (cred, did, new_pw)
}

const PATH: &str = "/api/v1/supplier/hosted-agent";

fn status(srv: &TestServer, cred: &Cred) -> Value {
    let (s, v) = srv.get(PATH, cred);
    assert_eq!(s, 200, "{v}");
    v["hosted_agent"].clone()
}

struct Setup {
    srv: TestServer,
    chain: Arc<Chain>,
    state: AppState,
    rt: tokio::runtime::Handle,
    sup: Cred,
    did: String,
    password: String,
}

fn setup() -> Setup {
    let chain = Arc::new(Chain {
        keys: Mutex::default(),
        next: Mutex::new(Next::Refuse),
        revocations: Mutex::default(),
        platform: Mutex::default(),
    });
    let captured: Arc<Mutex<Option<(AppState, tokio::runtime::Handle)>>> = Arc::default();
    let (c, k, h) = (chain.clone(), chain.clone(), captured.clone());
    let srv = TestServer::start_platform(
        |_| {},
        Box::new(move |p| {
            let p = p
                .with_did_registry(Arc::new(Dids))
                .with_agent_keys(k)
                .with_hosted_agents(c);
            *h.lock().unwrap() = Some((p.state.clone(), tokio::runtime::Handle::current()));
            p
        }),
    );
    let (state, rt) = captured.lock().unwrap().clone().unwrap();
    *chain.platform.lock().unwrap() = Some((state.clone(), rt.clone()));
    let admin = srv.admin();
    let (_, _, sup) = srv.org(&admin, "supplier_resource", "DC One", "sup1");
    let (sup, did, password) = own_key(&srv, &sup, "sup1");
    Setup {
        srv,
        chain,
        state,
        rt,
        sup,
        did,
        password,
    }
}

#[test]
fn refused_and_unanswered_delegations_and_stops() {
    let Setup {
        srv,
        chain,
        state,
        rt,
        sup,
        did,
        password,
    } = setup();
    let running = || rt.block_on(supply_hosted::running(&state)).unwrap();
    let body = json!({"fragment": "hosted-1", "mode": "manual", "password": password});

    // Refused by the chain: nothing is left.
    assert_err(srv.post(PATH, &sup, body.clone()), 409, "chain_refused");
    assert_err(srv.get(PATH, &sup), 404, "not_found");
    assert!(running().is_empty());

    // No answer: the agent stays starting, and a second start is refused.
    *chain.next.lock().unwrap() = Next::NoAnswer;
    let (s, v) = srv.post(PATH, &sup, body.clone());
    assert_eq!(
        (s, &v["hosted_agent"]["status"]),
        (202, &json!("starting")),
        "{v}"
    );
    let hosted = status(&srv, &sup);
    assert_eq!(hosted["status"], "starting", "{hosted}");
    assert_err(
        srv.post(PATH, &sup, body.clone()),
        409,
        "hosted_agent_exists",
    );
    // Not on the chain yet: not run. Once the chain shows it: active and run, its sealed
    // key opening to the listed public key.
    assert!(running().is_empty());
    assert_eq!(status(&srv, &sup)["status"], "starting");
    let public = PublicKey::from_hex(hosted["public_key"].as_str().unwrap()).unwrap();
    chain.add(&did, &public, "hosted-1");
    let runs = running();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].key.public(), public);
    assert_eq!(runs[0].supplier_did, did);
    assert_eq!(status(&srv, &sup)["status"], "active");
    // What the worker acts as: the administrator, with only supply:agent.
    let acting = &runs[0].acting.principal;
    assert!(acting.has(suanli_platform_domain::Permission::SupplyAgent));
    assert!(!acting.has(suanli_platform_domain::Permission::SupplyManage));

    // Stopped: the key revoked once, the agent no longer run.
    let stop = format!("{PATH}/stop");
    let (s, v) = srv.post(&stop, &sup, json!({"password": password}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["hosted_agent"]["status"], "stopped");
    assert_eq!(*chain.revocations.lock().unwrap(), 1);
    assert!(running().is_empty());

    // A new one, its key revoked by hand first: stopping revokes again (idempotent on the
    // chain: it removes what the revocation by hand may have left in the DID document).
    *chain.next.lock().unwrap() = Next::Commit;
    let (s, v) = srv.post(PATH, &sup, body);
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["hosted_agent"]["status"], "active");
    let second = PublicKey::from_hex(v["hosted_agent"]["public_key"].as_str().unwrap()).unwrap();
    assert_ne!(second, public);
    let (s, v) = srv.post(
        "/api/v1/supplier/agent-keys/revoke",
        &sup,
        json!({"public_key": second.to_hex(), "password": password}),
    );
    assert_eq!(s, 204, "{v}");
    let (s, v) = srv.post(&stop, &sup, json!({"password": password}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(*chain.revocations.lock().unwrap(), 3);
    assert_err(
        srv.post(&stop, &sup, json!({"password": password})),
        404,
        "not_found",
    );
}

#[test]
fn starts_and_stops_racing_the_worker_and_each_other() {
    let Setup {
        srv,
        chain,
        sup,
        password,
        ..
    } = setup();
    let body = json!({"fragment": "hosted-1", "mode": "manual", "password": password});
    let stop = format!("{PATH}/stop");

    // The worker activated it while the delegation was on its way: still answered active.
    *chain.next.lock().unwrap() = Next::CommitActivated;
    let (s, v) = srv.post(PATH, &sup, body.clone());
    assert_eq!(
        (s, &v["hosted_agent"]["status"]),
        (201, &json!("active")),
        "{v}"
    );
    let (s, v) = srv.post(&stop, &sup, json!({"password": password}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(*chain.revocations.lock().unwrap(), 1);

    // A stop overtook the start (it could not see the key on the chain yet): the start
    // revokes the key its delegation authorised, and answers the agent stopped.
    *chain.next.lock().unwrap() = Next::CommitStopped;
    let (s, v) = srv.post(PATH, &sup, body);
    assert!(s == 201 || s == 202, "{s} {v}");
    assert_eq!(v["hosted_agent"]["status"], "stopped", "{v}");
    let key = PublicKey::from_hex(v["hosted_agent"]["public_key"].as_str().unwrap()).unwrap();
    assert!(
        chain.revoked(&key),
        "the overtaken start's key is still authorised"
    );
    assert_eq!(*chain.revocations.lock().unwrap(), 2);
}

#[test]
fn api_tokens_are_refused_before_anything_else() {
    let Setup { srv, sup, .. } = setup();
    let (s, v) = srv.post(
        "/api/v1/me/tokens",
        &sup,
        json!({"name": "t", "scopes": ["supply:manage", "supply:read"], "ttl_secs": 3600}),
    );
    assert_eq!(s, 201, "{v}");
    let token = Cred::Bearer(v["token"].as_str().unwrap().to_owned());
    // Nothing to stop and a bad fragment: the token is still what is refused first.
    assert_err(
        srv.post(&format!("{PATH}/stop"), &token, json!({"password": "x"})),
        403,
        "session_required",
    );
    assert_err(
        srv.post(
            PATH,
            &token,
            json!({"fragment": "key-1", "mode": "manual", "password": "x"}),
        ),
        403,
        "session_required",
    );
}

#[test]
fn an_agent_whose_sealed_key_does_not_open_is_shown_not_runnable_and_not_run() {
    let Setup {
        srv,
        chain,
        state,
        rt,
        sup,
        password,
        ..
    } = setup();
    *chain.next.lock().unwrap() = Next::Commit;
    let body = json!({"fragment": "hosted-1", "mode": "manual", "password": password});
    let (s, v) = srv.post(PATH, &sup, body);
    assert_eq!(s, 201, "{v}");
    let h = &v["hosted_agent"];
    assert_eq!(
        (&h["runnable"], &h["problem"]),
        (&json!(true), &Value::Null),
        "{h}"
    );
    let runs = rt.block_on(supply_hosted::running(&state)).unwrap();
    assert_eq!(runs.len(), 1);
    let rec = rt
        .block_on(state.store.latest_hosted_agent(runs[0].acting.org.id))
        .unwrap()
        .unwrap();
    // The platform restarted without its hosted-agent key file: nothing is created, the
    // agent is answered not runnable with why, and the worker does not run it.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(HOSTED_KEY_FILE);
    let mut lost = state.clone();
    lost.hosted_keyring = Arc::new(Keyring::new(missing.clone()));
    assert_eq!(
        supply_hosted::problem(&lost, &rec),
        Some("hosted_key_missing")
    );
    assert!(
        rt.block_on(supply_hosted::running(&lost))
            .unwrap()
            .is_empty()
    );
    assert!(!missing.exists());
    assert_eq!(supply_hosted::problem(&state, &rec), None);
}
