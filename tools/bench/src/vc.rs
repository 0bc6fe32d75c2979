//! `suanli bench vc`: credentials verified per second — every check (eddsa-jcs-2022 proof,
//! issuer key valid at issuance from the identity chain's history, CPT schema, validity
//! period, on-chain status) — against the raw Ed25519 verify rate of the same run.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value, json};
use suanli_identity::op::{IdentityOp, StatusPurpose};
use suanli_identity::view::ChainResolver;
use suanli_identity::{IdentityContract, SuanliDid, urn};
use suanli_ledger::{ChainEngine, Extensions, Genesis, Outcome, Payload, Transaction};
use suanli_primitives::{ChainId, ChainKind, NetworkName, SecretKey};
use suanli_vc::credential::{CredentialDraft, SchemaRef, StatusRef};
use suanli_vc::verify::Verifier;

/// Most credentials one run verifies.
const CREDENTIALS_MAX: usize = 200_000;

#[derive(Debug, Args)]
pub struct VcBenchArgs {
    /// Distinct credentials to verify (each is verified once per round).
    #[arg(long, default_value_t = 5_000)]
    pub credentials: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    credentials: usize,
    threads: usize,
    /// Full verifications per second, all threads.
    verified_per_s: f64,
    /// Ed25519 signature verifications per second, same threads, same run.
    raw_verify_per_s: f64,
    /// verified_per_s / raw_verify_per_s (1.0 would mean verification costs one Ed25519
    /// verify and nothing else).
    ratio: f64,
    /// Mean single-thread time of one full verification, microseconds.
    single_thread_us: f64,
}

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// An in-memory identity chain with one issuer DID and one registered CPT.
fn chain(issuer: &SecretKey) -> anyhow::Result<(ChainEngine, NetworkName)> {
    let network = NetworkName::new("suanli-bench")?;
    let proposer = SecretKey::from_label("bench-proposer");
    let genesis = Genesis::new(
        ChainId::new(network.clone(), ChainKind::Identity),
        T0,
        vec![proposer.public()],
        issuer.public(),
    )?;
    let block0 = ChainEngine::genesis_block(&genesis, &proposer);
    let mut engine = ChainEngine::from_genesis(genesis, &block0.header)?
        .with_extensions(Extensions::new().with(Arc::new(IdentityContract)));
    let ops = [
        IdentityOp::CreateDid,
        IdentityOp::RegisterCpt {
            publisher: suanli_identity::DidId::derive(&issuer.public()),
            cpt: None,
            qualification: true,
            schema_json: schema().to_string(),
        },
    ];
    for (nonce, op) in ops.into_iter().enumerate() {
        let tx = Transaction::sign(
            engine.chain(),
            issuer,
            nonce as u64,
            Payload::Call(op.to_call()?),
        );
        let executed =
            engine.execute(vec![tx], T0 + 1_000 * (nonce as u64 + 1), proposer.public())?;
        anyhow::ensure!(
            executed.outcomes[0] == Outcome::Applied,
            "bench set-up failed: {:?}",
            executed.outcomes[0]
        );
        let header = executed.header.seal(&proposer);
        engine.commit(header, executed.writes);
    }
    Ok((engine, network))
}

fn schema() -> Value {
    json!({
        "title": "GPU node qualification",
        "description": "bench CPT",
        "type": "object",
        "properties": {
            "gpuModel": {"type": "string", "maxLength": 64},
            "gpus": {"type": "integer", "minimum": 1},
            "region": {"type": "string"}
        },
        "required": ["gpuModel", "gpus", "region"],
        "additionalProperties": false
    })
}

