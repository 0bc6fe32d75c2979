//! Identity endpoints (under `/1.0`, the DIF Universal Resolver's prefix):
//! `GET /1.0/identifiers/{did}` (`?versionTime=` XML dateTime or `?versionId=`),
//! `GET /1.0/cpts`, `GET /1.0/cpts/{id}` (`?version=`), `GET /1.0/issuers`,
//! `GET /1.0/status/{list urn}`, `POST /1.0/credentials/verify`,
//! `POST /1.0/presentations/verify`. Writes (DID operations, CPTs, issuer admission,
//! revocation) are ordinary transactions posted to `/v1/txs`; the node never sees a
//! private key.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use suanli_identity::contract::{self, CPT_ID_FIRST};
use suanli_identity::view::{ChainResolver, VersionSelector};
use suanli_identity::{DidId, cpt, resolve, urn};
use suanli_node::Node;
use suanli_primitives::ChainKind;
use suanli_vc::verify::Verifier;

use crate::{ApiError, ApiResult, blocking, read_body};

/// Most CPTs one list page returns.
pub const PAGE_CPTS_MAX: u32 = cpt::CPT_PAGE_MAX;

pub(crate) fn params(query: &Option<String>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad("bad_query", format!("query string: {e}")))
}

pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn parse_u32(text: &str, name: &str) -> Result<u32, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad(
            "bad_query",
            format!("{name} must be a non-negative integer, got {text:?}"),
        )
    })
}

fn selector(params: &[(String, String)]) -> Result<VersionSelector, ApiError> {
    match (param(params, "versionTime"), param(params, "versionId")) {
        (Some(_), Some(_)) => Err(ApiError::bad(
            "bad_query",
            "give versionTime or versionId, not both",
        )),
        (Some(t), None) => suanli_vc::time::parse_datetime_ms(t)
            .map(VersionSelector::AtTime)
            .map_err(|e| {
                ApiError::bad(
                    "bad_query",
                    format!(
                        "versionTime must be an XML dateTime such as 2026-01-01T00:00:00Z: {e}"
                    ),
                )
            }),
        (None, Some(v)) => Ok(VersionSelector::Id(parse_u32(v, "versionId")?)),
        (None, None) => Ok(VersionSelector::Latest),
    }
}

fn resolution_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(
            "application/ld+json;profile=\"https://w3id.org/did-resolution\"",
        ),
    );
    response
}

pub(crate) async fn resolve_did(
    State(node): State<Arc<Node>>,
    Path(did): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let selector = selector(&params(&query)?)?;
    blocking(&node, move |node| {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        let result = node.with_state(ChainKind::Identity, |s| {
            resolve(s, &network, &did, selector)
        });
        Ok(match result {
            Ok(body) => {
                // DID Resolution: a deactivated DID answers 410 Gone with its metadata.
                let gone = body["didDocumentMetadata"]["deactivated"] == json!(true);
                let status = if gone {
                    StatusCode::GONE
                } else {
                    StatusCode::OK
                };
                resolution_response(status, body)
            }
            Err(e) => {
                let status = match e.code() {
                    "invalidDid" => StatusCode::BAD_REQUEST,
                    "notFound" => StatusCode::NOT_FOUND,
                    "methodNotSupported" => StatusCode::NOT_IMPLEMENTED,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                resolution_response(status, e.to_json())
            }
        })
    })
    .await
}

fn contract_failure(e: suanli_ledger::contract::ContractError) -> ApiError {
    tracing::error!(error = %e, "identity state unreadable");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage",
        "the identity state could not be read; see the node's log",
    )
}

