//! Sealed envelopes (legacy `OTEnvelope`).
//!
//! Sealing draws a random AES-128 key and IV, encrypts `plaintext || 0x00` with AES-128-CBC and
//! PKCS#7 padding, and wraps the AES key to every recipient with RSA PKCS#1 v1.5, exactly as
//! OpenSSL's `EVP_SealInit` did for legacy OT. Layouts (all integers big-endian):
//!
//! ```text
//! v1 (type 1, 2012-05 on): u16 1 | u32 n | n × (u32 idlen | id+NUL | u32 eklen | ek) | u32 16 | iv | ct
//! v0 (≤ 2012-05):          u32 eklen | ek | iv[16] | ct
//! symmetric (type 2):      u16 2 | u32 16 | iv | ct
//! v3 (type 3, suite v3):   u16 3 | u16 1 | u32 n | n × (u32 idlen | id+NUL | enc[32] ct[48]) | payload
//! ```
//!
//! Type 3 (suite v3, X25519 recipients): a random 32-byte content key is wrapped to each
//! recipient with HPKE base mode (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305;
//! `info = "ot-transport v3 envelope" || 0x00 || NymID`), and the plaintext is sealed with
//! ChaCha20-Poly1305 under the content key, a zero nonce, and every header byte as AAD. The
//! recipients' keys choose the type: RSA → 1, X25519 → 3; a mix is refused.
//!
//! Every length is checked against the bytes that remain before anything is allocated. Every
//! failure to open after the recipient entry is chosen is the same [`ErrorKind::DecryptFailed`],
//! whatever failed (RSA padding, wrapped-key length, CBC padding): no padding oracle.

use zeroize::Zeroizing;

use crate::armor;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};

pub mod hpke;

pub use crate::cipher::aes128_cbc::{IV_LEN, KEY_LEN};
/// Largest plaintext [`seal`] accepts (1 GiB).
pub const MAX_PLAINTEXT: usize = 1 << 30;
/// Most recipients one envelope may carry.
pub const MAX_RECIPIENTS: usize = 4096;
/// Longest recipient ID accepted in a parsed envelope (legacy IDs are 43 characters).
pub const MAX_ID_LEN: usize = 1024;

/// One recipient entry of a v1 envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientEntry {
    /// The NymID text (may be empty: a seal to a bare key).
    pub nym_id: String,
    /// The RSA-wrapped AES key.
    pub wrapped_key: Vec<u8>,
}

/// Suite number of type-3 envelopes: HPKE base mode, DHKEM(X25519, HKDF-SHA256),
/// HKDF-SHA256, ChaCha20-Poly1305; payload ChaCha20-Poly1305.
pub const V3_SUITE: u16 = 1;
/// Length of one type-3 wrap: HPKE `enc` (32) || wrapped content key (32 + 16-byte tag).
pub const V3_WRAP_LEN: usize = 80;
/// The fixed part of the HPKE `info` of a type-3 wrap (then 0x00 and the NymID).
pub const V3_INFO_PREFIX: &[u8] = b"ot-transport v3 envelope";

/// One recipient entry of a type-3 envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Entry {
    /// The NymID text (may be empty: a key-only seal). Bytes that are not UTF-8 (a damaged
    /// envelope) show as U+FFFD here; matching and the HPKE `info` use [`Self::id_bytes`].
    pub nym_id: String,
    /// The NymID bytes exactly as written (before the NUL).
    pub id_bytes: Vec<u8>,
    /// HPKE `enc` (32 bytes) || the wrapped content key (48 bytes).
    pub wrap: [u8; V3_WRAP_LEN],
}

