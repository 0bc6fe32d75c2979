//! The market's test platform shared by `tests/market.rs` and `tests/market_orders.rs`:
//! a supply chain and a trade book as test doubles, two suppliers' listed offers, and
//! ordering customers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use suanli_platform_http::PortError;
use suanli_platform_http::keys::DidRegistry;
use suanli_platform_http::payment::SignedTx;
use suanli_platform_http::supply_ledger::{ChainMode, ChainOffer, Published, SupplyLedger};
use suanli_platform_http::trade_book::{ChainReputation, ChainTrade, TradeBook};
use suanli_primitives::{PublicKey, SecretKey};

#[derive(Debug, Default)]
pub struct Chain(Mutex<u64>);

impl Chain {
    fn next(&self) -> u64 {
        let mut n = self.0.lock().unwrap();
        *n += 1;
        *n
    }
}

impl SupplyLedger for Chain {
    fn publish_mode(&self, _: &SecretKey, _: &ChainMode) -> Result<Published, PortError> {
        let id = self.next();
        Ok(Published {
            chain_id: id,
            tx: format!("tx-{id}"),
        })
    }
    fn publish_offer(&self, _: &SecretKey, _: &ChainOffer) -> Result<Published, PortError> {
        let id = self.next();
        Ok(Published {
            chain_id: id,
            tx: format!("tx-{id}"),
        })
    }
    fn withdraw_offer(&self, _: &SecretKey, id: u64) -> Result<String, PortError> {
        Ok(format!("tx-w-{id}"))
    }
}

