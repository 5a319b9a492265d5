//! The legacy layouts (types 0, 1 and 2): `plaintext || 0x00` in AES-128-CBC
//! ([`crate::cipher::aes128_cbc`]) under a random key that is wrapped to each recipient with RSA
//! PKCS#1 v1.5 (type 1, and type 0 on open), or under the caller's raw key (type 2); and the
//! legacy rules for reading the text back.

use zeroize::Zeroizing;

use super::{Envelope, IV_LEN, KEY_LEN, Layout, MAX_PLAINTEXT, Recipient, RecipientEntry, codec};
use crate::cipher::aes128_cbc;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};

fn check_plaintext(plaintext: &[u8]) -> Result<()> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(Error::invalid("plaintext is larger than 1 GiB"));
    }
    if let Some(p) = memchr::memchr(0, plaintext) {
        return Err(Error::invalid(format!(
            "plaintext contains a NUL byte at offset {p}: a legacy peer would silently truncate it there"
        )));
    }
    Ok(())
}

/// AES-128-CBC/PKCS#7 of `plaintext || 0x00`.
fn encrypt_body(key: &[u8; KEY_LEN], iv: &[u8; IV_LEN], plaintext: &[u8]) -> Result<Vec<u8>> {
    aes128_cbc::encrypt_parts(key, iv, plaintext, &[0])
}

/// Legacy open rules after decryption: the last byte is forced to NUL and the text ends at the
/// first NUL.
fn legacy_text(mut plain: Zeroizing<Vec<u8>>) -> Vec<u8> {
    if let Some(last) = plain.last_mut() {
        *last = 0;
    }
    let end = memchr::memchr(0, &plain).unwrap_or(plain.len());
    // Hand the buffer over without copying; what follows the text (the NUL and anything a
    // legacy sender put after it) is wiped first.
    plain[end..].iter_mut().for_each(|b| *b = 0);
    plain.truncate(end);
    std::mem::take(&mut *plain)
}

