//! An exchange to trade on (issue 18), built through a running platform's HTTP API and its
//! node: what `suanli bench exchange` and the exchange's crash test
//! (`crates/suanli/tests/exchange_crash.rs`) start from. A data centre registers with a
//! qualification credential the identity chain's authority issued, is approved (enrolled
//! as supplier), imports two nodes, publishes a mode (1 fen a minute, check-ins every
//! minute) and an offer, and the operator lists it; personal customers register, are
//! approved (enrolled as consumers), recharge in the sandbox and export their DID keys.
//! Orders are then signed client-side by that key and sent pre-signed
//! (`POST /api/v1/trades/presigned`); the supplier's key accepts them and checks them in
//! on the chain, as its agent would.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use suanli_ledger::Transaction;
use suanli_ledger_client::LedgerClient;
use suanli_ledger_client::exchange::{self, OrderDraft};
use suanli_ledger_client::supply::ChainState;
use suanli_primitives::{ChainKind, Clock, PositiveFen, SecretKey, SystemClock};
use suanli_trade::model::Requirements;
use suanli_trade::wallet::WalletName;
use suanli_trade::{Serial, view};
use suanli_webtest::harness::Client;
use suanli_webtest::onboarding::Certifier;

/// The supplier's login and password.
pub const SUPPLIER_LOGIN: &str = "bench-dc";
/// The supplier's password.
pub const SUPPLIER_PASSWORD: &str = "Bench-Data-Centre-1";
/// The customers' logins: this and a number.
pub const BUYER_LOGIN: &str = "zhaoliu";
/// The customers' password.
pub const BUYER_PASSWORD: &str = "Compute-Order-Pass-1";
const CREDIT_CODE: &str = "91510100MA6CGREEN8";
const RESOURCES_CSV: &str = "name,location,status,gpu_model,gpu_count,gpu_mem_gb,cpu_cores,ram_gb,storage_gb,tflops,region,available_from_min,available_until_min,green_share,carbon_g_per_kwh,pue,utilisation
bench-a100-01,hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.4
bench-a100-02,hall 1,online,gpu-a100,8,80,128,1024,7680,2496,cn-west,0,5256000,0.92,35,1.15,0.5
";
/// Longest wait for the platform to follow the chain (a DID created, an enrolment).
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// One customer: its session, its DID key (exported), which signs its orders, and its
/// organisation's wallet (`org:N`).
#[derive(Debug)]
pub struct Buyer {
    /// Its login.
    pub login: String,
    /// Its session.
    pub client: Client,
    /// Its DID key.
    pub key: SecretKey,
    /// Its organisation's wallet.
    pub wallet: WalletName,
}

/// The exchange as built: the customers, the offer, the supplier's key.
#[derive(Debug)]
pub struct ExchangeWorld {
    /// The customers (personal organisations, each its own wallet).
    pub buyers: Vec<Buyer>,
    /// The supplier's DID key (exported), which accepts and checks in.
    pub supplier_key: SecretKey,
    /// The offer's id on the chain.
    pub chain_offer_id: u64,
    /// The offer's spec on the chain (what an order names).
    pub spec: String,
}

fn expect(a: suanli_webtest::harness::Answer, status: u16, what: &str) -> anyhow::Result<Value> {
    if a.status != status {
        bail!("{what}: {} {}", a.status, a.body);
    }
    Ok(a.json())
}

fn post(c: &Client, path: &str, body: Value, status: u16) -> anyhow::Result<Value> {
    expect(c.api_post(path, &body, None)?, status, path)
}

fn login(base: &str, login: &str, password: &str) -> anyhow::Result<Client> {
    let mut c = Client::new(base);
    c.login(login, password)?;
    Ok(c)
}

fn export_key(c: &Client, password: &str) -> anyhow::Result<SecretKey> {
    let v = post(
        c,
        "/api/v1/me/key/export",
        json!({ "password": password }),
        200,
    )?;
    let pem = v["pkcs8_pem"].as_str().context("no key in the export")?;
    Ok(SecretKey::from_pem(pem)?)
}

/// Registers at `path` with `body` (anonymously) and has the operator approve it.
fn register_approved(base: &str, admin: &Client, path: &str, body: Value) -> anyhow::Result<()> {
    let v = post(&Client::new(base), path, body, 201)?;
    let reg = v["registration"]["id"]
        .as_i64()
        .context("registration id")?;
    post(
        admin,
        &format!("/api/v1/registrations/{reg}/approve"),
        json!({}),
        200,
    )?;
    Ok(())
}

