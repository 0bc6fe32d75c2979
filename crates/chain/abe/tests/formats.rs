//! Versioned serialisation: every object round-trips, sizes are as documented in
//! `docs/abe.md`, and wrong versions, kinds, truncations and trailing bytes are refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use suanli_abe::{
    Capsule, Ciphertext, FORMAT_VERSION, MasterKey, Policy, PublicKey, UserKey, decapsulate,
    decrypt, encapsulate, encrypt, keygen, setup,
};

type Decode = fn(&[u8]) -> &'static str;

fn code<T: std::fmt::Debug>(r: Result<T, suanli_abe::AbeError>) -> &'static str {
    r.err().map_or("ok", |e| e.code())
}

#[test]
fn every_object_round_trips_and_still_works() {
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let (pk, msk) = setup(&mut rng);
    let pk2 = PublicKey::from_bytes(&pk.to_bytes()).unwrap();
    let msk2 = MasterKey::from_bytes(&msk.to_bytes()).unwrap();
    assert_eq!(pk2, pk);
    assert_eq!(msk2, msk);
    assert_eq!(pk.to_bytes().len(), 1442);
    assert_eq!(msk.to_bytes().len(), 418);
    assert_eq!(pk.to_bytes()[..2], [FORMAT_VERSION, 1]);

    let key = keygen(&msk2, &["org=42", "role=regulator"], &mut rng).unwrap();
    let key2 = UserKey::from_bytes(&key.to_bytes()).unwrap();
    assert_eq!(key2, key);
    assert_eq!(
        key.to_bytes().len(),
        2 + 8 + 2 * (8 + 3 * 48) + 6 + 14 + 3 * 96 + 3 * 48
    );

    let policy = Policy::parse("role=regulator and (org=42 or org=43)").unwrap();
    let ct = encrypt(&pk2, &policy, b"usage detail", b"", &mut rng).unwrap();
    let ct2 = Ciphertext::from_bytes(&ct.to_bytes()).unwrap();
    assert_eq!(ct2, ct);
    assert_eq!(&decrypt(&key2, &ct2, b"").unwrap()[..], b"usage detail");

    let (capsule, session) = encapsulate(&pk, &policy, &mut rng).unwrap();
    let capsule2 = Capsule::from_bytes(&capsule.to_bytes()).unwrap();
    assert_eq!(capsule2, capsule);
    assert_eq!(decapsulate(&key2, &capsule2).unwrap(), session);
    let text = policy.to_string();
    assert_eq!(
        capsule.to_bytes().len(),
        2 + 8 + text.len() + 3 * 96 + 8 + 3 * 3 * 48
    );
}

#[test]
fn bad_headers_truncations_and_trailing_bytes_are_refused() {
    let mut rng = ChaCha20Rng::from_seed([4; 32]);
    let (pk, msk) = setup(&mut rng);
    let key = keygen(&msk, &["a"], &mut rng).unwrap();
    let ct = encrypt(&pk, &Policy::parse("a").unwrap(), b"x", b"", &mut rng).unwrap();
    let objects: [(Vec<u8>, Decode); 4] = [
        (pk.to_bytes(), |b| code(PublicKey::from_bytes(b))),
        (msk.to_bytes(), |b| code(MasterKey::from_bytes(b))),
        (key.to_bytes(), |b| code(UserKey::from_bytes(b))),
        (ct.to_bytes(), |b| code(Ciphertext::from_bytes(b))),
    ];
    for (bytes, decode) in objects {
        assert_eq!(decode(&bytes), "ok");
        let mut v = bytes.clone();
        v[0] = FORMAT_VERSION + 1;
        assert_eq!(decode(&v), "abe.version_unsupported");
        let mut v = bytes.clone();
        v[1] = if v[1] == 1 { 2 } else { 1 };
        assert_eq!(decode(&v), "abe.kind_mismatch");
        assert_ne!(decode(&bytes[..bytes.len() - 1]), "ok");
        assert_ne!(decode(&bytes[..1]), "ok");
        let mut v = bytes.clone();
        v.push(0);
        assert_eq!(decode(&v), "abe.malformed");
    }
}

#[test]
fn a_user_key_must_list_valid_sorted_attributes() {
    let mut rng = ChaCha20Rng::from_seed([5; 32]);
    let (_, msk) = setup(&mut rng);
    let key = keygen(&msk, &["b", "a", "a"], &mut rng).unwrap();
    assert_eq!(key.attributes(), ["a", "b"]);
    let bytes = key.to_bytes();
    let second = 2 + 8 + 8 + 1 + 3 * 48 + 8;
    assert_eq!(bytes[second], b'b');
    let mut unsorted = bytes.clone();
    unsorted[second] = b'a';
    assert_eq!(code(UserKey::from_bytes(&unsorted)), "abe.malformed");
    let mut invalid = bytes.clone();
    invalid[second] = b' ';
    assert_eq!(code(UserKey::from_bytes(&invalid)), "abe.attribute_invalid");
    let mut huge = bytes;
    huge[2..10].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(code(UserKey::from_bytes(&huge)), "abe.too_large");
}
