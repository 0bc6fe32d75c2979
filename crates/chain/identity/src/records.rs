//! Stored records of the authority-issuer list and the CPT registry.

use suanli_primitives::codec::{DecodeError, Reader, Writer};

use crate::did::{DID_ID_LEN_MAX, DidId};
use crate::op::{CPT_SCHEMA_BYTES_MAX, ISSUER_NAME_LEN_MAX};

fn read_did(r: &mut Reader<'_>) -> Result<DidId, DecodeError> {
    let text = r.str("did id", DID_ID_LEN_MAX)?;
    DidId::parse(text).map_err(|e| r.invalid("did id", e))
}

fn read_opt_u64(r: &mut Reader<'_>, what: &'static str) -> Result<Option<u64>, DecodeError> {
    Ok(match r.u8(what)? {
        0 => None,
        _ => Some(r.u64(what)?),
    })
}

fn write_opt_u64(w: &mut Writer, v: Option<u64>) {
    match v {
        None => {
            w.u8(0);
        }
        Some(v) => {
            w.u8(1).u64(v);
        }
    }
}

/// Most admission periods kept per issuer.
pub const ADMISSIONS_MAX: usize = 16;

/// An entry of the Authority-Issuer list with its whole admission history, so credentials
/// are judged by whether their issuer was admitted when it issued them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerRecord {
    pub name: String,
    /// (admitted at, removed at) in block time, oldest first; only the last may be open.
    pub periods: Vec<(u64, Option<u64>)>,
}

impl IssuerRecord {
    pub fn is_admitted(&self) -> bool {
        self.periods
            .last()
            .is_some_and(|(_, removed)| removed.is_none())
    }

    /// Whether the issuer was admitted at `at_ms`.
    pub fn admitted_at(&self, at_ms: u64) -> bool {
        self.periods
            .iter()
            .any(|(from, until)| *from <= at_ms && until.is_none_or(|u| at_ms < u))
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(&self.name).u8(self.periods.len() as u8);
        for (from, until) in &self.periods {
            w.u64(*from);
            write_opt_u64(&mut w, *until);
        }
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let name = r.str("issuer name", ISSUER_NAME_LEN_MAX)?.to_owned();
        let n = usize::from(r.u8("admission count")?);
        let mut periods = Vec::with_capacity(n.min(ADMISSIONS_MAX));
        for _ in 0..n {
            periods.push((r.u64("admitted")?, read_opt_u64(&mut r, "removed")?));
        }
        r.finish()?;
        Ok(IssuerRecord { name, periods })
    }
}

/// The ids in the issuer list.
pub fn encode_id_list(ids: &[DidId]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u32(ids.len() as u32);
    for id in ids {
        w.str(id.as_str());
    }
    w.finish()
}

pub fn decode_id_list(bytes: &[u8]) -> Result<Vec<DidId>, DecodeError> {
    let mut r = Reader::new(bytes);
    let n = r.u32("id count")? as usize;
    let mut ids = Vec::with_capacity(n.min(crate::contract::ISSUERS_MAX));
    for _ in 0..n {
        ids.push(read_did(&mut r)?);
    }
    r.finish()?;
    Ok(ids)
}

/// What a CPT is and who owns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CptMeta {
    pub publisher: DidId,
    pub qualification: bool,
    /// Published versions: 1..=versions.
    pub versions: u32,
}

impl CptMeta {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.str(self.publisher.as_str())
            .u8(u8::from(self.qualification))
            .u32(self.versions);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let meta = CptMeta {
            publisher: read_did(&mut r)?,
            qualification: r.u8("qualification")? != 0,
            versions: r.u32("versions")?,
        };
        r.finish()?;
        Ok(meta)
    }
}

/// One immutable published version of a CPT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CptVersion {
    pub schema_json: String,
    pub published_ms: u64,
    pub height: u64,
}

impl CptVersion {
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.schema_json.len() + 24);
        w.str(&self.schema_json)
            .u64(self.published_ms)
            .u64(self.height);
        w.finish()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = CptVersion {
            schema_json: r.str("schema", CPT_SCHEMA_BYTES_MAX)?.to_owned(),
            published_ms: r.u64("published")?,
            height: r.u64("height")?,
        };
        r.finish()?;
        Ok(version)
    }
}
