//! Merkle tree hashes and inclusion proofs exactly as RFC 9162 §2.1 (Certificate
//! Transparency v2; same tree as RFC 6962): leaf = SHA-256(0x00 || data),
//! node = SHA-256(0x01 || left || right), the empty tree hashes to SHA-256(""), and a tree
//! of n leaves splits at the largest power of two smaller than n. Any CT library can
//! check our proofs.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash32, sha256, sha256_parts};

pub fn leaf_hash(data: &[u8]) -> Hash32 {
    sha256_parts(&[&[0x00], data])
}

fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    sha256_parts(&[&[0x01], left.as_bytes(), right.as_bytes()])
}

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// Root over already-hashed leaves.
pub fn root_of_leaf_hashes(leaves: &[Hash32]) -> Hash32 {
    match leaves.len() {
        0 => sha256(b""),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(
                &root_of_leaf_hashes(&leaves[..k]),
                &root_of_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// Root over raw leaf data.
pub fn root<T: AsRef<[u8]>>(leaves: &[T]) -> Hash32 {
    let hashed: Vec<Hash32> = leaves.iter().map(|l| leaf_hash(l.as_ref())).collect();
    root_of_leaf_hashes(&hashed)
}

/// An inclusion proof (RFC 9162 audit path) for one leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Sibling hashes from the leaf upwards.
    pub path: Vec<Hash32>,
}

/// The audit path for leaf `index` of the tree over `leaves` (already hashed), or `None`
/// when the index is out of range.
pub fn inclusion_proof(leaves: &[Hash32], index: usize) -> Option<InclusionProof> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    audit_path(leaves, index, &mut path);
    Some(InclusionProof {
        leaf_index: index as u64,
        tree_size: leaves.len() as u64,
        path,
    })
}

fn audit_path(leaves: &[Hash32], index: usize, out: &mut Vec<Hash32>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if index < k {
        audit_path(&leaves[..k], index, out);
        out.push(root_of_leaf_hashes(&leaves[k..]));
    } else {
        audit_path(&leaves[k..], index - k, out);
        out.push(root_of_leaf_hashes(&leaves[..k]));
    }
}

impl InclusionProof {
    /// RFC 9162 §2.1.3.2: checks that `leaf` (the leaf hash) is at `leaf_index` of a tree of
    /// `tree_size` leaves with root `root`.
    pub fn verify(&self, leaf: &Hash32, root: &Hash32) -> bool {
        if self.leaf_index >= self.tree_size {
            return false;
        }
        let mut f_n = self.leaf_index;
        let mut s_n = self.tree_size - 1;
        let mut r = *leaf;
        for p in &self.path {
            if s_n == 0 {
                return false;
            }
            if f_n & 1 == 1 || f_n == s_n {
                r = node_hash(p, &r);
                if f_n & 1 == 0 {
                    while f_n & 1 == 0 && f_n != 0 {
                        f_n >>= 1;
                        s_n >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            f_n >>= 1;
            s_n >>= 1;
        }
        s_n == 0 && r == *root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Leaves of the Certificate Transparency reference test tree (RFC 6962 test data
    /// used by certificate-transparency-go/merkle).
    fn ct_leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
    }

    #[test]
    fn ct_reference_roots() {
        let leaves = ct_leaves();
        let expected = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        for (n, want) in expected.iter().enumerate() {
            assert_eq!(
                root(&leaves[..=n]).to_hex(),
                *want,
                "tree of {} leaves",
                n + 1
            );
        }
        assert_eq!(
            root::<Vec<u8>>(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        for n in 1..40usize {
            let leaves: Vec<Hash32> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let r = root_of_leaf_hashes(&leaves);
            for i in 0..n {
                let proof = inclusion_proof(&leaves, i).unwrap();
                assert!(proof.verify(&leaves[i], &r), "n={n} i={i}");
                let other = leaf_hash(b"other");
                assert!(!proof.verify(&other, &r));
                let mut wrong_index = proof.clone();
                wrong_index.leaf_index = ((i + 1) % n) as u64;
                if n > 1 {
                    assert!(!wrong_index.verify(&leaves[i], &r));
                }
            }
            assert!(inclusion_proof(&leaves, n).is_none());
        }
    }
}