/// The layout an envelope uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Multi-recipient envelope (type 1).
    V1(Vec<RecipientEntry>),
    /// Single-recipient 2011 envelope: no type field, no IDs.
    V0(Vec<u8>),
    /// Symmetric envelope (type 2), keyed by a raw AES key.
    Symmetric,
    /// Suite v3 envelope (type 3): X25519 recipients, HPKE-wrapped content key,
    /// ChaCha20-Poly1305 payload. `header` is every byte before the payload (the payload's AAD).
    V3 {
        /// Recipient entries, in envelope order.
        entries: Vec<V3Entry>,
        /// The exact header bytes, as parsed or sealed.
        header: Vec<u8>,
    },
}

/// A parsed or freshly sealed envelope. Immutable; safe to share between threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    layout: Layout,
    iv: [u8; IV_LEN],
    ciphertext: Vec<u8>,
}

/// A recipient to seal to.
pub struct Recipient<'a> {
    /// The ID written in the envelope (the recipient's NymID; `""` for a key-only seal).
    pub nym_id: &'a str,
    /// The recipient's public (encryption) key.
    pub key: &'a Key,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::malformed(format!(
                "envelope {what} claims {n} bytes but only {} remain",
                self.remaining()
            )));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        let s = self.take(2, what)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<usize> {
        let s = self.take(4, what)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }
}

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

/// The legacy cipher at its former path: [`crate::cipher::aes128_cbc`].
pub use crate::cipher::aes128_cbc as cipher;

/// HPKE `info` of a type-3 wrap: `"ot-transport v3 envelope" || 0x00 || NymID`.
fn v3_info(nym_id: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(V3_INFO_PREFIX.len() + 1 + nym_id.len());
    v.extend_from_slice(V3_INFO_PREFIX);
    v.push(0);
    v.extend_from_slice(nym_id);
    v
}

