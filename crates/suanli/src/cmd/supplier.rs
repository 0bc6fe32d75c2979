//! `suanli supplier …`: what a data centre scripts against the platform's API
//! (`docs/supply.md` §2) — importing resources from CSV, listing resources, modes and
//! offers, creating an offer, and publishing it on the trade chain signed by the
//! supplier's own key (the platform opens the key with the password given for that one
//! request). Talks to `/api/v1/supplier/…` with an API token (scopes `supply:read`,
//! `supply:manage`); parsing and printing only.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// Longest wait for one platform request, in seconds (publishing waits for the chain).
pub const REQUEST_TIMEOUT_SECS: u64 = 60;
/// Longest validity an offer made here gets, in days.
pub const OFFER_DAYS_MAX: i64 = 366;

/// The platform the command talks to.
#[derive(Debug, Clone, Args)]
pub struct PlatformTarget {
    /// Base URL of the platform (`suanli serve`).
    #[arg(long, env = "SUANLI_PLATFORM", default_value = "http://127.0.0.1:8080")]
    pub platform: String,
    /// File holding an API token (slt_…) of the supplier's administrator.
    #[arg(long, env = "SUANLI_TOKEN_FILE")]
    pub token_file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum SupplierCmd {
    /// Resources (devices, nodes).
    #[command(subcommand)]
    Resource(ResourceCmd),
    /// Trade modes.
    #[command(subcommand)]
    Mode(ModeCmd),
    /// Offers and their listing.
    #[command(subcommand)]
    Offer(OfferCmd),
}

#[derive(Debug, Subcommand)]
pub enum ResourceCmd {
    /// Import resources from a CSV file: every line, or nothing and every bad cell.
    Import {
        #[command(flatten)]
        target: PlatformTarget,
        /// The CSV file (columns in docs/supply.md §2).
        #[arg(long)]
        csv: PathBuf,
    },
    /// The supplier's resources.
    List {
        #[command(flatten)]
        target: PlatformTarget,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModeCmd {
    /// The supplier's trade modes.
    List {
        #[command(flatten)]
        target: PlatformTarget,
    },
}

#[derive(Debug, Subcommand)]
pub enum OfferCmd {
    /// The supplier's offer versions with their listing status.
    List {
        #[command(flatten)]
        target: PlatformTarget,
    },
    /// Create an offer (a draft) from resources under a mode.
    Create {
        #[command(flatten)]
        target: PlatformTarget,
        #[arg(long)]
        title: String,
        /// The platform id of the trade mode.
        #[arg(long)]
        mode: i64,
        /// Resource ids, comma-separated.
        #[arg(long, value_delimiter = ',')]
        resources: Vec<i64>,
        #[arg(long, default_value_t = 1)]
        units: u32,
        /// Valid from now for this many days.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Publish a draft on the trade chain, signed by the supplier's key: it then waits for
    /// the operator's listing review. The trade mode is published first if it is not yet.
    Publish {
        #[command(flatten)]
        target: PlatformTarget,
        /// The offer version's id.
        id: i64,
        /// File holding the administrator's password, which opens the key (or
        /// SUANLI_PASSWORD).
        #[arg(long, env = "SUANLI_PASSWORD_FILE")]
        password_file: Option<PathBuf>,
    },
}

struct Client {
    base: String,
    bearer: String,
    agent: ureq::Agent,
}

impl Client {
    fn new(t: &PlatformTarget) -> anyhow::Result<Self> {
        let token = std::fs::read_to_string(&t.token_file)
            .with_context(|| format!("read the token file {}", t.token_file.display()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(REQUEST_TIMEOUT_SECS)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Client {
            base: t.platform.trim_end_matches('/').to_owned(),
            bearer: format!("Bearer {}", token.trim()),
            agent,
        })
    }

    /// Sends the request; a platform refusal is an error with its code, field and message.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let answer = match body {
            None => self
                .agent
                .get(&url)
                .header("authorization", &self.bearer)
                .call(),
            Some(b) => self
                .agent
                .post(&url)
                .header("authorization", &self.bearer)
                .header("content-type", "application/json")
                .send(b.to_string()),
        };
        let mut r = answer.with_context(|| format!("{method} {url}"))?;
        let status = r.status().as_u16();
        let v: Value = r
            .body_mut()
            .read_json()
            .with_context(|| format!("{method} {url}: not JSON"))?;
        if status >= 400 {
            let e = &v["error"];
            let field = e["field"]
                .as_str()
                .map(|f| format!(" [{f}]"))
                .unwrap_or_default();
            bail!(
                "{} {}{field}: {}",
                status,
                e["code"].as_str().unwrap_or("?"),
                e["message"].as_str().unwrap_or("?")
            );
        }
        Ok(v)
    }
}

fn password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    if let Some(f) = file {
        let p = std::fs::read_to_string(f).with_context(|| format!("read {}", f.display()))?;
        return Ok(p.trim_end_matches(['\r', '\n']).to_owned());
    }
    std::env::var("SUANLI_PASSWORD")
        .context("give the administrator's password with --password-file or SUANLI_PASSWORD")
}

fn print_offer(o: &Value) {
    println!(
        "offer #{} v{} {:?} mode #{} units {} status {}{}{}",
        o["id"],
        o["version"],
        o["title"].as_str().unwrap_or(""),
        o["mode_id"],
        o["units"],
        o["status"].as_str().unwrap_or("?"),
        o["chain_offer_id"]
            .as_u64()
            .map(|c| format!(" chain offer #{c}"))
            .unwrap_or_default(),
        o["reason"]
            .as_str()
            .map(|r| format!(" reason: {r}"))
            .unwrap_or_default(),
    );
}

pub fn run(cmd: SupplierCmd) -> anyhow::Result<()> {
    match cmd {
        SupplierCmd::Resource(ResourceCmd::Import { target, csv }) => {
            let text =
                std::fs::read_to_string(&csv).with_context(|| format!("read {}", csv.display()))?;
            let v = Client::new(&target)?.call(
                "POST",
                "/api/v1/supplier/resources/import",
                Some(&json!({"csv": text})),
            )?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            println!("imported {} resource(s)", items.len());
            for r in items {
                println!(
                    "resource #{} {}",
                    r["id"],
                    r["attributes"]["name"].as_str().unwrap_or("")
                );
            }
        }
        SupplierCmd::Resource(ResourceCmd::List { target }) => {
            let v =
                Client::new(&target)?.call("GET", "/api/v1/supplier/resources?limit=200", None)?;
            for r in v["items"].as_array().into_iter().flatten() {
                let a = &r["attributes"];
                println!(
                    "resource #{} {} {}x{} {}GB {} {}",
                    r["id"],
                    a["name"].as_str().unwrap_or(""),
                    a["gpu_model"].as_str().unwrap_or(""),
                    a["gpu_count"],
                    a["gpu_mem_gb"],
                    a["region"].as_str().unwrap_or(""),
                    a["status"].as_str().unwrap_or("")
                );
            }
        }
        SupplierCmd::Mode(ModeCmd::List { target }) => {
            let v = Client::new(&target)?.call("GET", "/api/v1/supplier/modes", None)?;
            for m in v["items"].as_array().into_iter().flatten() {
                let t = &m["terms"];
                println!(
                    "mode #{} {:?} {} fen/min, min {} fen, check-in {} min{}",
                    m["id"],
                    t["name"].as_str().unwrap_or(""),
                    t["price_fen_per_min"],
                    t["min_charge_fen"],
                    t["checkin_period_min"],
                    m["chain_mode_id"]
                        .as_u64()
                        .map(|c| format!(", chain mode #{c}"))
                        .unwrap_or_else(|| ", not on the chain".into())
                );
            }
        }
        SupplierCmd::Offer(OfferCmd::List { target }) => {
            let v = Client::new(&target)?.call("GET", "/api/v1/supplier/offers?limit=200", None)?;
            v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .for_each(print_offer);
        }
        SupplierCmd::Offer(OfferCmd::Create {
            target,
            title,
            mode,
            resources,
            units,
            days,
        }) => {
            if !(1..=OFFER_DAYS_MAX).contains(&days) {
                bail!("--days must be 1 to {OFFER_DAYS_MAX}");
            }
            let now = i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)?
                    .as_millis(),
            )?;
            let body = json!({"title": title, "mode_id": mode, "resource_ids": resources, "units": units,
                              "valid_from_ms": now, "valid_until_ms": now + days * 86_400_000});
            let v = Client::new(&target)?.call("POST", "/api/v1/supplier/offers", Some(&body))?;
            print_offer(&v["offer"]);
        }
        SupplierCmd::Offer(OfferCmd::Publish {
            target,
            id,
            password_file,
        }) => {
            let c = Client::new(&target)?;
            let pwd = json!({"password": password(password_file.as_ref())?});
            let offer = c.call("GET", &format!("/api/v1/supplier/offers/{id}"), None)?;
            let mode_id = offer["offer"]["mode_id"]
                .as_i64()
                .context("the offer names no mode")?;
            let mode = c.call("GET", &format!("/api/v1/supplier/modes/{mode_id}"), None)?;
            if mode["mode"]["chain_mode_id"].is_null() {
                let m = c.call(
                    "POST",
                    &format!("/api/v1/supplier/modes/{mode_id}/publish"),
                    Some(&pwd),
                )?;
                println!(
                    "mode #{mode_id} published: chain mode #{}",
                    m["mode"]["chain_mode_id"]
                );
            }
            let v = c.call(
                "POST",
                &format!("/api/v1/supplier/offers/{id}/publish"),
                Some(&pwd),
            )?;
            print_offer(&v["offer"]);
        }
    }
    Ok(())
}