/// Polls `f` until it answers `Some`, at most [`SETTLE_WAIT`].
fn settle<T>(what: &str, mut f: impl FnMut() -> anyhow::Result<Option<T>>) -> anyhow::Result<T> {
    let until = Instant::now() + SETTLE_WAIT;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() > until {
            bail!("{what}: not settled in {SETTLE_WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The supplier: registered with a qualification credential, approved, its offer listed
/// with `units` units. Answers its session and the platform offer's id.
fn supplier(
    base: &str,
    admin: &Client,
    ledger: &dyn LedgerClient,
    node_data: &Path,
    units: u32,
) -> anyhow::Result<(Client, i64)> {
    let certifier = Certifier::open(ledger, node_data)?;
    let cpt = certifier.register_cpt(ledger)?;
    let now = SystemClock.now_ms();
    let credential = certifier.issue(cpt, CREDIT_CODE, 0, now)?;
    register_approved(
        base,
        admin,
        "/api/v1/registrations/supplier",
        json!({"login": SUPPLIER_LOGIN, "password": SUPPLIER_PASSWORD,
            "display_name": "Bench DC", "supplier_type": "supplier_resource",
            "company_name": "Bench Data Centre", "credit_code": CREDIT_CODE,
            "licence_ref": "BL-1", "legal_person": "Wang Wu", "phone": "13800138001",
            "qualification": credential}),
    )?;
    let sup = login(base, SUPPLIER_LOGIN, SUPPLIER_PASSWORD)?;
    let v = post(
        &sup,
        "/api/v1/supplier/resources/import",
        json!({"csv": RESOURCES_CSV}),
        200,
    )?;
    let ids: Vec<i64> = v["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_default();
    let mode = post(
        &sup,
        "/api/v1/supplier/modes",
        json!({"name": "A100 by the minute", "price_fen_per_min": 1, "min_charge_fen": 0,
            "checkin_period_min": 1, "weights": {"gpu": 1000}, "terms": [],
            "trade_start_cpt": 1, "checkin_cpt": 2}),
        200,
    )?;
    let mode_id = mode["mode"]["id"].as_i64().context("mode id")?;
    let pw = json!({ "password": SUPPLIER_PASSWORD });
    post(
        &sup,
        &format!("/api/v1/supplier/modes/{mode_id}/publish"),
        pw.clone(),
        200,
    )?;
    let offer = post(
        &sup,
        "/api/v1/supplier/offers",
        json!({"title": "Bench A100", "mode_id": mode_id, "resource_ids": ids, "units": units,
            "valid_from_ms": now, "valid_until_ms": now + 30 * 86_400_000u64}),
        200,
    )?;
    let id = offer["offer"]["id"].as_i64().context("offer id")?;
    post(
        &sup,
        &format!("/api/v1/supplier/offers/{id}/publish"),
        pw,
        200,
    )?;
    post(
        admin,
        &format!("/api/v1/ops/suppliers/listings/{id}/approve"),
        json!({}),
        200,
    )?;
    Ok((sup, id))
}

/// The customer: registered, approved (enrolled as consumer), its DID on the chain,
/// `cash_fen` recharged in the sandbox.
/// A valid resident identity number (GB 11643: ISO 7064 MOD 11-2 check character) with
/// sequence number `n`.
fn id_number(n: usize) -> String {
    let body = format!("11010519491231{:03}", n % 998 + 1);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

fn buyer(
    base: &str,
    admin: &Client,
    ledger: &dyn LedgerClient,
    n: usize,
    cash_fen: i64,
) -> anyhow::Result<Buyer> {
    let login_name = format!("{BUYER_LOGIN}{n}");
    register_approved(
        base,
        admin,
        "/api/v1/registrations/personal",
        json!({"login": login_name, "password": BUYER_PASSWORD, "name": "Zhao Liu",
            "id_number": id_number(n), "phone": "13800138000"}),
    )?;
    let c = login(base, &login_name, BUYER_PASSWORD)?;
    settle("the customer's DID", || {
        Ok((c.get("/api/v1/me/key")?.json()["key"]["did_on_chain"] == json!(true)).then_some(()))
    })?;
    let key = export_key(&c, BUYER_PASSWORD)?;
    settle("the customer's enrolment", || {
        Ok(suanli_ledger_client::supply::enrolled_did(ledger, &key.public()).ok())
    })?;
    let me = c.get("/api/v1/me")?.json();
    let org = me["org"]["id"]
        .as_i64()
        .context("the customer's organisation")?;
    let r = post(
        &c,
        "/api/v1/recharges",
        json!({ "amount_fen": cash_fen }),
        200,
    )?;
    let rid = r["payment"]["id"].as_i64().context("recharge id")?;
    post(
        &c,
        &format!("/api/v1/recharges/{rid}/sandbox-pay"),
        json!({}),
        200,
    )?;
    let wallet = WalletName::parse(&format!("org:{org}")).map_err(|e| anyhow::anyhow!(e))?;
    Ok(Buyer {
        login: login_name,
        client: c,
        key,
        wallet,
    })
}

/// Builds the exchange on the platform at `base` (its administrator's password
/// `admin_password`), whose node `ledger` keeps its operator key under
/// `node_data/node/operator.key`: an offer of `units` units, `buyers` customers with
/// `cash_fen` each.
pub fn build(
    base: &str,
    admin_password: &str,
    ledger: &dyn LedgerClient,
    node_data: &Path,
    units: u32,
    buyers: usize,
    cash_fen: i64,
) -> anyhow::Result<ExchangeWorld> {
    let admin = login(
        base,
        suanli_platform_http::BOOTSTRAP_ADMIN_LOGIN,
        admin_password,
    )?;
    let (sup, _) = supplier(base, &admin, ledger, node_data, units)?;
    let supplier_key = export_key(&sup, SUPPLIER_PASSWORD)?;
    let buyers = (0..buyers)
        .map(|n| buyer(base, &admin, ledger, n, cash_fen))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The chain's offer: the newest of the supplier's.
    let did = suanli_ledger_client::supply::enrolled_did(ledger, &supplier_key.public())?;
    let offers = suanli_ledger_client::supply::supplier_offers(ledger, &did, 0)?;
    let offer = offers
        .into_iter()
        .max_by_key(|o| o.id)
        .context("no offer on the chain")?;
    Ok(ExchangeWorld {
        buyers,
        supplier_key,
        chain_offer_id: offer.id,
        spec: offer.terms.spec,
    })
}

impl ExchangeWorld {
    /// Term orders of `minutes` minutes for one unit each, one per serial, signed by the
    /// customer's key at consecutive nonces from its next one (as a programmatic buyer
    /// signs a batch; they must reach the chain in this order), paid from its wallet and
    /// dated `now_ms` (within 10 minutes of their blocks): (serial, transaction hex) each.
    pub fn sign_orders(
        &self,
        ledger: &dyn LedgerClient,
        buyer: usize,
        serials: &[Serial],
        minutes: u64,
        now_ms: u64,
    ) -> anyhow::Result<Vec<(Serial, String)>> {
        let b = self.buyers.get(buyer).context("no such buyer")?;
        let chain = ledger.chain_id(ChainKind::Trade)?;
        let first = ledger.next_nonce(ChainKind::Trade, &b.key.public())?;
        serials
            .iter()
            .zip(first..)
            .map(|(serial, nonce)| {
                let draft = OrderDraft {
                    serial: *serial,
                    offer_id: self.chain_offer_id,
                    requirements: Requirements {
                        spec: self.spec.clone(),
                        quantity: 1,
                        duration_minutes: minutes,
                    },
                    value_fen: PositiveFen::new(i64::try_from(minutes)?)?,
                    wallet: Some(b.wallet.clone()),
                    channel: None,
                    time_ms: now_ms,
                };
                let signed = exchange::sign_order(ledger, &b.key, &draft)?;
                let tx = Transaction::sign(&chain, &b.key, nonce, signed.payload().clone());
                Ok((*serial, hex::encode(tx.encoded())))
            })
            .collect()
    }

    /// Whether the chain holds trade `serial` and its status (`ordered`, `active`, …).
    pub fn status(ledger: &dyn LedgerClient, serial: &Serial) -> anyhow::Result<Option<String>> {
        let state = ChainState::new(ledger, ChainKind::Trade);
        Ok(state
            .done(view::trade(&state, serial))?
            .map(|t| format!("{:?}", t.status).to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn identity_numbers_carry_their_check_character() {
        // The published example (GB 11643) is sequence 002.
        assert_eq!(super::id_number(1), "11010519491231002X");
        assert_eq!(super::id_number(0).len(), 18);
    }
}
