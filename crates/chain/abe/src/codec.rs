//! Versioned byte formats of keys, capsules and ciphertexts.
//!
//! Every object starts with two bytes: the format version ([`FORMAT_VERSION`], now 1) and
//! its kind (1 public key, 2 master key, 3 user key, 4 capsule, 5 ciphertext). The body
//! follows, field by field, with arkworks' canonical *compressed* encodings:
//! G1 = 48 bytes, G2 = 96 bytes, GT = 576 bytes, scalars = 32 bytes little-endian.
//! A count or length is a u64 little-endian; a string is its length and UTF-8 bytes.
//!
//! ```text
//! public key  (1): h^{a₁} h^{a₂} h (3×G2) · e(g,h)^{d₁a₁+d₃} e(g,h)^{d₂a₂+d₃} (2×GT)   1442 bytes
//! master key  (2): g (G1) · h (G2) · g^{d₁} g^{d₂} g^{d₃} (3×G1) · a₁ a₂ b₁ b₂ (4×Fr)    418 bytes
//! user key    (3): n · n × (attribute string · sk_{y,1..3} 3×G1) · sk₀ (3×G2) · sk' (3×G1)
//! capsule     (4): policy (canonical text) · ct₀ (3×G2) · n · n × ct_i (3×G1)
//! ciphertext  (5): capsule body (as in 4) · sealed payload (length · AEAD output)
//! ```
//!
//! Decoding checks the version and kind, every limit (policy, attribute count,
//! [`crate::PAYLOAD_BYTES_MAX`]), that each point is on the curve and in the prime-order
//! subgroup, that a user key's attributes are valid and strictly sorted, that a capsule
//! has one row per policy leaf, and that no bytes trail.

use ark_bls12_381::{Fr, G1Affine, G2Affine};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

use crate::error::AbeError;
use crate::fame::{Capsule, Gt, KEY_ATTRIBUTES_MAX, MasterKey, PublicKey, UserKey};
use crate::hybrid::{Ciphertext, PAYLOAD_BYTES_MAX, SEAL_OVERHEAD_BYTES};
use crate::policy::{
    ATTRIBUTE_BYTES_MAX, POLICY_LEAVES_MAX, POLICY_TEXT_BYTES_MAX, Policy, validate_attribute,
};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    PublicKey = 1,
    MasterKey = 2,
    UserKey = 3,
    Capsule = 4,
    Ciphertext = 5,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::PublicKey => "public key",
            Kind::MasterKey => "master key",
            Kind::UserKey => "user key",
            Kind::Capsule => "capsule",
            Kind::Ciphertext => "ciphertext",
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        [
            Kind::PublicKey,
            Kind::MasterKey,
            Kind::UserKey,
            Kind::Capsule,
            Kind::Ciphertext,
        ]
        .into_iter()
        .find(|k| *k as u8 == b)
    }
}

struct Writer(Vec<u8>);

impl Writer {
    fn new(kind: Kind) -> Self {
        Writer(vec![FORMAT_VERSION, kind as u8])
    }

    #[allow(clippy::expect_used)] // writing a valid element into a Vec cannot fail
    fn put<T: CanonicalSerialize>(&mut self, x: &T) {
        x.serialize_compressed(&mut self.0)
            .expect("serialising into a Vec does not fail");
    }

    fn put_all<T: CanonicalSerialize>(&mut self, xs: &[T]) {
        xs.iter().for_each(|x| self.put(x));
    }

    fn len(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u64).to_le_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a> {
    rest: &'a [u8],
    kind: Kind,
}

impl<'a> Reader<'a> {
    fn open(bytes: &'a [u8], kind: Kind) -> Result<Self, AbeError> {
        let [version, found, rest @ ..] = bytes else {
            return Err(malformed(kind, "shorter than its two-byte header"));
        };
        if *version != FORMAT_VERSION {
            return Err(AbeError::VersionUnsupported {
                found: *version,
                supported: FORMAT_VERSION,
            });
        }
        if *found != kind as u8 {
            return Err(AbeError::KindMismatch {
                found: Kind::from_byte(*found).map_or("unknown object", Kind::name),
                expected: kind.name(),
            });
        }
        Ok(Reader { rest, kind })
    }

    fn get<T: CanonicalDeserialize>(&mut self, what: &'static str) -> Result<T, AbeError> {
        T::deserialize_compressed(&mut self.rest)
            .map_err(|source| AbeError::Encoding { what, source })
    }

    fn get3<T: CanonicalDeserialize>(&mut self, what: &'static str) -> Result<[T; 3], AbeError> {
        Ok([self.get(what)?, self.get(what)?, self.get(what)?])
    }

    fn len(&mut self, max: usize, what: &'static str) -> Result<usize, AbeError> {
        let Some((head, rest)) = self.rest.split_first_chunk::<8>() else {
            return Err(malformed(self.kind, "truncated"));
        };
        self.rest = rest;
        let n = u64::from_le_bytes(*head);
        match usize::try_from(n) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(AbeError::TooLarge {
                what,
                count: usize::try_from(n).unwrap_or(usize::MAX),
                max,
            }),
        }
    }

    fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], AbeError> {
        let n = self.len(max, what)?;
        if self.rest.len() < n {
            return Err(malformed(self.kind, "truncated"));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn string(&mut self, max: usize, what: &'static str) -> Result<&'a str, AbeError> {
        let bytes = self.bytes(max, what)?;
        std::str::from_utf8(bytes).map_err(|_| malformed(self.kind, "a string is not UTF-8"))
    }

    fn finish(self) -> Result<(), AbeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed(self.kind, "trailing bytes"))
        }
    }
}

