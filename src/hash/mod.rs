//! Hashes and identifiers: SHA-256, Whirlpool, OT's SAMY digest, SHA256D (suite v3), and
//! base62 IDs.
//!
//! SAMY is legacy OT's default digest: `SHA-256(x) XOR Whirlpool(x)[0..32]`, 32 bytes. It names
//! every Nym, contract and credential (as base62 text) and is what messages are signed over.

mod id;

pub use id::{MAX_ID_BYTES, MAX_ID_TEXT, id_decode, id_encode, id_of};
/// Incremental Whirlpool: our own implementation from the ISO specification, in the
/// `ot-whirlpool` crate of this repository (`crates/ot-whirlpool`).
pub use ot_whirlpool::Whirlpool;

use sha2::{Digest, Sha256};

/// Length of a SAMY digest in bytes.
pub const SAMY_LEN: usize = 32;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Length of a SHA256D digest in bytes.
pub const SHA256D_LEN: usize = 32;

/// SHA256D of `data`: SHA-256(SHA-256(data)), the suite v3 digest.
pub fn sha256d(data: &[u8]) -> [u8; SHA256D_LEN] {
    sha256(&sha256(data))
}

/// The suite v3 identifier of `data`: base62(SHA256D(data)).
pub fn id_of_v3(data: &[u8]) -> crate::Result<String> {
    id_encode(&sha256d(data))
}

/// Whirlpool (ISO/IEC 10118-3, the final 2003 version) of `data`.
pub fn whirlpool(data: &[u8]) -> [u8; 64] {
    let mut h = Whirlpool::new();
    h.update(data);
    h.finalize()
}

/// SAMY of `data`: SHA-256 XOR the first 32 bytes of Whirlpool.
pub fn samy(data: &[u8]) -> [u8; SAMY_LEN] {
    let mut h = Samy::new();
    h.update(data);
    h.finalize()
}

/// Incremental SAMY, for data that arrives in pieces.
#[derive(Clone, Default)]
pub struct Samy {
    sha: Sha256,
    wp: Whirlpool,
}

impl Samy {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.sha.update(data);
        self.wp.update(data);
    }
    /// The 32-byte digest.
    pub fn finalize(self) -> [u8; SAMY_LEN] {
        let s: [u8; 32] = self.sha.finalize().into();
        let w: [u8; 64] = self.wp.finalize();
        let mut out = [0u8; SAMY_LEN];
        for (i, o) in out.iter_mut().enumerate() {
            *o = s[i] ^ w[i];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samy_is_xor_of_prefixes() {
        let d = b"The quick brown fox";
        let s = sha256(d);
        let w = whirlpool(d);
        let m = samy(d);
        for i in 0..32 {
            assert_eq!(m[i], s[i] ^ w[i]);
        }
        let mut inc = Samy::new();
        inc.update(b"The quick ");
        inc.update(b"brown fox");
        assert_eq!(inc.finalize(), m);
    }
}

#[cfg(test)]
mod whirlpool_tests {
    use super::*;

    fn one_shot(d: &[u8]) -> [u8; 64] {
        let mut h = Whirlpool::new();
        h.update(d);
        h.finalize()
    }

    /// Every split of the input into two updates gives the one-shot digest (the buffering path
    /// across the 32-byte padding boundary and the 64-byte block boundary included).
    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 131 + 7) as u8).collect();
        for n in [0usize, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200] {
            let whole = one_shot(&data[..n]);
            for split in 0..=n {
                let mut h = Whirlpool::new();
                h.update(&data[..split]);
                h.update(&data[split..n]);
                assert_eq!(h.finalize(), whole, "n {n} split {split}");
            }
        }
    }

    /// Agrees with an independent implementation (the RustCrypto `whirlpool` crate) on every
    /// length up to a few blocks and on large inputs.
    #[test]
    fn agrees_with_the_whirlpool_crate() {
        use whirlpool::Digest;
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for n in (0..300).chain([1000, 4096, 65_536, 70_000]) {
            let theirs: [u8; 64] = whirlpool::Whirlpool::digest(&data[..n]).into();
            assert_eq!(one_shot(&data[..n]), theirs, "len {n}");
        }
    }
}
