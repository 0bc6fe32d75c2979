//! `did:key` for Ed25519 (W3C CCG "The did:key Method v0.7"): the DID is
//! `did:key:` + the key's Multikey encoding, its one verification method is
//! `did:key:z6Mk…#z6Mk…`, and the DID document is derived from the key alone — no ledger.

use serde_json::{Value, json};
use suanli_primitives::PublicKey;

use crate::VcError;
use crate::did::parse_did_url;
use crate::multikey::{decode_ed25519_multikey, encode_ed25519_multikey};

/// DID Core 1.0 context.
pub const DID_CONTEXT_V1: &str = "https://www.w3.org/ns/did/v1";
/// Multikey context (Controlled Identifiers / Data Integrity).
pub const MULTIKEY_CONTEXT_V1: &str = "https://w3id.org/security/multikey/v1";

/// An Ed25519 `did:key`. Always holds a valid DID and a valid key that agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidKey {
    did: String,
    multikey: String,
    key: PublicKey,
}

impl DidKey {
    /// Parses `did:key:z6Mk…` (no fragment). Non-Ed25519 keys are refused.
    pub fn parse(s: &str) -> Result<DidKey, VcError> {
        let url = parse_did_url(s)?;
        if url.method != "key" {
            return Err(VcError::DidMethodNotSupported(url.method.to_string()));
        }
        if url.fragment.is_some() {
            return Err(VcError::InvalidDid(format!(
                "{s}: a DID, not a DID URL, was expected"
            )));
        }
        let key = decode_ed25519_multikey(url.method_specific_id)
            .map_err(|e| VcError::InvalidDid(format!("{s}: not an Ed25519 did:key ({e})")))?;
        Ok(DidKey::from_public_key(&key))
    }

    pub fn from_public_key(pk: &PublicKey) -> DidKey {
        let multikey = encode_ed25519_multikey(pk);
        DidKey {
            did: format!("did:key:{multikey}"),
            multikey,
            key: *pk,
        }
    }

    pub fn did(&self) -> &str {
        &self.did
    }

    pub fn public_key(&self) -> PublicKey {
        self.key
    }

    /// `did:key:z6Mk…#z6Mk…`
    pub fn verification_method_id(&self) -> String {
        format!("{}#{}", self.did, self.multikey)
    }

    /// The DID document (DID Core 1.0) with one `Multikey` verification method, referenced
    /// from `authentication`, `assertionMethod`, `capabilityInvocation` and
    /// `capabilityDelegation` as the did:key method specifies.
    pub fn document(&self) -> Value {
        let vm = self.verification_method_id();
        json!({
            "@context": [DID_CONTEXT_V1, MULTIKEY_CONTEXT_V1],
            "id": self.did,
            "verificationMethod": [{
                "id": vm,
                "type": "Multikey",
                "controller": self.did,
                "publicKeyMultibase": self.multikey,
            }],
            "authentication": [vm],
            "assertionMethod": [vm],
            "capabilityInvocation": [vm],
            "capabilityDelegation": [vm],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_primitives::SecretKey;

    // w3c-ccg/did-method-key, test-vectors/ed25519-x25519.json: seed → did, publicKeyBase58.
    const CCG_VECTORS: [(u8, &str, &str); 5] = [
        (
            0,
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
        ),
        (
            1,
            "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
            "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
        ),
        (
            2,
            "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
            "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
        ),
        (
            3,
            "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
            "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
        ),
        (
            4,
            "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
            "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
        ),
    ];

    #[test]
    fn ccg_test_vectors() {
        for (last, did, base58) in CCG_VECTORS {
            let mut seed = [0u8; 32];
            seed[31] = last;
            let pk = SecretKey::from_seed(&seed).public();
            assert_eq!(bs58::encode(pk.as_bytes()).into_string(), base58);
            let dk = DidKey::from_public_key(&pk);
            assert_eq!(dk.did(), did);
            let parsed = DidKey::parse(did).unwrap();
            assert_eq!(parsed, dk);
            assert_eq!(parsed.public_key(), pk);
            let fragment = &did["did:key:".len()..];
            assert_eq!(dk.verification_method_id(), format!("{did}#{fragment}"));
        }
    }

    #[test]
    fn document_shape() {
        let dk = DidKey::parse(CCG_VECTORS[0].1).unwrap();
        let doc = dk.document();
        let vm = dk.verification_method_id();
        assert_eq!(doc["id"], dk.did());
        assert_eq!(doc["@context"][0], DID_CONTEXT_V1);
        assert_eq!(doc["@context"][1], MULTIKEY_CONTEXT_V1);
        assert_eq!(doc["verificationMethod"][0]["type"], "Multikey");
        assert_eq!(doc["verificationMethod"][0]["id"], vm.as_str());
        assert_eq!(doc["verificationMethod"][0]["controller"], dk.did());
        assert_eq!(
            doc["verificationMethod"][0]["publicKeyMultibase"],
            "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        );
        assert_eq!(doc["authentication"][0], vm.as_str());
        assert_eq!(doc["assertionMethod"][0], vm.as_str());
    }

    #[test]
    fn rejects_non_ed25519_and_other_methods() {
        assert!(matches!(
            DidKey::parse("did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F"),
            Err(VcError::InvalidDid(_))
        ));
        assert!(matches!(
            DidKey::parse("did:web:example.com"),
            Err(VcError::DidMethodNotSupported(_))
        ));
        assert!(matches!(
            DidKey::parse("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#x"),
            Err(VcError::InvalidDid(_))
        ));
        assert!(matches!(
            DidKey::parse("did:key"),
            Err(VcError::InvalidDid(_))
        ));
    }
}