impl DidRegistry for Chain {
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

/// Ratings by supplier DID (overall 0..=100, ratings).
#[derive(Debug, Default)]
pub struct Ratings(pub Mutex<Vec<(String, f64, u64)>>);

impl TradeBook for Ratings {
    fn supplier_trades(&self, _: &str) -> Result<Vec<ChainTrade>, PortError> {
        Ok(vec![])
    }
    fn reputation(&self, did: &str) -> Result<ChainReputation, PortError> {
        let v = self.0.lock().unwrap();
        let hit = v.iter().find(|(d, _, _)| d == did);
        Ok(ChainReputation {
            orders: hit.map_or(0, |h| h.2),
            contracted: hit.map_or(0, |h| h.2),
            ratings: hit.map_or(0, |h| h.2),
            completion_rate: None,
            overall: hit.map(|h| h.1),
            per_resource: vec![],
        })
    }
}

pub fn resource(name: &str, model: &str, status: &str, green: f64, carbon: f64, pue: f64) -> Value {
    json!({"name": name, "location": "hall 1", "status": status, "gpu_model": model,
           "gpu_count": 8, "gpu_mem_gb": 80, "cpu_cores": 128, "ram_gb": 1024, "storage_gb": 8000,
           "tflops": 2496.0, "region": "cn-west", "available_from_min": 0, "available_until_min": 1000000,
           "green_share": green, "carbon_g_per_kwh": carbon, "pue": pue, "utilisation": 0.5})
}

/// A supplier administrator with a DID key.
pub fn supplier(srv: &TestServer, op: &Cred, name: &str, admin: &str) -> (i64, Cred, String) {
    let (org, _, cred) = srv.org(op, "supplier_resource", name, admin);
    let new = format!("{}-New", pw(admin));
    let (s, v) = srv.post(
        "/api/v1/me/password",
        &cred,
        json!({"current_password": pw(admin), "new_password": new}),
    );
    assert_eq!(s, 204, "{v}");
    let cred = srv.login(admin, &new);
    let (_, key) = srv.get("/api/v1/me/key", &cred);
    (
        org,
        cred,
        key["key"]["did"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Lists `res` at `price` fen/min under a new mode; the listed offer's id.
pub fn list(srv: &TestServer, op: &Cred, s: &Cred, admin: &str, res: Value, price: i64) -> i64 {
    let pwd = json!({"password": format!("{}-New", pw(admin))});
    let (st, r) = srv.post("/api/v1/supplier/resources", s, res);
    assert_eq!(st, 200, "{r}");
    let mode = json!({"name": format!("m{price}"), "price_fen_per_min": price, "min_charge_fen": 1000,
        "checkin_period_min": 60, "weights": {"gpu": 1000}, "trade_start_cpt": 1, "checkin_cpt": 2});
    let (st, m) = srv.post("/api/v1/supplier/modes", s, mode);
    assert_eq!(st, 200, "{m}");
    let mid = m["mode"]["id"].as_i64().unwrap();
    let (st, v) = srv.post(
        &format!("/api/v1/supplier/modes/{mid}/publish"),
        s,
        pwd.clone(),
    );
    assert_eq!(st, 200, "{v}");
    let offer = json!({"title": format!("offer at {price}"), "mode_id": mid,
        "resource_ids": [r["resource"]["id"]], "units": 2,
        "valid_from_ms": T0_MS, "valid_until_ms": T0_MS + 86_400_000});
    let (st, o) = srv.post("/api/v1/supplier/offers", s, offer);
    assert_eq!(st, 200, "{o}");
    let oid = o["offer"]["id"].as_i64().unwrap();
    let (st, v) = srv.post(&format!("/api/v1/supplier/offers/{oid}/publish"), s, pwd);
    assert_eq!(st, 200, "{v}");
    let (st, v) = srv.post(
        &format!("/api/v1/ops/suppliers/listings/{oid}/approve"),
        op,
        json!({}),
    );
    assert_eq!(st, 200, "{v}");
    oid
}

pub struct Market {
    pub srv: TestServer,
    pub op: Cred,
    pub green: i64,
    pub coal: i64,
    pub h100: i64,
    pub offline: i64,
    pub hydro: (i64, Cred),
}

/// Two suppliers: a hydro-powered one (an A100 node at 300 fen/min, rated 90 on the trade
/// chain; an H100 node; an A100 node in maintenance) and a coal-powered one (an A100 node
/// at 280 fen/min, half green by certificate purchase but 820 g/kWh, no ratings).
pub fn market() -> Market {
    let chain = Arc::new(Chain::default());
    let ratings = Arc::new(Ratings::default());
    let (c1, c2, r1) = (Arc::clone(&chain), Arc::clone(&chain), Arc::clone(&ratings));
    let srv = TestServer::start_platform(
        |_| {},
        Box::new(move |p| {
            p.with_supply_ledger(c1)
                .with_did_registry(c2)
                .with_trade_book(r1)
        }),
    );
    let op = srv.admin();
    let (horg, hydro, hdid) = supplier(&srv, &op, "Hydro Park", "hydro");
    let (_, coal, _) = supplier(&srv, &op, "Coal Valley", "coalv");
    assert!(hdid.starts_with("did:suanli:test:"), "DID {hdid:?}");
    ratings.0.lock().unwrap().push((hdid, 90.0, 3));
    let green = list(
        &srv,
        &op,
        &hydro,
        "hydro",
        resource("g1", "gpu-a100", "online", 0.95, 25.0, 1.1),
        300,
    );
    let coal_id = list(
        &srv,
        &op,
        &coal,
        "coalv",
        resource("c1", "A100", "online", 0.5, 820.0, 1.6),
        280,
    );
    let h100 = list(
        &srv,
        &op,
        &hydro,
        "hydro",
        resource("h1", "H100", "online", 0.95, 25.0, 1.1),
        500,
    );
    let offline = list(
        &srv,
        &op,
        &hydro,
        "hydro",
        resource("m1", "A100", "maintenance", 0.95, 25.0, 1.1),
        250,
    );
    Market {
        srv,
        op,
        green,
        coal: coal_id,
        h100,
        offline,
        hydro: (horg, hydro),
    }
}

/// An enterprise customer (its administrator may place orders).
pub fn customer(srv: &TestServer, op: &Cred, name: &str, admin: &str) -> (i64, Cred) {
    let (org, _, cred) = srv.org(op, "enterprise", name, admin);
    (org, cred)
}

pub fn post_demand(srv: &TestServer, c: &Cred, body: Value) -> (u16, Value) {
    srv.post("/api/v1/market/demands", c, body)
}
