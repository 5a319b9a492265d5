//! Wiping secret bytes at memory speed.
//!
//! `zeroize` wipes the *elements* of a `Vec<u8>` one volatile byte store at a time (its `Vec`
//! impl goes element by element), about a byte per cycle: freeing a 64 KiB reply cost more than
//! the copy that made it, and a 1 MiB plaintext ~0.3 ms. Its slice path for uninitialised memory
//! is a `memset` behind an optimisation barrier, so a vector is wiped here by first setting its
//! length to 0 (no drop work for bytes) and then wiping its whole allocation as spare capacity:
//! the same guarantee (the writes cannot be optimised away), the speed of `memset`.

use std::ops::{Deref, DerefMut};

use zeroize::Zeroize;

/// Overwrites every byte of `v`'s allocation (contents and spare capacity) with zeros and
/// leaves it empty (the allocation is kept).
pub(crate) fn wipe_vec(v: &mut Vec<u8>) {
    v.clear();
    v.spare_capacity_mut().zeroize();
}

/// A `Vec<u8>` holding a secret (plaintext, keys): wiped with [`wipe_vec`] when dropped. The
/// fast counterpart of `zeroize::Zeroizing<Vec<u8>>`.
pub(crate) struct SecretVec(Vec<u8>);

impl SecretVec {
    /// Takes ownership of `v` (which is wiped when the `SecretVec` drops).
    pub(crate) fn new(v: Vec<u8>) -> SecretVec {
        SecretVec(v)
    }
}

impl Deref for SecretVec {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for SecretVec {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for SecretVec {
    fn drop(&mut self) {
        wipe_vec(&mut self.0);
    }
}

impl std::fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretVec({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)] // reading the wiped allocation back is the point of the test
    fn wipe_vec_zeroes_contents_and_spare_capacity() {
        let mut v = Vec::with_capacity(4096);
        v.extend_from_slice(&[0xA5u8; 3000]);
        let cap = v.capacity();
        wipe_vec(&mut v);
        assert!(v.is_empty());
        assert_eq!(v.capacity(), cap, "the allocation is kept");
        // SAFETY: wipe_vec initialised the whole allocation (`cap` bytes) to zero.
        unsafe { v.set_len(cap) };
        assert!(
            v.iter().all(|&b| b == 0),
            "every byte of the allocation is zero"
        );
    }

    #[test]
    fn secret_vec_derefs_to_its_bytes() {
        let mut s = SecretVec::new(b"key".to_vec());
        s.push(b'!');
        assert_eq!(&s[..], b"key!");
        assert_eq!(
            format!("{s:?}"),
            "SecretVec(4 bytes)",
            "Debug never shows the bytes"
        );
    }
}