pub(crate) async fn list_cpts(
    State(node): State<Arc<Node>>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = params(&query)?;
    let from = param(&params, "from").map_or(Ok(CPT_ID_FIRST), |v| parse_u32(v, "from"))?;
    let limit = param(&params, "limit").map_or(Ok(PAGE_CPTS_MAX), |v| parse_u32(v, "limit"))?;
    if limit == 0 || limit > PAGE_CPTS_MAX {
        return Err(ApiError::bad(
            "bad_query",
            format!("limit must be 1..={PAGE_CPTS_MAX}"),
        ));
    }
    blocking(&node, move |node| {
        let (registered, next) = node
            .with_state(ChainKind::Identity, |s| {
                let page = cpt::list(s, from, limit)?;
                let next = contract::next_cpt_id(s)?;
                Ok::<_, suanli_ledger::contract::ContractError>((page, next))
            })
            .map_err(contract_failure)?;
        let last = registered.last().map(|c| c.id + 1);
        let next_from = last.filter(|n| *n < next);
        let builtin: Vec<Value> = cpt::builtins()
            .into_iter()
            .map(|(id, name, schema)| json!({"id": id, "name": name, "title": schema["title"]}))
            .collect();
        Ok(axum::Json(
            json!({"builtin": builtin, "registered": registered, "next_from": next_from}),
        )
        .into_response())
    })
    .await
}

pub(crate) async fn get_cpt(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let id = parse_u32(&id, "CPT id")?;
    let params = params(&query)?;
    let version = param(&params, "version")
        .map(|v| parse_u32(v, "version"))
        .transpose()?;
    blocking(&node, move |node| {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        let found = node
            .with_state(ChainKind::Identity, |s| cpt::get(s, id, version))
            .map_err(contract_failure)?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no CPT {id}{}",
                    version.map(|v| format!(" version {v}")).unwrap_or_default()
                ))
            })?;
        let schema_id = urn::cpt(&network, found.id, found.version);
        let mut body = serde_json::to_value(&found).map_err(|_| internal())?;
        body["schema_id"] = json!(schema_id);
        Ok(axum::Json(body).into_response())
    })
    .await
}

fn internal() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "could not render the answer",
    )
}

pub(crate) async fn list_issuers(State(node): State<Arc<Node>>) -> ApiResult {
    blocking(&node, move |node| {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        let operator = node.genesis(ChainKind::Identity).credit_operator;
        let authority_did = suanli_identity::SuanliDid::for_initial_key(network.clone(), &operator);
        let issuers = node
            .with_state(ChainKind::Identity, |s| {
                contract::issuer_ids(s)?
                    .into_iter()
                    .map(|id| {
                        let record = contract::issuer_record(s, &id)?;
                        Ok(record.map(|r| {
                            json!({
                                "did": suanli_identity::SuanliDid::new(network.clone(), id).to_string(),
                                "name": r.name,
                                "admitted": r.is_admitted(),
                                "periods": r.periods.iter().map(|(from, until)| json!({"admitted_ms": from, "removed_ms": until})).collect::<Vec<_>>(),
                            })
                        }))
                    })
                    .collect::<Result<Vec<_>, suanli_ledger::contract::ContractError>>()
            })
            .map_err(contract_failure)?;
        Ok(axum::Json(json!({"authority": authority_did.to_string(), "issuers": issuers.into_iter().flatten().collect::<Vec<_>>()}))
            .into_response())
    })
    .await
}

