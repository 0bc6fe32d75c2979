//! A trade's bundle — its records, the transactions that wrote them, their block headers
//! and inclusion proofs — built from a ledger ([`trade_bundle`]) for a party to keep and
//! anyone to verify offline (`suanli_trade::bundle::verify`, `suanli trade verify FILE`;
//! the format is `docs/trade.md` §10).

use suanli_ledger::TxId;
use suanli_primitives::ChainKind;
use suanli_trade::bundle::{BUNDLE_FORMAT, Bundle, BundleEntry, BundleParty};
use suanli_trade::records::Record;
use suanli_trade::{Serial, view};

use crate::LedgerClient;
use crate::error::ClientError;
use crate::supply::ChainState;

/// The bundle of trade `serial`: every record with its proof; `None` if there is no such
/// trade. Needs a ledger that serves raw state and proofs (the embedded node, or a node
/// on loopback or with a member token).
pub fn trade_bundle(
    client: &dyn LedgerClient,
    serial: &Serial,
) -> Result<Option<Bundle>, ClientError> {
    let state = ChainState::new(client, ChainKind::Trade);
    let Some(trade) = state.done(view::trade(&state, serial))? else {
        return Ok(None);
    };
    let party = |did| {
        let found = view::party(&state, did);
        state
            .done(found)?
            .ok_or_else(|| ClientError::invalid(format!("the chain holds no enrolment of {did}")))
    };
    let consumer = party(&trade.consumer)?;
    let supplier = party(&trade.supplier)?;
    let agent_keys = state.done(view::agents(&state, &trade.supplier))?;
    let mut records: Vec<Record> = Vec::new();
    loop {
        let from = u32::try_from(records.len()).unwrap_or(u32::MAX);
        let page = state.done(view::records(&state, serial, from, view::PAGE_MAX))?;
        let done = page.len() < view::PAGE_MAX;
        records.extend(page);
        if done {
            break;
        }
    }
    let mut entries = Vec::with_capacity(records.len());
    for record in records {
        entries.push(entry(client, record)?);
    }
    Ok(Some(Bundle {
        format: BUNDLE_FORMAT.to_owned(),
        serial: *serial,
        consumer: BundleParty {
            did: consumer.did,
            key: consumer.key,
        },
        supplier: BundleParty {
            did: supplier.did,
            key: supplier.key,
        },
        agent_keys: agent_keys.into_iter().map(|a| a.key).collect(),
        delegate_key: trade.delegate.map(|d| d.key),
        entries,
    }))
}

fn entry(client: &dyn LedgerClient, record: Record) -> Result<BundleEntry, ClientError> {
    let id: TxId = record.tx_id;
    let proof = client.tx_proof(&id)?.ok_or_else(|| {
        ClientError::invalid(format!("the node has no proof of transaction {id}"))
    })?;
    Ok(BundleEntry {
        record,
        tx_hex: proof.tx_hex,
        header_hex: hex::encode(proof.header.encode()),
        proof: proof.proof,
    })
}