/// AES-128-CBC/PKCS#7 of `plaintext || 0x00`.
fn encrypt_body(key: &[u8; KEY_LEN], iv: &[u8; IV_LEN], plaintext: &[u8]) -> Result<Vec<u8>> {
    cipher::encrypt_parts(key, iv, plaintext, &[0])
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

impl Envelope {
    /// Seals `plaintext` to every recipient (v1 layout, entries sorted by NymID as legacy OT's
    /// `std::multimap` ordered them). `plaintext` must not contain NUL bytes.
    pub fn seal(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Envelope> {
        if recipients.is_empty() {
            return Err(Error::invalid("an envelope needs at least one recipient"));
        }
        if recipients.len() > MAX_RECIPIENTS {
            return Err(Error::invalid(format!(
                "at most {MAX_RECIPIENTS} recipients are supported"
            )));
        }
        for r in recipients {
            if r.nym_id.len() > MAX_ID_LEN || r.nym_id.bytes().any(|b| b == 0) {
                return Err(Error::invalid(
                    "recipient NymID is too long or contains NUL",
                ));
            }
        }
        let x25519 = recipients
            .iter()
            .filter(|r| r.key.algorithm() == Algorithm::X25519)
            .count();
        if recipients
            .iter()
            .any(|r| r.key.algorithm() == Algorithm::Ed25519)
        {
            return Err(Error::invalid(
                "an Ed25519 key cannot receive envelopes: seal to the identity's X25519 (E) key",
            ));
        }
        if x25519 == recipients.len() {
            return Self::seal_v3(recipients, plaintext);
        }
        if x25519 != 0 {
            return Err(Error::invalid(
                "an envelope cannot mix RSA and X25519 recipients: seal one envelope for each kind",
            ));
        }
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
        Ok(Envelope {
            layout: Layout::V1(entries),
            iv,
            ciphertext: encrypt_body(&key, &iv, plaintext)?,
        })
    }

    /// Type 3: fresh content key, one HPKE wrap per recipient (sorted by NymID), then the
    /// ChaCha20-Poly1305 payload with the whole header as AAD. Any plaintext is fine.
    fn seal_v3(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Envelope> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(Error::invalid("plaintext is larger than 1 GiB"));
        }
        let mut cek = Zeroizing::new([0u8; 32]);
        crate::rng::fill(cek.as_mut())?;
        let mut order: Vec<&Recipient<'_>> = recipients.iter().collect();
        order.sort_by(|a, b| a.nym_id.as_bytes().cmp(b.nym_id.as_bytes()));
        let mut entries = Vec::with_capacity(order.len());
        let header_len: usize = 8 + order
            .iter()
            .map(|r| 4 + r.nym_id.len() + 1 + V3_WRAP_LEN)
            .sum::<usize>();
        let mut header = Vec::with_capacity(header_len);
        header.extend_from_slice(&3u16.to_be_bytes());
        header.extend_from_slice(&V3_SUITE.to_be_bytes());
        header.extend_from_slice(&(order.len() as u32).to_be_bytes());
        for r in order {
            let pk = r.key.x25519_public()?.to_bytes();
            let info = v3_info(r.nym_id.as_bytes());
            let (enc, ct) = hpke::seal_base(&pk, &info, b"", cek.as_ref())?;
            let mut wrap = [0u8; V3_WRAP_LEN];
            wrap[..32].copy_from_slice(&enc);
            wrap[32..].copy_from_slice(&ct);
            header.extend_from_slice(&(r.nym_id.len() as u32 + 1).to_be_bytes());
            header.extend_from_slice(r.nym_id.as_bytes());
            header.push(0);
            header.extend_from_slice(&wrap);
            entries.push(V3Entry {
                nym_id: r.nym_id.to_string(),
                id_bytes: r.nym_id.as_bytes().to_vec(),
                wrap,
            });
        }
        let mut payload = Vec::with_capacity(plaintext.len() + hpke::TAG_LEN);
        payload.extend_from_slice(plaintext);
        let tag = hpke::aead_seal_in_place(&cek, &[0u8; 12], &header, &mut payload);
        payload.extend_from_slice(&tag);
        Ok(Envelope {
            layout: Layout::V3 { entries, header },
            iv: [0u8; IV_LEN],
            ciphertext: payload,
        })
    }

    /// Encrypts with a raw AES-128 key into a symmetric (type 2) envelope.
    pub fn encrypt_symmetric(key: &[u8], plaintext: &[u8]) -> Result<Envelope> {
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

    /// Parses envelope bytes (v1, v0 or symmetric).
    pub fn parse(b: &[u8]) -> Result<Envelope> {
        let mut c = Cursor { b, pos: 0 };
        let ty = c.u16("type")?;
        let layout = match ty {
            1 => {
                let n = c.u32("recipient count")?;
                // Smallest entry: 4 + 1 (NUL) + 4 + 1 bytes.
                if n == 0 || n > MAX_RECIPIENTS || n > c.remaining() / 10 {
                    return Err(Error::malformed(format!(
                        "envelope claims {n} recipients, which {} remaining bytes cannot hold",
                        c.remaining()
                    )));
                }
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    let id_len = c.u32("recipient ID length")?;
                    if id_len == 0 || id_len > MAX_ID_LEN + 1 {
                        return Err(Error::malformed(format!(
                            "recipient ID length {id_len} is invalid"
                        )));
                    }
                    let id = c.take(id_len, "recipient ID")?;
                    // Legacy: the last byte is forced to NUL; the ID ends at the first NUL.
                    let id = &id[..id_len - 1];
                    let id = &id[..id.iter().position(|&x| x == 0).unwrap_or(id.len())];
                    let nym_id = std::str::from_utf8(id)
                        .map_err(|_| Error::malformed("recipient ID is not text"))?
                        .to_string();
                    let ek_len = c.u32("wrapped key length")?;
                    if ek_len == 0 || ek_len > 1024 {
                        return Err(Error::malformed(format!(
                            "wrapped key length {ek_len} is invalid"
                        )));
                    }
                    let wrapped_key = c.take(ek_len, "wrapped key")?.to_vec();
                    entries.push(RecipientEntry {
                        nym_id,
                        wrapped_key,
                    });
                }
                let iv_len = c.u32("IV length")?;
                if iv_len != IV_LEN {
                    return Err(Error::malformed(format!("IV length {iv_len} is not 16")));
                }
                Layout::V1(entries)
            }
            2 => {
                let iv_len = c.u32("IV length")?;
                if iv_len != IV_LEN {
                    return Err(Error::malformed(format!("IV length {iv_len} is not 16")));
                }
                Layout::Symmetric
            }
            3 => return Self::parse_v3(b),
            0 => {
                // v0 has no type: the first four bytes are the wrapped-key length.
                c.pos = 0;
                let ek_len = c.u32("wrapped key length")?;
                if ek_len == 0 || ek_len > 1024 {
                    return Err(Error::malformed(format!(
                        "not an envelope (v0 wrapped key length {ek_len} is invalid)"
                    )));
                }
                Layout::V0(c.take(ek_len, "wrapped key")?.to_vec())
            }
            t => {
                return Err(Error::malformed(format!(
                    "envelope type {t} is not 0, 1, 2 or 3"
                )));
            }
        };
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(c.take(IV_LEN, "IV")?);
        let ciphertext = c.take(c.remaining(), "ciphertext")?;
        if ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
            return Err(Error::malformed(format!(
                "ciphertext length {} is not a positive multiple of 16",
                ciphertext.len()
            )));
        }
        Ok(Envelope {
            layout,
            iv,
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// Type 3: every length is checked against what remains before anything is allocated. The
    /// payload is not checked here (a payload shorter than its tag fails to open, uniformly).
    fn parse_v3(b: &[u8]) -> Result<Envelope> {
        let mut c = Cursor { b, pos: 2 };
        let suite = c.u16("suite")?;
        if suite != V3_SUITE {
            return Err(Error::malformed(format!(
                "type-3 envelope suite {suite} is unknown (only 1)"
            )));
        }
        let n = c.u32("recipient count")?;
        // Smallest entry: 4 + 1 (NUL) + 80 bytes.
        if n == 0 || n > MAX_RECIPIENTS || n > c.remaining() / (5 + V3_WRAP_LEN) {
            return Err(Error::malformed(format!(
                "envelope claims {n} recipients, which {} remaining bytes cannot hold",
                c.remaining()
            )));
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let id_len = c.u32("recipient ID length")?;
            if id_len == 0 || id_len > MAX_ID_LEN + 1 {
                return Err(Error::malformed(format!(
                    "recipient ID length {id_len} is invalid"
                )));
            }
            let id = c.take(id_len, "recipient ID")?;
            // As in type 1, the ID ends at the first NUL (the last byte is the terminator). Its
            // bytes are kept as they are: a damaged ID simply matches nobody and fails to open
            // (the HPKE info and the payload AAD cover it), with the uniform error.
            let id = &id[..id_len - 1];
            let id = &id[..id.iter().position(|&x| x == 0).unwrap_or(id.len())];
            let nym_id = String::from_utf8_lossy(id).into_owned();
            let mut wrap = [0u8; V3_WRAP_LEN];
            wrap.copy_from_slice(c.take(V3_WRAP_LEN, "wrap")?);
            entries.push(V3Entry {
                nym_id,
                id_bytes: id.to_vec(),
                wrap,
            });
        }
        let header = b[..c.pos].to_vec();
        let ciphertext = b[c.pos..].to_vec();
        Ok(Envelope {
            layout: Layout::V3 { entries, header },
            iv: [0u8; IV_LEN],
            ciphertext,
        })
    }

    /// Parses an armored envelope (data path; bookended or bare).
    pub fn from_armor(text: &[u8]) -> Result<Envelope> {
        Self::parse(&armor::decode(text, armor::Kind::Data)?)
    }

    /// The envelope's bytes in its layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        if let Layout::V3 { header, .. } = &self.layout {
            return [&header[..], &self.ciphertext].concat();
        }
        // The exact size up front (plus one byte, so that a caller appending a terminator, as
        // the C layer does, need not reallocate): a large payload is copied exactly once.
        let header = match &self.layout {
            Layout::V1(entries) => {
                6 + entries
                    .iter()
                    .map(|e| 4 + e.nym_id.len() + 1 + 4 + e.wrapped_key.len())
                    .sum::<usize>()
                    + 4
            }
            Layout::V0(ek) => 2 + 4 + ek.len() + 4,
            Layout::Symmetric => 2 + 4,
            Layout::V3 { .. } => 0, // returned above
        };
        let mut out = Vec::with_capacity(header + IV_LEN + self.ciphertext.len() + 1);
        match &self.layout {
            Layout::V1(entries) => {
                out.extend_from_slice(&1u16.to_be_bytes());
                out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
                for e in entries {
                    out.extend_from_slice(&(e.nym_id.len() as u32 + 1).to_be_bytes());
                    out.extend_from_slice(e.nym_id.as_bytes());
                    out.push(0);
                    out.extend_from_slice(&(e.wrapped_key.len() as u32).to_be_bytes());
                    out.extend_from_slice(&e.wrapped_key);
                }
                out.extend_from_slice(&(IV_LEN as u32).to_be_bytes());
            }
            Layout::V0(ek) => {
                out.extend_from_slice(&(ek.len() as u32).to_be_bytes());
                out.extend_from_slice(ek);
            }
            Layout::Symmetric => {
                out.extend_from_slice(&2u16.to_be_bytes());
                out.extend_from_slice(&(IV_LEN as u32).to_be_bytes());
            }
            Layout::V3 { .. } => {}
        }
        out.extend_from_slice(&self.iv);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Data-path armor of the bytes; with `bookends`, `-----BEGIN OT ARMORED ENVELOPE-----`.
    pub fn to_armor(&self, bookends: bool) -> Result<String> {
        if bookends {
            armor::encode_bookended(&self.to_bytes(), armor::Kind::Data, "ENVELOPE", false)
        } else {
            armor::encode(&self.to_bytes(), armor::Kind::Data)
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Recipient IDs (v1), in envelope order. v0 has one unnamed recipient; symmetric none.
    pub fn recipient_ids(&self) -> Vec<&str> {
        match &self.layout {
            Layout::V1(e) => e.iter().map(|r| r.nym_id.as_str()).collect(),
            Layout::V0(_) => vec![""],
            Layout::Symmetric => vec![],
            Layout::V3 { entries, .. } => entries.iter().map(|r| r.nym_id.as_str()).collect(),
        }
    }

    /// The envelope type number: 0 (v0), 1, 2 or 3.
    pub fn envelope_type(&self) -> u16 {
        match self.layout {
            Layout::V0(_) => 0,
            Layout::V1(_) => 1,
            Layout::Symmetric => 2,
            Layout::V3 { .. } => 3,
        }
    }

    /// Opens an asymmetric envelope with a private key.
    ///
    /// The entry used follows the legacy rules: the first whose ID equals `nym_id`; failing that,
    /// the last entry if its ID is empty. When `nym_id` is `None`, the key's own NymID
    /// ([`Key::nym_id`]) is matched. v0 envelopes have a single entry and no ID.
    ///
    /// Type 3 (suite v3) needs an X25519 private key: the entry carrying `nym_id`, else the
    /// entry with an empty NymID; with `nym_id` `None`, every entry in order. Every failure
    /// after the entry is chosen (wrap, tag, lengths) is the same [`ErrorKind::DecryptFailed`].
    pub fn open(&self, nym_id: Option<&str>, key: &Key) -> Result<Vec<u8>> {
        if let Layout::V3 { entries, header } = &self.layout {
            return self.open_v3(entries, header, nym_id, key);
        }
        if key.algorithm() != Algorithm::Rsa {
            return Err(Error::invalid(format!(
                "a type-{} envelope opens with an RSA private key, not {:?}",
                self.envelope_type(),
                key.algorithm()
            )));
        }
        key.private_key()?;
        let wrapped = match &self.layout {
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
        let plain = self.decrypt_body(&aes_key);
        match (padding_ok, plain) {
            (1, Some(p)) => Ok(legacy_text(p)),
            _ => Err(Error::decrypt_failed()),
        }
    }

    fn open_v3(
        &self,
        entries: &[V3Entry],
        header: &[u8],
        nym_id: Option<&str>,
        key: &Key,
    ) -> Result<Vec<u8>> {
        if key.algorithm() != Algorithm::X25519 {
            return Err(Error::invalid(format!(
                "a type-3 envelope opens with an X25519 private key, not {:?}",
                key.algorithm()
            )));
        }
        let sk = key.x25519_secret()?;
        let pk = key.x25519_public()?.to_bytes();
        let unwrap = |e: &V3Entry| -> Option<Zeroizing<Vec<u8>>> {
            let enc: &[u8; 32] = e.wrap[..32].try_into().ok()?;
            let info = v3_info(&e.id_bytes);
            hpke::open_base(sk, &pk, enc, &info, b"", &e.wrap[32..]).filter(|k| k.len() == 32)
        };
        let cek = match nym_id {
            Some(want) => {
                let hit = entries
                    .iter()
                    .find(|e| e.id_bytes == want.as_bytes())
                    .or_else(|| entries.iter().find(|e| e.id_bytes.is_empty()));
                match hit {
                    Some(e) => unwrap(e),
                    None => {
                        return Err(Error::new(
                            ErrorKind::NoMatchingRecipient,
                            "the envelope has no entry for this NymID and no empty-ID entry",
                        ));
                    }
                }
            }
            None => entries.iter().find_map(unwrap),
        };
        // A wrap that does not open still runs the payload check (with a dummy key; the result
        // is refused whatever it says), so that every failure takes the same path and returns
        // the same error.
        let ok_wrap = cek.is_some();
        let mut content_key = Zeroizing::new([0u8; 32]);
        if let Some(k) = &cek {
            content_key.copy_from_slice(k);
        }
        let Some(n) = self.ciphertext.len().checked_sub(hpke::TAG_LEN) else {
            return Err(Error::decrypt_failed());
        };
        let mut buf = Zeroizing::new(self.ciphertext[..n].to_vec());
        let mut tag = [0u8; hpke::TAG_LEN];
        tag.copy_from_slice(&self.ciphertext[n..]);
        let ok_tag = hpke::aead_open_in_place(&content_key, &[0u8; 12], header, &mut buf, &tag);
        if ok_wrap && ok_tag {
            Ok(std::mem::take(&mut *buf))
        } else {
            Err(Error::decrypt_failed())
        }
    }

    /// Decrypts a symmetric (type 2) envelope with a raw 16-byte key.
    pub fn decrypt_symmetric(&self, key: &[u8]) -> Result<Vec<u8>> {
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
        cipher::decrypt(key, &self.iv, &self.ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_headers_do_not_allocate() {
        // 40 bytes claiming 4 billion recipients.
        let mut b = vec![0u8, 1, 0xff, 0xff, 0xff, 0xff];
        b.resize(40, 0);
        assert_eq!(
            Envelope::parse(&b).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        let mut b = vec![0u8, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff];
        b.resize(40, 0);
        assert_eq!(
            Envelope::parse(&b).unwrap_err().kind(),
            ErrorKind::Malformed
        );
        assert!(Envelope::parse(&[]).is_err());
        assert!(Envelope::parse(&[0, 9]).is_err());
        assert!(Envelope::parse(&[0xff; 64]).is_err());
    }

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