pub(crate) async fn status_list(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> ApiResult {
    let list = urn::parse_status(&id).map_err(|e| ApiError::bad("bad_status_list", e))?;
    blocking(&node, move |node| {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        if list.network != network {
            return Err(ApiError::not_found(format!(
                "{id} is not a status list of network {network}"
            )));
        }
        let (bits, height, time) = node
            .with_state(ChainKind::Identity, |s| {
                contract::status_list_bits(s, &list.issuer, list.purpose, list.list)
            })
            .map(|bits| {
                let head = node.head(ChainKind::Identity);
                (bits, head.height(), head.unsigned.timestamp_ms)
            })
            .map_err(contract_failure)?;
        let issuer = suanli_identity::SuanliDid::new(network, list.issuer.clone()).to_string();
        let mut credential = suanli_vc::status_list::status_list_credential(
            &list.urn(),
            &issuer,
            list.purpose,
            &bits,
            time,
        )
        .map_err(|_| internal())?;
        // Unsigned by design: the list's integrity comes from the identity chain (block
        // height below), where only the issuer's keys can change it.
        credential["suanliChainHeight"] = json!(height);
        Ok(axum::Json(credential).into_response())
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyCredential {
    credential: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyPresentation {
    presentation: Value,
    challenge: String,
    domain: String,
}

pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &Bytes,
    shape: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad("bad_json", format!("expected {shape}: {e}")))
}

pub(crate) async fn verify_credential(State(node): State<Arc<Node>>, body: Body) -> ApiResult {
    let body = read_body(body).await?;
    let req: VerifyCredential = parse_body(&body, "{\"credential\": {…}}")?;
    blocking(&node, move |node| {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        let now = node.now_ms();
        let authority = authority_id(node);
        let report = node.with_state(ChainKind::Identity, |s| {
            let resolver = ChainResolver {
                state: s,
                network: &network,
                authority: &authority,
            };
            Verifier {
                keys: &resolver,
                schemas: &resolver,
                status: &resolver,
            }
            .verify_credential(&req.credential, now)
        });
        Ok(axum::Json(json!({"verified": report.ok(), "report": report})).into_response())
    })
    .await
}

pub(crate) async fn verify_presentation(State(node): State<Arc<Node>>, body: Body) -> ApiResult {
    let body = read_body(body).await?;
    let req: VerifyPresentation = parse_body(
        &body,
        "{\"presentation\": {…}, \"challenge\": \"…\", \"domain\": \"…\"}",
    )?;
    if req.challenge.trim().is_empty() || req.domain.trim().is_empty() {
        return Err(ApiError::bad(
            "bad_request",
            "challenge and domain must be the non-empty values this verifier issued",
        ));
    }
    blocking(&node, move |node| {
        let network = node.chain_id(ChainKind::Identity).network().clone();
        let now = node.now_ms();
        let authority = authority_id(node);
        let report = node.with_state(ChainKind::Identity, |s| {
            let resolver = ChainResolver {
                state: s,
                network: &network,
                authority: &authority,
            };
            Verifier {
                keys: &resolver,
                schemas: &resolver,
                status: &resolver,
            }
            .verify_presentation(&req.presentation, &req.challenge, &req.domain, now)
        });
        Ok(axum::Json(json!({"verified": report.ok(), "report": report})).into_response())
    })
    .await
}

/// The authority's DID id on this node's network (for clients building admissions).
pub fn authority_id(node: &Node) -> DidId {
    DidId::derive(&node.genesis(ChainKind::Identity).credit_operator)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrepareRequest {
    signer: suanli_primitives::PublicKey,
    op: suanli_identity::op_json::IdentityOpJson,
}

/// `POST /1.0/identity/prepare`: turns a JSON identity operation into the transaction
/// fields and the exact bytes to sign at the signer's next nonce. The client signs them
/// with its own key and posts `{"tx": {chain, signer, nonce, payload, signature}}` to
/// `/v1/txs`; the node never sees a private key.
pub(crate) async fn prepare(State(node): State<Arc<Node>>, body: Body) -> ApiResult {
    let body = read_body(body).await?;
    let req: PrepareRequest = parse_body(
        &body,
        "{\"signer\": \"<hex key>\", \"op\": {\"op\": \"create_did\", …}}",
    )?;
    let op =
        suanli_identity::IdentityOp::try_from(req.op).map_err(|e| ApiError::bad("bad_op", e))?;
    let call = op
        .to_call()
        .map_err(|e| ApiError::bad("bad_op", e.to_string()))?;
    let payload = suanli_ledger::Payload::Call(call);
    let chain = node.chain_id(ChainKind::Identity);
    let nonce = node.next_nonce(ChainKind::Identity, &req.signer);
    let message = suanli_ledger::tx::signing_bytes(&chain, &req.signer, nonce, &payload);
    Ok(axum::Json(json!({
        "tx": {"chain": chain, "signer": req.signer, "nonce": nonce, "payload": payload},
        "signing_message_hex": hex::encode(message),
    }))
    .into_response())
}
