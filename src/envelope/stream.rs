//! Streaming envelopes (type 4, suite v3 keys): a payload of any length sealed as a sequence of
//! authenticated 64 KiB ChaCha20-Poly1305 chunks under a key wrapped to each recipient with HPKE,
//! in the style of age's STREAM. The byte-level contract is `docs/streaming-envelopes.md`.
//!
//! ```text
//! header:  u16 4 | u16 1 | u32 65536 | u32 n | n × (u32 idlen | NymID | 0x00 | enc[32] ct[48])
//! key:     payload key = HKDF-SHA-256(salt = SHA-256(header), ikm = stream key,
//!                                     info = "ot-transport v3 stream payload", 32 bytes)
//! chunk i: ChaCha20-Poly1305(payload key, nonce = u88 big-endian i || last ? 0x01 : 0x00,
//!                            aad = empty, 65536 plaintext bytes; the last 0..=65536)
//! ```
//!
//! Both sides hold at most one chunk: a sealer keeps back up to 64 KiB of plaintext (only the
//! last chunk may carry the last-chunk flag, and it is not known to be last until
//! [`StreamSealer::finish`]); an opener keeps back up to one chunk of ciphertext for the same
//! reason. A stream cut at a chunk boundary, cut inside a chunk, extended, reordered or spliced
//! with another stream fails; every such failure, every tag that does not verify and every wrap
//! that does not open is the same [`ErrorKind::DecryptFailed`]. Chunk `i` lies at payload offset
//! `i × 65552` and holds plaintext bytes `i × 65536 ..`: a reader that knows where the payload
//! ends can open any chunk alone ([`StreamOpener::open_chunk`]).

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::v3::{unwrap_content_key, wrap_entries};
use super::{MAX_ID_LEN, MAX_RECIPIENTS, Recipient, V3_SUITE, V3_WRAP_LEN, V3Entry, codec};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};

/// Type number of a streaming envelope.
pub const STREAM_TYPE: u16 = 4;
/// Plaintext bytes per chunk (every chunk but the last holds exactly this many).
pub const CHUNK_LEN: usize = 65536;
/// Bytes a chunk adds: the Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Bytes of a full chunk on the wire.
pub const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;
/// The fixed part of the HPKE `info` of a stream wrap (then 0x00 and the NymID).
pub const STREAM_INFO_PREFIX: &[u8] = b"ot-transport v3 stream";
/// HKDF `info` of the payload key.
pub const PAYLOAD_KEY_INFO: &[u8] = b"ot-transport v3 stream payload";
/// Bytes of the header before the recipient entries.
const FIXED_LEN: usize = 12;
/// Chunk counters are 88 bits; a stream stops far below that (2^64 chunks).
const MAX_CHUNKS: u64 = u64::MAX;

/// The payload key: HKDF-SHA-256(salt = SHA-256(header), ikm = stream key, info).
fn payload_key(stream_key: &[u8; 32], header: &[u8]) -> Zeroizing<[u8; 32]> {
    let salt = Sha256::digest(header);
    let h = Hkdf::<Sha256>::new(Some(&salt), stream_key);
    let mut k = Zeroizing::new([0u8; 32]);
    // 32 bytes from HKDF-SHA-256 cannot fail.
    let _ = h.expand(PAYLOAD_KEY_INFO, k.as_mut());
    k
}

/// The nonce of chunk `index`: 11-byte big-endian counter, then the last-chunk flag.
fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// The chunk AEAD, ChaCha20-Poly1305 (RFC 8439) under the payload key, in the build's crypto
/// engine: OpenSSL's EVP ChaCha20-Poly1305 (its assembly runs ~2.7x the pure-Rust crate here,
/// `docs/streaming-envelopes.md`) with the default `openssl-rsa-engine` feature, the
/// `chacha20poly1305` crate with `rust-rsa-engine`. Same bytes either way.
#[cfg(all(feature = "openssl-rsa-engine", not(feature = "rust-rsa-engine")))]
mod chunk_aead {
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;

    use super::{TAG_LEN, chunk_nonce};
    use crate::error::{Error, Result};

    /// One EVP context keyed once; each chunk re-initialises only the nonce. OpenSSL wipes the
    /// key schedule when the context is freed.
    pub(super) struct ChunkAead(CipherCtx);

