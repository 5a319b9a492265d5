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
//! failure to open after the recipient entry is chosen is the same
//! [`ErrorKind::DecryptFailed`](crate::error::ErrorKind::DecryptFailed), whatever failed (RSA
//! padding, wrapped-key length, CBC padding): no padding oracle.
//!
//! This file holds the types and the public entry points; the work is in
//!
//! * `codec`: the wire codec (parse and write every layout, the bounds-checked cursor);
//! * `legacy`: types 0, 1 and 2 (RSA key wrap, AES-128-CBC seal and open, the legacy text rules);
//! * `v3`: type 3 (HPKE key wrap, ChaCha20-Poly1305 seal and open);
//! * [`hpke`]: the HPKE and AEAD primitives type 3 uses.

use crate::armor;
use crate::error::{Error, Result};
use crate::keys::{Algorithm, Key};

mod codec;
pub mod hpke;
mod legacy;
pub mod stream;
mod v3;

pub use crate::cipher::aes128_cbc::{IV_LEN, KEY_LEN};
/// Largest plaintext [`Envelope::seal`] accepts (1 GiB).
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

/// Data-path armor of envelope bytes; with `bookends`, `-----BEGIN OT ARMORED ENVELOPE-----`.
fn armor_bytes(bytes: &[u8], bookends: bool) -> Result<String> {
    if bookends {
        armor::encode_bookended(bytes, armor::Kind::Data, "ENVELOPE", false)
    } else {
        armor::encode(bytes, armor::Kind::Data)
    }
}

/// [`Envelope::open`] of an envelope given as its parts; the plaintext has `room` spare bytes.
fn open_parts(
    layout: &Layout,
    iv: &[u8; IV_LEN],
    ciphertext: &[u8],
    nym_id: Option<&str>,
    key: &Key,
    room: usize,
) -> Result<Vec<u8>> {
    if let Layout::V3 { entries, header } = layout {
        return v3::open_v3(entries, header, ciphertext, nym_id, key, room);
    }
    legacy::open_legacy(layout, iv, ciphertext, nym_id, key, room)
}

/// The legacy cipher at its former path: [`crate::cipher::aes128_cbc`].
pub use crate::cipher::aes128_cbc as cipher;

impl Envelope {
    /// Seals `plaintext` to every recipient, entries sorted by NymID as legacy OT's
    /// `std::multimap` ordered them: type 1 for RSA recipients (`plaintext` must not contain NUL
    /// bytes), type 3 for X25519 recipients (suite v3); a mix is refused.
    pub fn seal(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Envelope> {
        match Self::check_recipients(recipients)? {
            Algorithm::X25519 => Self::seal_v3(recipients, plaintext),
            _ => Self::seal_v1(recipients, plaintext),
        }
    }

    /// The checks every seal makes on its recipients; the algorithm they share (RSA or X25519).
    fn check_recipients(recipients: &[Recipient<'_>]) -> Result<Algorithm> {
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
            return Ok(Algorithm::X25519);
        }
        if x25519 != 0 {
            return Err(Error::invalid(
                "an envelope cannot mix RSA and X25519 recipients: seal one envelope for each kind",
            ));
        }
        Ok(Algorithm::Rsa)
    }

    /// Encrypts with a raw AES-128 key into a symmetric (type 2) envelope.
    pub fn encrypt_symmetric(key: &[u8], plaintext: &[u8]) -> Result<Envelope> {
        Self::seal_symmetric(key, plaintext)
    }

    /// Parses envelope bytes (v1, v0, symmetric or type 3).
    pub fn parse(b: &[u8]) -> Result<Envelope> {
        codec::parse(b)
    }

    /// Parses an armored envelope (data path; bookended or bare).
    pub fn from_armor(text: &[u8]) -> Result<Envelope> {
        Self::parse(&armor::decode(text, armor::Kind::Data)?)
    }

    /// The envelope's bytes in its layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::to_bytes(self)
    }

    /// Data-path armor of the bytes; with `bookends`, `-----BEGIN OT ARMORED ENVELOPE-----`.
    pub fn to_armor(&self, bookends: bool) -> Result<String> {
        armor_bytes(&self.to_bytes(), bookends)
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
    /// after the entry is chosen (wrap, tag, lengths) is the same
    /// [`ErrorKind::DecryptFailed`](crate::error::ErrorKind::DecryptFailed).
    pub fn open(&self, nym_id: Option<&str>, key: &Key) -> Result<Vec<u8>> {
        open_parts(&self.layout, &self.iv, &self.ciphertext, nym_id, key, 0)
    }

    /// [`Envelope::seal`] straight into the envelope's bytes (what [`Envelope::to_bytes`] of the
    /// sealed envelope gives), without the envelope: the ciphertext is written once, into the
    /// vector returned, which has one spare byte of capacity (a C caller's terminator).
    pub fn seal_to_bytes(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Vec<u8>> {
        match Self::check_recipients(recipients)? {
            Algorithm::X25519 => v3::seal_v3_to_bytes(recipients, plaintext),
            _ => legacy::seal_v1_to_bytes(recipients, plaintext),
        }
    }

    /// [`Envelope::seal`] straight into armor (what [`Envelope::to_armor`] gives).
    pub fn seal_to_armor(
        recipients: &[Recipient<'_>],
        plaintext: &[u8],
        bookends: bool,
    ) -> Result<String> {
        armor_bytes(&Self::seal_to_bytes(recipients, plaintext)?, bookends)
    }

    /// [`Envelope::parse`] then [`Envelope::open`] in one step, without copying the ciphertext:
    /// it is read where it lies in `bytes` and decrypted once, into the vector returned (one
    /// spare byte of capacity, for a C caller's terminator). Same errors as the two steps.
    pub fn open_bytes(bytes: &[u8], nym_id: Option<&str>, key: &Key) -> Result<Vec<u8>> {
        let (layout, iv, ciphertext) = codec::parse_parts(bytes)?;
        open_parts(&layout, &iv, ciphertext, nym_id, key, 1)
    }

    /// [`Envelope::from_armor`] then [`Envelope::open`] in one step (see [`Envelope::open_bytes`]).
    pub fn open_armor(text: &[u8], nym_id: Option<&str>, key: &Key) -> Result<Vec<u8>> {
        Self::open_bytes(&armor::decode(text, armor::Kind::Data)?, nym_id, key)
    }

    /// Decrypts a symmetric (type 2) envelope with a raw 16-byte key.
    pub fn decrypt_symmetric(&self, key: &[u8]) -> Result<Vec<u8>> {
        self.open_symmetric(key)
    }
}
