//! `ot_buffer`: owned output bytes.

use crate::secret::wipe_vec;

use super::{Handle, HandleKind, checked, free, guard_value};

/// Bytes returned by the library (text, IDs, plaintext, keys). Owned by the caller, who frees it
/// with `ot_buffer_free`. The bytes are followed by a NUL that `ot_buffer_len` does not count,
/// so text results can be used as C strings. Freeing overwrites the bytes with zeros (all but the
/// public ciphertext of `ot_envelope_seal_to_bytes` and `ot_envelope_seal_to_armor`).
pub struct ot_buffer {
    /// Content plus one trailing NUL.
    data: Vec<u8>,
    /// Wiped when freed (false only for bytes that are public: envelopes, ciphertext armor).
    secret: bool,
}

impl ot_buffer {
    /// Takes the bytes of `v` (which may be secret: plaintext, keys). When `v` has a spare byte
    /// of capacity the NUL goes there and `v` itself becomes the buffer (no copy); otherwise the
    /// bytes are copied into a buffer allocated once at its final size and `v` is wiped. Growing
    /// `v` to add the NUL could move it and free the old block unwiped, leaving a copy of the
    /// secret in freed memory.
    pub(crate) fn new(mut v: Vec<u8>) -> ot_buffer {
        if v.capacity() > v.len() {
            v.push(0);
            return ot_buffer {
                data: v,
                secret: true,
            };
        }
        let b = ot_buffer::from_slice(&v);
        wipe_vec(&mut v);
        b
    }

    /// [`ot_buffer::new`] for bytes that are not secret (sealed envelopes, their armor): not
    /// wiped when freed, which for a 1 MiB envelope is a whole pass over it.
    pub(crate) fn public(v: Vec<u8>) -> ot_buffer {
        let mut b = ot_buffer::new(v);
        b.secret = false;
        b
    }

    /// A buffer holding a copy of `bytes` (allocated once, never reallocated).
    pub(crate) fn from_slice(bytes: &[u8]) -> ot_buffer {
        let mut data = Vec::with_capacity(bytes.len() + 1);
        data.extend_from_slice(bytes);
        data.push(0);
        ot_buffer { data, secret: true }
    }
}

impl Handle for ot_buffer {
    const KIND: HandleKind = HandleKind::Buffer;
    const NAME: &'static str = "ot_buffer";
}

impl Drop for ot_buffer {
    fn drop(&mut self) {
        if self.secret {
            wipe_vec(&mut self.data);
        }
    }
}

/// Pointer to the buffer's bytes (followed by a NUL terminator). NULL if `buf` is NULL or not a
/// live buffer.
/// Valid until `ot_buffer_free(buf)`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_buffer_data(buf: *const ot_buffer) -> *const u8 {
    guard_value(std::ptr::null(), || match checked(buf) {
        Some(b) => b.data.as_ptr(),
        None => std::ptr::null(),
    })
}

/// Number of bytes in the buffer, not counting the trailing NUL. 0 if `buf` is NULL or not a
/// live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_buffer_len(buf: *const ot_buffer) -> usize {
    guard_value(0, || match checked(buf) {
        Some(b) => b.data.len() - 1,
        None => 0,
    })
}

/// Zeroes (when it may hold a secret) and frees a buffer. `ot_buffer_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ot_buffer_free(buf: *mut ot_buffer) {
    guard_value((), || free(buf))
}