fn malformed(kind: Kind, reason: &'static str) -> AbeError {
    AbeError::Malformed {
        what: kind.name(),
        reason,
    }
}

impl PublicKey {
    /// The versioned encoding (kind 1).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::PublicKey);
        w.put_all(&self.h_a);
        w.put_all(&self.e_gh_ka);
        w.0
    }

    /// Decodes and checks a public key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AbeError> {
        let mut r = Reader::open(bytes, Kind::PublicKey)?;
        let h_a = r.get3::<G2Affine>("public key G2 element")?;
        let e_gh_ka = [
            r.get::<Gt>("public key GT element")?,
            r.get::<Gt>("public key GT element")?,
        ];
        r.finish()?;
        Ok(PublicKey { h_a, e_gh_ka })
    }
}

impl MasterKey {
    /// The versioned encoding (kind 2). Secret: the caller keeps these bytes safe and
    /// zeroizes them (e.g. in a `zeroize::Zeroizing`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::MasterKey);
        w.put(&self.g);
        w.put(&self.h);
        w.put_all(&self.g_k);
        w.put_all(&self.a);
        w.put_all(&self.b);
        w.0
    }

    /// Decodes and checks a master key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AbeError> {
        let mut r = Reader::open(bytes, Kind::MasterKey)?;
        let g = r.get::<G1Affine>("master key G1 element")?;
        let h = r.get::<G2Affine>("master key G2 element")?;
        let g_k = r.get3::<G1Affine>("master key G1 element")?;
        let a = [
            r.get::<Fr>("master key scalar")?,
            r.get::<Fr>("master key scalar")?,
        ];
        let b = [
            r.get::<Fr>("master key scalar")?,
            r.get::<Fr>("master key scalar")?,
        ];
        r.finish()?;
        Ok(MasterKey { g, h, g_k, a, b })
    }
}

impl UserKey {
    /// The versioned encoding (kind 3). Secret, like [`MasterKey::to_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::UserKey);
        w.len(self.attributes.len());
        for (name, k) in self.attributes.iter().zip(&self.k) {
            w.bytes(name.as_bytes());
            w.put_all(k);
        }
        w.put_all(&self.k0);
        w.put_all(&self.kp);
        w.0
    }

    /// Decodes and checks a user key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AbeError> {
        let mut r = Reader::open(bytes, Kind::UserKey)?;
        let n = r.len(KEY_ATTRIBUTES_MAX, "key attributes")?;
        let mut attributes: Vec<String> = Vec::with_capacity(n);
        let mut k = Vec::with_capacity(n);
        for _ in 0..n {
            let name = r.string(ATTRIBUTE_BYTES_MAX, "attribute bytes")?;
            validate_attribute(name)?;
            if attributes.last().is_some_and(|last| last.as_str() >= name) {
                return Err(malformed(
                    Kind::UserKey,
                    "attributes are not strictly sorted",
                ));
            }
            attributes.push(name.to_owned());
            k.push(r.get3::<G1Affine>("user key G1 element")?);
        }
        let k0 = r.get3::<G2Affine>("user key G2 element")?;
        let kp = r.get3::<G1Affine>("user key G1 element")?;
        r.finish()?;
        Ok(UserKey {
            attributes,
            k0,
            k,
            kp,
        })
    }
}

fn put_capsule(w: &mut Writer, capsule: &Capsule) {
    w.bytes(capsule.policy.to_string().as_bytes());
    w.put_all(&capsule.ct0);
    w.len(capsule.rows.len());
    capsule.rows.iter().for_each(|row| w.put_all(row));
}

fn get_capsule(r: &mut Reader<'_>) -> Result<Capsule, AbeError> {
    let policy = Policy::parse(r.string(POLICY_TEXT_BYTES_MAX, "policy text bytes")?)?;
    let ct0 = r.get3::<G2Affine>("capsule G2 element")?;
    let n = r.len(POLICY_LEAVES_MAX, "capsule rows")?;
    if n != policy.leaves().len() {
        return Err(malformed(
            r.kind,
            "row count differs from the policy's leaf count",
        ));
    }
    let rows = (0..n)
        .map(|_| r.get3::<G1Affine>("capsule G1 element"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Capsule { policy, ct0, rows })
}

impl Capsule {
    /// The versioned encoding (kind 4); also the associated data that binds a
    /// [`Ciphertext`]'s payload to its capsule.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Capsule);
        put_capsule(&mut w, self);
        w.0
    }

    /// Decodes and checks a capsule.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AbeError> {
        let mut r = Reader::open(bytes, Kind::Capsule)?;
        let capsule = get_capsule(&mut r)?;
        r.finish()?;
        Ok(capsule)
    }
}

impl Ciphertext {
    /// The versioned encoding (kind 5).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(Kind::Ciphertext);
        put_capsule(&mut w, &self.capsule);
        w.bytes(&self.sealed);
        w.0
    }

    /// Decodes and checks a ciphertext (the payload is checked when it is opened).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AbeError> {
        let mut r = Reader::open(bytes, Kind::Ciphertext)?;
        let capsule = get_capsule(&mut r)?;
        let sealed = r.bytes(
            PAYLOAD_BYTES_MAX + SEAL_OVERHEAD_BYTES,
            "sealed payload bytes",
        )?;
        if sealed.len() < SEAL_OVERHEAD_BYTES {
            return Err(malformed(
                Kind::Ciphertext,
                "sealed payload shorter than its tag",
            ));
        }
        let sealed = sealed.to_vec();
        r.finish()?;
        Ok(Ciphertext { capsule, sealed })
    }
}