    impl ChunkAead {
        pub(super) fn new(key: &[u8; 32]) -> Result<ChunkAead> {
            let mut c = CipherCtx::new().map_err(|_| Error::internal("no cipher context"))?;
            c.encrypt_init(
                Some(Cipher::chacha20_poly1305()),
                Some(key),
                Some(&[0u8; 12]),
            )
            .map_err(|_| Error::internal("ChaCha20-Poly1305 key setup failed"))?;
            Ok(ChunkAead(c))
        }

        /// Seals `input` as chunk `index` into `out` (`input.len() + TAG_LEN` bytes).
        pub(super) fn seal(
            &mut self,
            index: u64,
            last: bool,
            input: &[u8],
            out: &mut [u8],
        ) -> Result<()> {
            let c = &mut self.0;
            let nonce = chunk_nonce(index, last);
            let (body, tag) = out.split_at_mut(input.len());
            let ok = (|| {
                c.encrypt_init(None, None, Some(&nonce)).ok()?;
                let n = c.cipher_update(input, Some(body)).ok()?;
                let mut end = [0u8; 1];
                let f = c.cipher_final(&mut end).ok()?;
                c.tag(tag).ok()?;
                (n == input.len() && f == 0).then_some(())
            })();
            ok.ok_or_else(|| Error::internal("ChaCha20-Poly1305 encryption failed"))
        }

        /// Opens chunk `index` (`sealed` = ciphertext || tag) into `out`; false when the tag
        /// does not verify (what was written to `out` is wiped then).
        pub(super) fn open(
            &mut self,
            index: u64,
            last: bool,
            sealed: &[u8],
            out: &mut [u8],
        ) -> bool {
            let Some(n) = sealed.len().checked_sub(TAG_LEN) else {
                return false;
            };
            let (ct, tag) = sealed.split_at(n);
            let c = &mut self.0;
            let nonce = chunk_nonce(index, last);
            let ok = (|| {
                c.decrypt_init(None, None, Some(&nonce)).ok()?;
                c.set_tag(tag).ok()?;
                let w = c.cipher_update(ct, Some(&mut out[..n])).ok()?;
                let mut end = [0u8; 1];
                let f = c.cipher_final(&mut end).ok()?;
                (w == n && f == 0).then_some(())
            })();
            if ok.is_none() {
                out[..n].iter_mut().for_each(|b| *b = 0);
                return false;
            }
            true
        }
    }
}

#[cfg(feature = "rust-rsa-engine")]
mod chunk_aead {
    use chacha20poly1305::aead::inout::InOutBuf;
    use chacha20poly1305::aead::{AeadInOut, KeyInit};
    use chacha20poly1305::{ChaCha20Poly1305, Tag};

    use super::{TAG_LEN, chunk_nonce};
    use crate::error::Result;

    pub(super) struct ChunkAead(ChaCha20Poly1305);

    impl ChunkAead {
        pub(super) fn new(key: &[u8; 32]) -> Result<ChunkAead> {
            Ok(ChunkAead(ChaCha20Poly1305::new(key.into())))
        }

        pub(super) fn seal(
            &mut self,
            index: u64,
            last: bool,
            input: &[u8],
            out: &mut [u8],
        ) -> Result<()> {
            let (body, tag) = out.split_at_mut(input.len());
            let nonce = chunk_nonce(index, last).into();
            // Lengths are equal by construction and far below the AEAD's 256 GiB limit.
            let buf = InOutBuf::new(input, body)
                .map_err(|_| crate::Error::internal("chunk lengths differ"))?;
            let t = self
                .0
                .encrypt_inout_detached(&nonce, b"", buf)
                .map_err(|_| crate::Error::internal("ChaCha20-Poly1305 encryption failed"))?;
            tag.copy_from_slice(&t);
            Ok(())
        }

        /// The tag is checked before anything is written to `out`.
        pub(super) fn open(
            &mut self,
            index: u64,
            last: bool,
            sealed: &[u8],
            out: &mut [u8],
        ) -> bool {
            let Some(n) = sealed.len().checked_sub(TAG_LEN) else {
                return false;
            };
            let (ct, tag) = sealed.split_at(n);
            let Ok(buf) = InOutBuf::new(ct, &mut out[..n]) else {
                return false;
            };
            let Ok(tag) = <&[u8; TAG_LEN]>::try_from(tag) else {
                return false;
            };
            let nonce = chunk_nonce(index, last).into();
            self.0
                .decrypt_inout_detached(&nonce, b"", buf, &Tag::from(*tag))
                .is_ok()
        }
    }
}

