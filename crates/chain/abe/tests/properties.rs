//! FAME's correctness as a property: over random policies (AND / OR / k-of-n gates,
//! repeated attributes) and random attribute sets, decryption succeeds exactly when the
//! set satisfies the policy, judged by an evaluator written here, apart from the crate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use suanli_abe::{Policy, decrypt, encrypt, keygen, setup};

const UNIVERSE: [&str; 6] = [
    "role=regulator",
    "region=cn-west",
    "org=42",
    "a",
    "b",
    "q:x",
];

/// The test's own policy tree, printed as policy text and evaluated independently.
#[derive(Clone, Debug)]
enum Tree {
    Leaf(usize),
    Gate(usize, Vec<Tree>),
}

impl Tree {
    fn text(&self) -> String {
        match self {
            Tree::Leaf(i) => UNIVERSE[*i].to_owned(),
            Tree::Gate(k, children) => {
                let parts: Vec<String> = children.iter().map(Tree::text).collect();
                match (*k, parts.len()) {
                    (1, _) => format!("({})", parts.join(" OR ")),
                    (k, n) if k == n => format!("({})", parts.join(" and ")),
                    (k, _) => format!("{k} of ({})", parts.join(", ")),
                }
            }
        }
    }

    fn holds(&self, set: u8) -> bool {
        match self {
            Tree::Leaf(i) => set & (1 << i) != 0,
            Tree::Gate(k, children) => children.iter().filter(|c| c.holds(set)).count() >= *k,
        }
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (0..UNIVERSE.len()).prop_map(Tree::Leaf);
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop::collection::vec(inner, 1..5)
            .prop_flat_map(|children| {
                let n = children.len();
                (1..=n, Just(children))
            })
            .prop_map(|(k, children)| Tree::Gate(k, children))
    })
}

#[test]
fn decrypt_succeeds_iff_the_attributes_satisfy_the_policy() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let (pk, msk) = setup(&mut rng);
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let (satisfied, refused) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(
            &(tree(), any::<u8>(), any::<[u8; 32]>()),
            |(tree, set, seed)| {
                let set = set & 0b11_1111;
                let mut rng = ChaCha20Rng::from_seed(seed);
                let policy =
                    Policy::parse(&tree.text()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let attributes: Vec<&str> = (0..UNIVERSE.len())
                    .filter(|i| set & (1 << i) != 0)
                    .map(|i| UNIVERSE[i])
                    .collect();
                let key = keygen(&msk, &attributes, &mut rng)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let ct = encrypt(&pk, &policy, b"payload", b"ctx", &mut rng)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let result = decrypt(&key, &ct, b"ctx");
                if tree.holds(set) {
                    satisfied.set(satisfied.get() + 1);
                    prop_assert_eq!(
                        result.map(|p| p.to_vec()).ok(),
                        Some(b"payload".to_vec()),
                        "{}",
                        tree.text()
                    );
                } else {
                    refused.set(refused.get() + 1);
                    prop_assert_eq!(
                        result.err().map(|e| e.code()),
                        Some("abe.policy_not_satisfied")
                    );
                }
                Ok(())
            },
        )
        .unwrap();
    let (satisfied, refused) = (satisfied.get(), refused.get());
    assert!(
        satisfied > 0 && refused > 0,
        "both outcomes exercised: {satisfied} / {refused}"
    );
}
