//! The identity contract's state layout. Every key starts with `id/`; numbers are
//! big-endian so that prefix scans return them in order.

use crate::did::DidId;
use crate::op::{StatusPurpose, purpose_code};

pub fn did_count(id: &DidId) -> Vec<u8> {
    [b"id/did/".as_slice(), id.as_str().as_bytes(), b"/n"].concat()
}

pub fn did_version(id: &DidId, version: u32) -> Vec<u8> {
    [
        b"id/did/".as_slice(),
        id.as_str().as_bytes(),
        b"/v/",
        &version.to_be_bytes(),
    ]
    .concat()
}

pub fn issuer(id: &DidId) -> Vec<u8> {
    [b"id/iss/".as_slice(), id.as_str().as_bytes()].concat()
}

/// The ids of every DID ever admitted as an issuer, in admission order.
pub const ISSUER_LIST: &[u8] = b"id/iss-list";

pub const CPT_NEXT: &[u8] = b"id/cpt-next";

pub fn cpt_meta(cpt: u32) -> Vec<u8> {
    [b"id/cpt/".as_slice(), &cpt.to_be_bytes(), b"/m"].concat()
}

pub fn cpt_version(cpt: u32, version: u32) -> Vec<u8> {
    [
        b"id/cpt/".as_slice(),
        &cpt.to_be_bytes(),
        b"/v/",
        &version.to_be_bytes(),
    ]
    .concat()
}

/// Bytes of one stored chunk of a status list (4,096 bits): a list is 32 chunks, so a
/// revocation rewrites 512 bytes, not the whole 16 KiB list.
pub const STATUS_CHUNK_BYTES: usize = 512;

pub fn status_chunk(issuer: &DidId, purpose: StatusPurpose, list: u16, chunk: u16) -> Vec<u8> {
    [
        b"id/st/".as_slice(),
        issuer.as_str().as_bytes(),
        b"/",
        &[purpose_code(purpose)],
        &list.to_be_bytes(),
        &chunk.to_be_bytes(),
    ]
    .concat()
}