pub fn run(args: VcBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=CREDENTIALS_MAX).contains(&args.credentials),
        "--credentials must be 1..={CREDENTIALS_MAX}"
    );
    let issuer_key = SecretKey::from_label("bench-issuer");
    let (engine, network) = chain(&issuer_key)?;
    let issuer = SuanliDid::for_initial_key(network.clone(), &issuer_key.public());
    let vm = format!("{issuer}#key-1");
    let schema_id = urn::cpt(&network, suanli_identity::contract::CPT_ID_FIRST, 1);
    let list = urn::StatusListId {
        network: network.clone(),
        issuer: issuer.id().clone(),
        purpose: StatusPurpose::Revocation,
        list: 0,
    }
    .urn();
    let issued_at = T0 + 10_000;
    let credentials: Vec<Value> = (0..args.credentials)
        .into_par_iter()
        .map(|i| {
            let holder = SecretKey::from_label(&format!("holder-{i}"));
            let mut subject = Map::new();
            subject.insert(
                "id".into(),
                json!(suanli_vc::did_key::DidKey::from_public_key(&holder.public()).did()),
            );
            subject.insert("gpuModel".into(), json!("H800"));
            subject.insert("gpus".into(), json!(8 + i % 8));
            subject.insert("region".into(), json!("cn-east-fuzhou"));
            let draft = CredentialDraft {
                id: None,
                types: vec!["QualificationCredential".into()],
                issuer: issuer.to_string(),
                subject,
                valid_from: issued_at,
                valid_until: None,
                schema: Some(SchemaRef {
                    id: schema_id.clone(),
                }),
                status: Some(StatusRef {
                    list_credential: list.clone(),
                    index: (i % suanli_identity::op::STATUS_LIST_BITS as usize) as u64,
                    purpose: StatusPurpose::Revocation,
                }),
            };
            suanli_vc::credential::issue(&draft, &vm, issued_at, &issuer_key)
                .map_err(|e| anyhow::anyhow!("issuing: {e}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let now = issued_at + 60_000;
    let authority = suanli_identity::DidId::derive(&issuer_key.public());
    let resolver = ChainResolver {
        state: engine.state(),
        network: &network,
        authority: &authority,
    };
    let verify = |vc: &Value| {
        Verifier {
            keys: &resolver,
            schemas: &resolver,
            status: &resolver,
        }
        .verify_credential(vc, now)
    };
    // Every credential must verify, or the figure would measure failures.
    let first = verify(&credentials[0]);
    anyhow::ensure!(
        first.ok(),
        "bench credential does not verify: {:?}",
        first.first_failure()
    );

    let single = credentials.len().min(1_000);
    let started = Instant::now();
    for vc in &credentials[..single] {
        std::hint::black_box(verify(vc));
    }
    let single_thread_us = started.elapsed().as_secs_f64() * 1e6 / single as f64;

    let started = Instant::now();
    let ok = credentials.par_iter().filter(|vc| verify(vc).ok()).count();
    let verify_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        ok == credentials.len(),
        "{} of {} credentials failed",
        credentials.len() - ok,
        credentials.len()
    );

    // Baseline: the same number of bare Ed25519 verifications of 256-byte messages.
    let messages: Vec<(Vec<u8>, suanli_primitives::Signature)> = (0..credentials.len())
        .into_par_iter()
        .map(|i| {
            let msg = format!("{i:0>256}").into_bytes();
            let sig = issuer_key.sign(&msg);
            (msg, sig)
        })
        .collect();
    let public = issuer_key.public();
    let started = Instant::now();
    let raw_ok = messages
        .par_iter()
        .filter(|(m, s)| public.verify(m, s))
        .count();
    let raw_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(raw_ok == messages.len(), "baseline signatures failed");

    let verified_per_s = credentials.len() as f64 / verify_s;
    let raw_verify_per_s = messages.len() as f64 / raw_s;
    let report = Report {
        credentials: credentials.len(),
        threads: rayon::current_num_threads(),
        verified_per_s,
        raw_verify_per_s,
        ratio: verified_per_s / raw_verify_per_s,
        single_thread_us,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).context("report")?);
    } else {
        println!(
            "verified {} credentials on {} threads: {:.0} credentials/s (every check, chain-backed)\n\
             raw Ed25519 verify, same run:        {:.0} verifies/s\n\
             ratio:                               {:.3}\n\
             one verification, single thread:     {:.1} µs",
            report.credentials,
            report.threads,
            report.verified_per_s,
            report.raw_verify_per_s,
            report.ratio,
            report.single_thread_us
        );
    }
    Ok(())
}
