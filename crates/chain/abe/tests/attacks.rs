//! Attacks that must fail: re-targeting a key to attributes it was not issued for,
//! tampering with a ciphertext, and opening with other associated data. (The
//! known-discrete-log attack on `rabe`-style hashing is in `src/attack.rs`, where it
//! can swap the random oracle.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use suanli_abe::{
    Ciphertext, MasterKey, Policy, PublicKey, UserKey, decrypt, encrypt, keygen, setup,
};

fn fixture() -> (PublicKey, MasterKey, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let (pk, msk) = setup(&mut rng);
    (pk, msk, rng)
}

fn code<T>(r: Result<T, suanli_abe::AbeError>) -> Option<&'static str> {
    r.err().map(|e| e.code())
}

/// Renames attribute `from` to `to` (same length) in a serialised key: the key now
/// claims `to` while carrying the components issued for `from`.
fn relabel(key: &UserKey, from: &str, to: &str) -> UserKey {
    assert_eq!(from.len(), to.len());
    let mut bytes = key.to_bytes();
    // Attribute strings are a u64 LE length then the bytes (docs/abe.md).
    let needle = [&(from.len() as u64).to_le_bytes()[..], from.as_bytes()].concat();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
        + 8;
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    UserKey::from_bytes(&bytes).unwrap()
}

#[test]
fn a_key_for_a_does_not_open_a_ciphertext_for_b() {
    let (pk, msk, mut rng) = fixture();
    let ct = encrypt(&pk, &Policy::parse("b").unwrap(), b"secret", b"", &mut rng).unwrap();
    let key_a = keygen(&msk, &["a"], &mut rng).unwrap();
    assert_eq!(
        code(decrypt(&key_a, &ct, b"")),
        Some("abe.policy_not_satisfied")
    );

    // The re-targeting trick: a key for {a} relabelled as a key for {b}.
    let forged = relabel(&key_a, "a", "b");
    assert_eq!(forged.attributes(), ["b"]);
    assert_eq!(code(decrypt(&forged, &ct, b"")), Some("abe.decrypt_failed"));

    // The genuine key for {b} opens it (so the refusal above is not a broken scheme).
    let key_b = keygen(&msk, &["b"], &mut rng).unwrap();
    assert_eq!(&decrypt(&key_b, &ct, b"").unwrap()[..], b"secret");
}

#[test]
fn relabelling_one_attribute_of_a_key_does_not_complete_a_conjunction() {
    let (pk, msk, mut rng) = fixture();
    let ct = encrypt(
        &pk,
        &Policy::parse("a and b").unwrap(),
        b"secret",
        b"",
        &mut rng,
    )
    .unwrap();
    let key = keygen(&msk, &["a", "c"], &mut rng).unwrap();
    let forged = relabel(&key, "c", "b");
    assert_eq!(forged.attributes(), ["a", "b"]);
    assert_eq!(code(decrypt(&forged, &ct, b"")), Some("abe.decrypt_failed"));
}

#[test]
fn two_colluding_keys_do_not_combine() {
    // Holders of {a} and {b} pool their components into one key claiming {a, b}.
    let (pk, msk, mut rng) = fixture();
    let ct = encrypt(
        &pk,
        &Policy::parse("a and b").unwrap(),
        b"secret",
        b"",
        &mut rng,
    )
    .unwrap();
    let key_a = keygen(&msk, &["a"], &mut rng).unwrap();
    let key_ab = keygen(&msk, &["a", "b"], &mut rng).unwrap();
    let key_b = keygen(&msk, &["b"], &mut rng).unwrap();
    assert_eq!(&decrypt(&key_ab, &ct, b"").unwrap()[..], b"secret");
    // Splice key_b's component for b into key_a's frame: same layout as key_ab.
    const ENTRY: usize = 8 + 1 + 3 * 48; // a one-byte attribute and its three G1 elements
    let splice = |frame: &[u8], entry: &[u8]| {
        let mut out = frame[..10 + ENTRY].to_vec();
        out[2] = 2; // two attributes
        out.extend_from_slice(entry);
        out.extend_from_slice(&frame[10 + ENTRY..]);
        out
    };
    // Control: the splice rebuilds a genuine two-attribute key from its own parts.
    let ab = key_ab.to_bytes();
    let mut ab_frame = ab[..10 + ENTRY].to_vec();
    ab_frame.extend_from_slice(&ab[10 + 2 * ENTRY..]);
    assert_eq!(splice(&ab_frame, &ab[10 + ENTRY..10 + 2 * ENTRY]), ab);

    let pooled = splice(&key_a.to_bytes(), &key_b.to_bytes()[10..10 + ENTRY]);
    let pooled = UserKey::from_bytes(&pooled).unwrap();
    assert_eq!(pooled.attributes(), ["a", "b"]);
    assert_eq!(code(decrypt(&pooled, &ct, b"")), Some("abe.decrypt_failed"));
}

fn sealed_ciphertext() -> (UserKey, Ciphertext, Vec<u8>) {
    let (pk, msk, mut rng) = fixture();
    let policy = Policy::parse("(a or b) and 2 of (c, d, e)").unwrap();
    let ct = encrypt(&pk, &policy, b"the spec details", b"order-7", &mut rng).unwrap();
    let key = keygen(&msk, &["a", "c", "e"], &mut rng).unwrap();
    assert_eq!(
        &decrypt(&key, &ct, b"order-7").unwrap()[..],
        b"the spec details"
    );
    let bytes = ct.to_bytes();
    (key, ct, bytes)
}

#[test]
fn a_tampered_payload_or_other_associated_data_is_refused() {
    let (key, ct, bytes) = sealed_ciphertext();
    assert_eq!(
        code(decrypt(&key, &ct, b"order-8")),
        Some("abe.decrypt_failed")
    );
    for offset in [1, 5, 16] {
        let mut tampered = bytes.clone();
        let i = tampered.len() - offset;
        tampered[i] ^= 0x01;
        let ct = Ciphertext::from_bytes(&tampered).unwrap();
        assert_eq!(
            code(decrypt(&key, &ct, b"order-7")),
            Some("abe.decrypt_failed"),
            "{offset}"
        );
    }
}

#[test]
fn a_tampered_capsule_is_refused() {
    let (key, ct, bytes) = sealed_ciphertext();
    // Every ciphertext row and ct₀ element: flipping a bit either breaks the point
    // encoding (refused on decoding) or changes the element (refused on opening).
    let policy_len = ct.policy().to_string().len();
    let start = 2 + 8 + policy_len;
    let end = start + 3 * 96 + 8 + ct.policy().leaves().len() * 3 * 48;
    let mut refused_on_decode = 0;
    for i in (start..end).step_by(37) {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x40;
        match Ciphertext::from_bytes(&tampered) {
            Err(_) => refused_on_decode += 1,
            Ok(ct) => assert!(decrypt(&key, &ct, b"order-7").is_err(), "byte {i}"),
        }
    }
    assert!(refused_on_decode > 0);

    // Swapping the policy for one with the same leaves and length changes the
    // associated data (and the span program): refused.
    let text = ct.policy().to_string();
    let swapped = text.replace("(a or b)", "(b or a)");
    assert_ne!(swapped, text);
    let tampered = [&bytes[..10], swapped.as_bytes(), &bytes[10 + text.len()..]].concat();
    let ct = Ciphertext::from_bytes(&tampered).unwrap();
    assert_eq!(
        code(decrypt(&key, &ct, b"order-7")),
        Some("abe.decrypt_failed")
    );
}
