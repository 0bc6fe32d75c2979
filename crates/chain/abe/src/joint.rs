//! `a·P + b·Q` in G1 with one shared doubling chain: both scalars are split with the
//! GLV endomorphism (arkworks' decomposition, half-size parts), and the four parts run
//! through one Straus loop over a table of the 15 non-empty sums of `±P, ±φ(P), ±Q, ±φ(Q)`.
//! About half the work of two separate GLV multiplications; FAME encryption makes two
//! such products per ciphertext element.

use ark_bls12_381::{Fr, G1Projective, g1};
use ark_ec::CurveGroup;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, Zero};

/// `a·p + b·q`.
pub(crate) fn mul2(p: G1Projective, a: Fr, q: G1Projective, b: Fr) -> G1Projective {
    let ((sa1, a1), (sa2, a2)) = g1::Config::scalar_decomposition(a);
    let ((sb1, b1), (sb2, b2)) = g1::Config::scalar_decomposition(b);
    let signed = |point: G1Projective, positive: bool| if positive { point } else { -point };
    let bases = [
        signed(p, sa1),
        signed(g1::Config::endomorphism(&p), sa2),
        signed(q, sb1),
        signed(g1::Config::endomorphism(&q), sb2),
    ];
    // table[m] = Σ of bases[i] for the bits i set in m, made affine with one inversion.
    let mut table = [G1Projective::zero(); 16];
    for m in 1..16usize {
        let low = m.trailing_zeros() as usize;
        table[m] = table[m & (m - 1)] + bases[low];
    }
    let table = G1Projective::normalize_batch(&table);
    let scalars = [a1, a2, b1, b2].map(|s| s.into_bigint());
    let bits = scalars.iter().map(|s| s.num_bits()).max().unwrap_or(0);
    let mut acc = G1Projective::zero();
    for i in (0..bits).rev() {
        acc.double_in_place();
        let m = scalars.iter().enumerate().fold(0usize, |m, (j, s)| {
            m | (usize::from(s.get_bit(i as usize)) << j)
        });
        if m != 0 {
            acc += table[m];
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;
    use ark_ff::Field;

    #[test]
    fn agrees_with_two_multiplications() {
        let g = G1Projective::generator();
        for i in 1..40u64 {
            let p = g * Fr::from(i * 7919);
            let q = g * Fr::from(i * 104_729 + 3);
            let a =
                -Fr::from(i).square() * Fr::from(0x1234_5678_9abc_def1u64) + Fr::from(i * i * i);
            let b = if i % 5 == 0 {
                Fr::zero()
            } else {
                Fr::from(i) - Fr::from(1u64 << 62).square()
            };
            assert_eq!(mul2(p, a, q, b), p * a + q * b, "{i}");
        }
        let zero = G1Projective::zero();
        assert_eq!(mul2(zero, Fr::from(5u64), zero, Fr::from(9u64)), zero);
    }
}