/// A random AES-128 key and IV, the key wrapped to every (RSA) recipient, entries sorted by
/// NymID as legacy OT's `std::multimap` ordered them.
fn v1_wrap(
    recipients: &[Recipient<'_>],
    plaintext: &[u8],
) -> Result<(Layout, Zeroizing<[u8; KEY_LEN]>, [u8; IV_LEN])> {
    check_plaintext(plaintext)?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    let mut iv = [0u8; IV_LEN];
    crate::rng::fill(key.as_mut())?;
    crate::rng::fill(&mut iv)?;
    let mut order: Vec<&Recipient<'_>> = recipients.iter().collect();
    order.sort_by(|a, b| a.nym_id.as_bytes().cmp(b.nym_id.as_bytes()));
    let mut entries = Vec::with_capacity(order.len());
    for r in order {
        entries.push(RecipientEntry {
            nym_id: r.nym_id.to_string(),
            wrapped_key: r.key.wrap(key.as_ref())?,
        });
    }
    Ok((Layout::V1(entries), key, iv))
}

/// The type of a legacy layout, for messages.
fn layout_type(layout: &Layout) -> u16 {
    match layout {
        Layout::V0(_) => 0,
        Layout::V1(_) => 1,
        Layout::Symmetric => 2,
        Layout::V3 { .. } => 3,
    }
}

/// Type 1 straight into its bytes: header, IV, then the ciphertext written once into the same
/// vector (one spare byte at the end for a caller's terminator).
pub(super) fn seal_v1_to_bytes(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Vec<u8>> {
    let (layout, key, iv) = v1_wrap(recipients, plaintext)?;
    let ct_len = aes128_cbc::ciphertext_len(plaintext.len() + 1);
    let mut out = Vec::with_capacity(codec::header_len(&layout) + ct_len + aes128_cbc::ROOM);
    codec::write_header(&layout, &iv, &mut out);
    aes128_cbc::encrypt_parts_into(&key, &iv, plaintext, &[0], &mut out)?;
    Ok(out)
}

/// [`Envelope::open`] of a type-0 or type-1 envelope given as its parts: the entry chosen by the
/// legacy rules, the AES key unwrapped with RSA, then the payload; every failure after the entry
/// is chosen is the same [`ErrorKind::DecryptFailed`]. The plaintext has `room` spare bytes.
pub(super) fn open_legacy(
    layout: &Layout,
    iv: &[u8; IV_LEN],
    ciphertext: &[u8],
    nym_id: Option<&str>,
    key: &Key,
    room: usize,
) -> Result<Vec<u8>> {
    if key.algorithm() != Algorithm::Rsa {
        return Err(Error::invalid(format!(
            "a type-{} envelope opens with an RSA private key, not {:?}",
            layout_type(layout),
            key.algorithm()
        )));
    }
    key.private_key()?;
    let wrapped = match layout {
        Layout::V1(entries) => {
            let own;
            let want = match nym_id {
                Some(n) => n,
                None => {
                    own = key.nym_id()?;
                    own.as_str()
                }
            };
            let hit = entries
                .iter()
                .find(|e| e.nym_id == want)
                .or_else(|| entries.last().filter(|e| e.nym_id.is_empty()));
            match hit {
                Some(e) => &e.wrapped_key,
                None => {
                    return Err(Error::new(
                        ErrorKind::NoMatchingRecipient,
                        "the envelope has no entry for this NymID and no empty-ID entry",
                    ));
                }
            }
        }
        Layout::V0(ek) => ek,
        Layout::Symmetric => {
            return Err(Error::invalid(
                "this is a symmetric envelope: open it with a symmetric key",
            ));
        }
        Layout::V3 { .. } => return Err(Error::decrypt_failed()),
    };
    // A wrapped key of the wrong length is as much a failure as a bad padding: carry on with a
    // dummy key either way, so both take the same path and return the same error.
    let (aes_key, padding_ok) = key
        .unwrap_session_key(wrapped)
        .unwrap_or_else(|_| (Zeroizing::new([0u8; KEY_LEN]), 0));
    let plain = aes128_cbc::decrypt_with_room(&aes_key, iv, ciphertext, room);
    match (padding_ok, plain) {
        (1, Some(p)) => Ok(legacy_text(p)),
        _ => Err(Error::decrypt_failed()),
    }
}

impl Envelope {
    /// Type 1 (v1 layout, entries sorted by NymID as legacy OT's `std::multimap` ordered them):
    /// a random AES-128 key and IV, the key wrapped to every (RSA) recipient. `plaintext` must
    /// not contain NUL bytes.
    pub(super) fn seal_v1(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Envelope> {
        let (layout, key, iv) = v1_wrap(recipients, plaintext)?;
        Ok(Envelope {
            layout,
            iv,
            ciphertext: encrypt_body(&key, &iv, plaintext)?,
        })
    }

    /// [`Envelope::encrypt_symmetric`].
    pub(super) fn seal_symmetric(key: &[u8], plaintext: &[u8]) -> Result<Envelope> {
        let key: &[u8; KEY_LEN] = key
            .try_into()
            .map_err(|_| Error::invalid("a symmetric envelope key is 16 bytes"))?;
        check_plaintext(plaintext)?;
        let mut iv = [0u8; IV_LEN];
        crate::rng::fill(&mut iv)?;
        Ok(Envelope {
            layout: Layout::Symmetric,
            iv,
            ciphertext: encrypt_body(key, &iv, plaintext)?,
        })
    }

    /// [`Envelope::decrypt_symmetric`].
    pub(super) fn open_symmetric(&self, key: &[u8]) -> Result<Vec<u8>> {
        if self.layout != Layout::Symmetric {
            return Err(Error::invalid("not a symmetric envelope"));
        }
        let key: &[u8; KEY_LEN] = key
            .try_into()
            .map_err(|_| Error::invalid("a symmetric envelope key is 16 bytes"))?;
        self.decrypt_body(key)
            .map(legacy_text)
            .ok_or_else(Error::decrypt_failed)
    }

    fn decrypt_body(&self, key: &[u8; KEY_LEN]) -> Option<Zeroizing<Vec<u8>>> {
        aes128_cbc::decrypt(key, &self.iv, &self.ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_round_trip() {
        let key = [7u8; 16];
        let e = Envelope::encrypt_symmetric(&key, b"hello").unwrap();
        let p = Envelope::parse(&e.to_bytes()).unwrap();
        assert_eq!(p.decrypt_symmetric(&key).unwrap(), b"hello");
        // Legacy symmetric envelopes have no MAC: a wrong key fails on the padding, except about
        // once in 256 keys, when its garbage happens to end in valid padding. Never the plaintext.
        match p.decrypt_symmetric(&[8u8; 16]) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::DecryptFailed),
            Ok(garbage) => assert_ne!(garbage, b"hello"),
        }
    }

    #[test]
    fn nul_is_refused() {
        let k = Key::generate(1024).unwrap();
        let r = [Recipient {
            nym_id: "x",
            key: &k,
        }];
        assert_eq!(
            Envelope::seal(&r, b"a\0b").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