use chunk_aead::ChunkAead;

/// Seals a stream, a piece at a time: [`StreamSealer::update`] with each piece of plaintext,
/// then [`StreamSealer::finish`]. The output of all the calls, in order, is the envelope: the
/// header comes out of the first call, then whole chunks as they fill.
pub struct StreamSealer {
    aead: ChunkAead,
    header: Vec<u8>,
    header_sent: bool,
    /// Plaintext held back (0..=CHUNK_LEN bytes): the next chunk, sealed once more follows.
    pending: Zeroizing<Vec<u8>>,
    index: u64,
    finished: bool,
}

impl StreamSealer {
    /// A sealer to X25519 recipients (1..=4096, entries sorted by NymID as in type 3): a fresh
    /// 32-byte stream key wrapped to each with HPKE base mode.
    pub fn new(recipients: &[Recipient<'_>]) -> Result<StreamSealer> {
        let mut stream_key = Zeroizing::new([0u8; 32]);
        crate::rng::fill(stream_key.as_mut())?;
        Self::with_secrets(recipients, &stream_key, None)
    }

    /// [`StreamSealer::new`] with a chosen stream key and HPKE ephemeral secrets (one per
    /// recipient, in entry order): reproduces the known-answer vectors. Never for real use.
    #[doc(hidden)]
    pub fn with_secrets(
        recipients: &[Recipient<'_>],
        stream_key: &[u8; 32],
        ephemerals: Option<&[[u8; 32]]>,
    ) -> Result<StreamSealer> {
        if recipients.is_empty() || recipients.len() > MAX_RECIPIENTS {
            return Err(Error::invalid(format!(
                "a stream needs 1..={MAX_RECIPIENTS} recipients"
            )));
        }
        for r in recipients {
            if r.nym_id.len() > MAX_ID_LEN || r.nym_id.bytes().any(|b| b == 0) {
                return Err(Error::invalid(
                    "recipient NymID is too long or contains NUL",
                ));
            }
            if r.key.algorithm() != Algorithm::X25519 {
                return Err(Error::invalid(format!(
                    "streaming envelopes are for suite v3 keys: a recipient has an {:?} key, \
                     not X25519 (legacy peers cannot read streams: seal an envelope instead)",
                    r.key.algorithm()
                )));
            }
        }
        let (_, header) = wrap_entries(
            recipients,
            STREAM_TYPE,
            &(CHUNK_LEN as u32).to_be_bytes(),
            STREAM_INFO_PREFIX,
            stream_key,
            ephemerals,
        )?;
        let key = payload_key(stream_key, &header);
        Ok(StreamSealer {
            aead: ChunkAead::new(&key)?,
            header,
            header_sent: false,
            pending: Zeroizing::new(Vec::with_capacity(CHUNK_LEN)),
            index: 0,
            finished: false,
        })
    }

    /// The header (every byte before the first chunk).
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    fn header_out(&self) -> usize {
        if self.header_sent {
            0
        } else {
            self.header.len()
        }
    }

    /// Exactly how many bytes [`StreamSealer::update`] with `len` bytes of plaintext writes.
    pub fn update_len(&self, len: usize) -> usize {
        let total = self.pending.len().saturating_add(len);
        // Chunks sealed now: every full one that is followed by at least one more byte.
        let chunks = total.saturating_sub(1) / CHUNK_LEN;
        self.header_out()
            .saturating_add(chunks.saturating_mul(SEALED_CHUNK_LEN))
    }

    /// Exactly how many bytes [`StreamSealer::finish`] writes now.
    pub fn finish_len(&self) -> usize {
        self.header_out() + self.pending.len() + TAG_LEN
    }

    fn check_open(&self) -> Result<()> {
        if self.finished {
            return Err(Error::new(
                ErrorKind::State,
                "this stream is finished: start a new sealer",
            ));
        }
        Ok(())
    }

    /// An internal failure ends the stream: the sealer refuses every later call.
    fn stop_on_error(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.finished = true;
        }
        r
    }

    fn next_index(&mut self) -> Result<u64> {
        let i = self.index;
        if i == MAX_CHUNKS {
            return Err(Error::invalid("the stream has too many chunks"));
        }
        self.index += 1;
        Ok(i)
    }

    /// Seals `input` (held back until a chunk is full and more follows) into `out`, which must
    /// have room for [`StreamSealer::update_len`] bytes; returns how many were written.
    pub fn update(&mut self, mut input: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_open()?;
        let need = self.update_len(input.len());
        if out.len() < need {
            return Err(Error::invalid(format!(
                "the output has room for {} bytes; this update writes {need}",
                out.len()
            )));
        }
        let mut w = 0;
        if !self.header_sent {
            out[..self.header.len()].copy_from_slice(&self.header);
            w = self.header.len();
            self.header_sent = true;
        }
        // Complete the held-back chunk first; seal it once something follows it.
        if !self.pending.is_empty() {
            let take = (CHUNK_LEN - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.pending.len() == CHUNK_LEN && !input.is_empty() {
                let i = self.next_index()?;
                let r = self
                    .aead
                    .seal(i, false, &self.pending, &mut out[w..w + SEALED_CHUNK_LEN]);
                self.stop_on_error(r)?;
                w += SEALED_CHUNK_LEN;
                self.pending.clear();
            }
        }
        // Whole chunks straight from the input to the output, no copy.
        while input.len() > CHUNK_LEN {
            let i = self.next_index()?;
            let r = self.aead.seal(
                i,
                false,
                &input[..CHUNK_LEN],
                &mut out[w..w + SEALED_CHUNK_LEN],
            );
            self.stop_on_error(r)?;
            w += SEALED_CHUNK_LEN;
            input = &input[CHUNK_LEN..];
        }
        self.pending.extend_from_slice(input);
        debug_assert_eq!(w, need);
        Ok(w)
    }

    /// Seals the held-back plaintext as the last chunk into `out` (room for
    /// [`StreamSealer::finish_len`] bytes) and ends the stream; returns how many were written.
    pub fn finish(&mut self, out: &mut [u8]) -> Result<usize> {
        self.check_open()?;
        let need = self.finish_len();
        if out.len() < need {
            return Err(Error::invalid(format!(
                "the output has room for {} bytes; the last chunk needs {need}",
                out.len()
            )));
        }
        let mut w = 0;
        if !self.header_sent {
            out[..self.header.len()].copy_from_slice(&self.header);
            w = self.header.len();
            self.header_sent = true;
        }
        let i = self.next_index()?;
        let n = self.pending.len();
        let r = self
            .aead
            .seal(i, true, &self.pending, &mut out[w..w + n + TAG_LEN]);
        self.stop_on_error(r)?;
        self.pending.clear();
        self.finished = true;
        Ok(w + n + TAG_LEN)
    }

    /// [`StreamSealer::update`] appending to a vector.
    pub fn update_vec(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let at = out.len();
        out.resize(at + self.update_len(input.len()), 0);
        let n = self.update(input, &mut out[at..])?;
        out.truncate(at + n);
        Ok(())
    }

    /// [`StreamSealer::finish`] appending to a vector.
    pub fn finish_vec(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let at = out.len();
        out.resize(at + self.finish_len(), 0);
        let n = self.finish(&mut out[at..])?;
        out.truncate(at + n);
        Ok(())
    }
}

/// How far the header of `b` is known: `Ok(Ok(len))` when `b` holds the whole header (`len`
/// bytes), `Ok(Err(more))` when at least `more` further bytes are needed to learn more, `Err`
/// when the bytes cannot start a streaming envelope. Every length is checked before it is used.
fn scan_header(b: &[u8]) -> Result<std::result::Result<usize, usize>> {
    if b.len() < FIXED_LEN {
        // Refuse a wrong type as soon as it shows, not after 12 bytes.
        if b.len() >= 2 && u16::from_be_bytes([b[0], b[1]]) != STREAM_TYPE {
            return Err(not_a_stream(b));
        }
        return Ok(Err(FIXED_LEN - b.len()));
    }
    let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
    if u16_at(0) != STREAM_TYPE {
        return Err(not_a_stream(b));
    }
    if u16_at(2) != V3_SUITE {
        return Err(Error::malformed(format!(
            "streaming envelope suite {} is unknown (only 1)",
            u16_at(2)
        )));
    }
    if u32_at(4) != CHUNK_LEN {
        return Err(Error::malformed(format!(
            "streaming envelope chunk length {} is not 65536",
            u32_at(4)
        )));
    }
    let n = u32_at(8);
    if n == 0 || n > MAX_RECIPIENTS {
        return Err(Error::malformed(format!(
            "streaming envelope claims {n} recipients (1..=4096)"
        )));
    }
    let mut pos = FIXED_LEN;
    for _ in 0..n {
        if b.len() < pos + 4 {
            return Ok(Err(pos + 4 - b.len()));
        }
        let id_len = u32_at(pos);
        if id_len == 0 || id_len > MAX_ID_LEN + 1 {
            return Err(Error::malformed(format!(
                "recipient ID length {id_len} is invalid"
            )));
        }
        let end = pos + 4 + id_len + V3_WRAP_LEN;
        if b.len() < end {
            return Ok(Err(end - b.len()));
        }
        pos = end;
    }
    Ok(Ok(pos))
}

fn not_a_stream(b: &[u8]) -> Error {
    Error::malformed(format!(
        "not a streaming envelope (type {}, not 4)",
        u16::from_be_bytes([b[0], b[1]])
    ))
}

enum OpenState {
    /// Collecting the header (never more bytes than it is long).
    Header(Vec<u8>),
    /// Reading chunks.
    Body {
        aead: ChunkAead,
        /// Whether the chosen wrap opened (if not, the key is a dummy and the first chunk
        /// fails like any other bad chunk).
        wrap_ok: bool,
        header_len: usize,
        /// Ciphertext held back (0..=SEALED_CHUNK_LEN bytes): the next chunk, opened once more
        /// follows (as a middle chunk) or at the end (as the last).
        pending: Vec<u8>,
        index: u64,
    },
    Finished,
    Failed,
}

/// Opens a stream, a piece at a time: [`StreamOpener::update`] with each piece of the envelope
/// as it arrives (any sizes), then [`StreamOpener::finish`]. Plaintext comes out chunk by chunk
/// as each verifies; the stream is complete and untruncated only when `finish` succeeds.
pub struct StreamOpener {
    key: Key,
    nym_id: Option<String>,
    state: OpenState,
}

impl StreamOpener {
    /// An opener for `key` (an X25519 private key). The entry used follows the type-3 rules:
    /// the one carrying `nym_id`, else the one with an empty NymID; with `None`, every entry in
    /// order.
    pub fn new(nym_id: Option<&str>, key: &Key) -> Result<StreamOpener> {
        if key.algorithm() != Algorithm::X25519 {
            return Err(Error::invalid(format!(
                "a streaming envelope opens with an X25519 private key, not {:?}",
                key.algorithm()
            )));
        }
        key.x25519_secret()?;
        Ok(StreamOpener {
            key: key.clone(),
            nym_id: nym_id.map(str::to_string),
            state: OpenState::Header(Vec::new()),
        })
    }

    /// The header's length once it has been read, else `None`.
    pub fn header_len(&self) -> Option<usize> {
        match &self.state {
            OpenState::Body { header_len, .. } => Some(*header_len),
            _ => None,
        }
    }

    /// The most bytes [`StreamOpener::update`] with `len` input bytes, or
    /// [`StreamOpener::finish`] after it, can write (plaintext is never longer than the
    /// ciphertext held back plus the input).
    pub fn output_max(&self, len: usize) -> usize {
        match &self.state {
            OpenState::Body { pending, .. } => pending.len().saturating_add(len),
            _ => len,
        }
    }

    fn fail(&mut self) -> Error {
        self.state = OpenState::Failed;
        Error::decrypt_failed()
    }

    fn check_usable(&self) -> Result<()> {
        match self.state {
            OpenState::Finished => Err(Error::new(
                ErrorKind::State,
                "this stream is finished: start a new opener",
            )),
            OpenState::Failed => Err(Error::decrypt_failed()),
            _ => Ok(()),
        }
    }

    /// The header is complete: choose the entry, unwrap the stream key, derive the payload key.
    fn start_body(&mut self, header: Vec<u8>) -> Result<()> {
        let entries: Vec<V3Entry> = codec::parse_entries(&header, FIXED_LEN)?;
        let (wrap_ok, stream_key) = unwrap_content_key(
            &entries,
            STREAM_INFO_PREFIX,
            STREAM_TYPE,
            self.nym_id.as_deref(),
            &self.key,
        )?;
        let key = payload_key(&stream_key, &header);
        self.state = OpenState::Body {
            aead: ChunkAead::new(&key)?,
            wrap_ok,
            header_len: header.len(),
            pending: Vec::with_capacity(SEALED_CHUNK_LEN),
            index: 0,
        };
        Ok(())
    }

    /// Reads `input` (the next bytes of the envelope) and writes the plaintext of every chunk
    /// that is now known not to be the last into `out` (room for
    /// [`StreamOpener::output_max`] bytes); returns how many bytes were written.
    ///
    /// A header that cannot be read is [`ErrorKind::Malformed`]; no entry for `nym_id` is
    /// [`ErrorKind::NoMatchingRecipient`]; a chunk that does not verify (or a wrap that did not
    /// open) is [`ErrorKind::DecryptFailed`], and every call after a failure gives that again.
    pub fn update(&mut self, mut input: &[u8], out: &mut [u8]) -> Result<usize> {
        self.check_usable()?;
        let max = self.output_max(input.len());
        if out.len() < max {
            return Err(Error::invalid(format!(
                "the output has room for {} bytes; this update may write {max}",
                out.len()
            )));
        }
        if let OpenState::Header(h) = &mut self.state {
            loop {
                match scan_header(h) {
                    Err(e) => {
                        self.state = OpenState::Failed;
                        return Err(e);
                    }
                    Ok(Ok(_)) => break,
                    Ok(Err(more)) => {
                        if input.is_empty() {
                            return Ok(0);
                        }
                        let take = more.min(input.len());
                        h.extend_from_slice(&input[..take]);
                        input = &input[take..];
                    }
                }
            }
            let header = std::mem::take(h);
            if let Err(e) = self.start_body(header) {
                self.state = OpenState::Failed;
                return Err(e);
            }
        }
        let OpenState::Body {
            aead,
            wrap_ok,
            pending,
            index,
            ..
        } = &mut self.state
        else {
            return Ok(0);
        };
        let mut w = 0;
        let mut bad = false;
        if !pending.is_empty() || input.len() <= SEALED_CHUNK_LEN {
            let take = (SEALED_CHUNK_LEN - pending.len()).min(input.len());
            pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            if pending.len() == SEALED_CHUNK_LEN && !input.is_empty() {
                // Opened even when the wrap did not (dummy key): every failure costs the same.
                let ok = aead.open(*index, false, pending, &mut out[w..w + CHUNK_LEN]);
                bad |= !(ok & *wrap_ok);
                *index += 1;
                w += CHUNK_LEN;
                pending.clear();
            }
        }
        while !bad && input.len() > SEALED_CHUNK_LEN {
            let ok = aead.open(
                *index,
                false,
                &input[..SEALED_CHUNK_LEN],
                &mut out[w..w + CHUNK_LEN],
            );
            bad |= !(ok & *wrap_ok);
            *index += 1;
            w += CHUNK_LEN;
            input = &input[SEALED_CHUNK_LEN..];
        }
        if bad {
            // Plaintext of earlier chunks of this call may be in `out`: wipe it, the call failed.
            out[..w].iter_mut().for_each(|b| *b = 0);
            return Err(self.fail());
        }
        if *index == MAX_CHUNKS {
            return Err(self.fail());
        }
        pending.extend_from_slice(input);
        Ok(w)
    }

    /// Opens the held-back ciphertext as the last chunk into `out` (room for
    /// [`StreamOpener::output_max`]`(0)` bytes) and ends the stream. A stream that ends inside
    /// its header, or whose last chunk is missing, cut, or not marked last, is
    /// [`ErrorKind::DecryptFailed`].
    pub fn finish(&mut self, out: &mut [u8]) -> Result<usize> {
        self.check_usable()?;
        let max = self.output_max(0);
        if out.len() < max {
            return Err(Error::invalid(format!(
                "the output has room for {} bytes; the last chunk may need {max}",
                out.len()
            )));
        }
        let OpenState::Body {
            aead,
            wrap_ok,
            pending,
            index,
            ..
        } = &mut self.state
        else {
            // The stream ended inside its header: truncated.
            return Err(self.fail());
        };
        // The last chunk holds 1..=65536 bytes, or 0 when it is the only one.
        let n = pending.len();
        let shape_ok = n >= TAG_LEN && (n > TAG_LEN || *index == 0);
        let ok = shape_ok && aead.open(*index, true, pending, out);
        if !(ok & *wrap_ok) {
            if ok {
                out[..n - TAG_LEN].iter_mut().for_each(|b| *b = 0);
            }
            return Err(self.fail());
        }
        let len = n - TAG_LEN;
        pending.clear();
        self.state = OpenState::Finished;
        Ok(len)
    }

    /// Opens one chunk on its own (random access), once the header has been read by
    /// [`StreamOpener::update`]: chunk `index` is the `SEALED_CHUNK_LEN` bytes at payload offset
    /// `index × SEALED_CHUNK_LEN` (the last chunk: what remains, 16..=65552 bytes), and `last`
    /// says whether it is the final chunk of the payload. Writes its plaintext to `out`;
    /// does not change what `update` and `finish` expect next.
    pub fn open_chunk(
        &mut self,
        index: u64,
        last: bool,
        chunk: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.check_usable()?;
        let OpenState::Body { aead, wrap_ok, .. } = &mut self.state else {
            return Err(Error::new(
                ErrorKind::State,
                "the stream's header has not been read yet: pass it to update first",
            ));
        };
        let Some(n) = chunk.len().checked_sub(TAG_LEN) else {
            return Err(Error::decrypt_failed());
        };
        if out.len() < n {
            return Err(Error::invalid(format!(
                "the output has room for {} bytes; the chunk holds {n}",
                out.len()
            )));
        }
        let shape_ok = if last {
            n <= CHUNK_LEN && (n > 0 || index == 0)
        } else {
            n == CHUNK_LEN
        };
        let ok = shape_ok && aead.open(index, last, chunk, out);
        if ok & *wrap_ok {
            Ok(n)
        } else {
            if ok {
                out[..n].iter_mut().for_each(|b| *b = 0);
            }
            Err(Error::decrypt_failed())
        }
    }

    /// [`StreamOpener::update`] appending to a vector of plaintext (grown without leaving a
    /// copy behind in freed memory).
    pub fn update_vec(&mut self, input: &[u8], out: &mut Zeroizing<Vec<u8>>) -> Result<()> {
        let at = out.len();
        grow_secret(out, self.output_max(input.len()));
        out.resize(at + self.output_max(input.len()), 0);
        let r = self.update(input, &mut out[at..]);
        out.truncate(at + *r.as_ref().unwrap_or(&0));
        r.map(|_| ())
    }

    /// [`StreamOpener::finish`] appending to a vector (which holds plaintext: wipe it).
    pub fn finish_vec(&mut self, out: &mut Zeroizing<Vec<u8>>) -> Result<()> {
        let at = out.len();
        grow_secret(out, self.output_max(0));
        out.resize(at + self.output_max(0), 0);
        let r = self.finish(&mut out[at..]);
        out.truncate(at + *r.as_ref().unwrap_or(&0));
        r.map(|_| ())
    }
}

/// Makes room for `extra` more bytes in a vector of plaintext: a new allocation when needed, the
/// old one wiped before it is freed (a plain reallocation would free it unwiped).
fn grow_secret(v: &mut Zeroizing<Vec<u8>>, extra: usize) {
    if v.capacity() - v.len() >= extra {
        return;
    }
    let mut n = Vec::with_capacity(v.len().saturating_add(extra));
    n.extend_from_slice(v);
    *v = Zeroizing::new(n); // the old vector is wiped as it drops
}

/// Seals a whole `plaintext` as a stream (the output of a sealer fed everything at once).
pub fn seal_stream(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Vec<u8>> {
    let mut s = StreamSealer::new(recipients)?;
    let mut out =
        Vec::with_capacity(s.update_len(plaintext.len()) + CHUNK_LEN + TAG_LEN + s.header().len());
    s.update_vec(plaintext, &mut out)?;
    s.finish_vec(&mut out)?;
    Ok(out)
}

/// Opens a whole stream held in memory.
pub fn open_stream(stream: &[u8], nym_id: Option<&str>, key: &Key) -> Result<Zeroizing<Vec<u8>>> {
    let mut o = StreamOpener::new(nym_id, key)?;
    let mut out = Zeroizing::new(Vec::with_capacity(stream.len()));
    o.update_vec(stream, &mut out)?;
    o.finish_vec(&mut out)?;
    Ok(out)
}
