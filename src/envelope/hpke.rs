//! HPKE base mode (RFC 9180) with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//! ChaCha20-Poly1305, single shot (sequence number 0), composed from the `x25519-dalek`,
//! `hkdf`, `sha2` and `chacha20poly1305` crates exactly as RFC 9180 §4–§5 and §7.1.3 define it.
//! Also the plain ChaCha20-Poly1305 (RFC 8439) calls the type-3 payload uses.
//!
//! Checked against the RFC 9180 test vectors in `tests/v3_primitives.rs`.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::{Hkdf, HkdfExtract};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Length of the KEM's encapsulated key (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// Length of the AEAD tag.
pub const TAG_LEN: usize = 16;

const KEM_SUITE: &[u8] = b"KEM\x00\x20";
const HPKE_SUITE: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x03";
const VERSION: &[u8] = b"HPKE-v1";

fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut h = HkdfExtract::<Sha256>::new(Some(salt));
    h.input_ikm(VERSION);
    h.input_ikm(suite);
    h.input_ikm(label);
    h.input_ikm(ikm);
    let (prk, _) = h.finalize();
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    out
}

fn labeled_expand(suite: &[u8], prk: &[u8; 32], label: &[u8], info: &[u8], out: &mut [u8]) {
    // `prk` is always 32 bytes and `out` at most 32: neither call can fail.
    let Ok(h) = Hkdf::<Sha256>::from_prk(prk) else {
        return;
    };
    let len = (out.len() as u16).to_be_bytes();
    let _ = h.expand_multi_info(&[&len, VERSION, suite, label, info], out);
}

/// X25519(k, u) (RFC 7748 §5). Computed through the birational map to Edwards form, whose
/// variable-base multiplication in curve25519-dalek uses the vectorised backend (~1.7× faster than
/// its Montgomery ladder on AVX2 machines): clamp k, map u to an Edwards point (either sign: ±P
/// share their u), multiply, map back. `u` values with no Edwards preimage (points on the twist,
/// u = -1) take the Montgomery ladder instead; which path runs depends only on the public `u`.
/// Equal to `x25519_dalek::x25519` on every input (RFC 7748 vectors and random points in
/// `tests/v3_primitives.rs`).
pub fn x25519(k: &[u8; 32], u: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(match MontgomeryPoint(*u).to_edwards(0) {
        Some(p) => p.mul_clamped(*k).to_montgomery().to_bytes(),
        None => x25519_dalek::x25519(*k, *u),
    })
}

/// DHKEM ExtractAndExpand: the KEM shared secret from the DH output and `enc || pkR`.
fn kem_shared_secret(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let prk = labeled_extract(KEM_SUITE, b"", b"eae_prk", dh);
    let mut ss = Zeroizing::new([0u8; 32]);
    labeled_expand(
        KEM_SUITE,
        &prk,
        b"shared_secret",
        &[&enc[..], &pk_r[..]].concat(),
        ss.as_mut(),
    );
    ss
}

/// The base-mode key schedule: (key, base_nonce).
fn key_schedule(shared: &[u8; 32], info: &[u8]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 12]>) {
    let psk_id_hash = labeled_extract(HPKE_SUITE, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(HPKE_SUITE, b"", b"info_hash", info);
    let mut ctx = [0u8; 65];
    ctx[0] = 0; // mode_base
    ctx[1..33].copy_from_slice(psk_id_hash.as_ref());
    ctx[33..].copy_from_slice(info_hash.as_ref());
    let secret = labeled_extract(HPKE_SUITE, shared, b"secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = Zeroizing::new([0u8; 12]);
    labeled_expand(HPKE_SUITE, &secret, b"key", &ctx, key.as_mut());
    labeled_expand(HPKE_SUITE, &secret, b"base_nonce", &ctx, nonce.as_mut());
    (key, nonce)
}

/// ChaCha20-Poly1305 (RFC 8439) in place: `buf` becomes the ciphertext; returns the tag.
pub(crate) fn aead_seal_in_place(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) -> [u8; TAG_LEN] {
    let c = ChaCha20Poly1305::new(key.into());
    // Only fails for messages over 256 GiB, far above the envelope limit.
    c.encrypt_inout_detached(&Nonce::from(*nonce), aad, buf.into())
        .map(|t| t.into())
        .unwrap_or([0u8; TAG_LEN])
}

/// The opening half of ChaCha20-Poly1305 (RFC 8439 §2.8) that both open calls share: checks
/// `tag` over `aad` and `ct` (Poly1305 with the one-time key from block 0, constant-time
/// comparison) and returns whether it verifies, with the ChaCha20 stream to decrypt with,
/// positioned at block 1. That stream's key is chosen by a mask, not a branch: `key` when the
/// tag verified, an all-zero (public) key when it did not. Both outcomes then run the same
/// instructions on the same memory, and a failed open leaves `ct` XOR a public keystream where
/// the plaintext would be, never plaintext.
fn open_check(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8; TAG_LEN],
) -> (bool, chacha20::ChaCha20) {
    use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
    use poly1305::universal_hash::{KeyInit as _, UniversalHash};
    let mut mac_key = Zeroizing::new([0u8; 32]);
    chacha20::ChaCha20::new(key.into(), nonce.into()).apply_keystream(&mut mac_key[..]);
    let mut mac = poly1305::Poly1305::new((&*mac_key).into());
    mac.update_padded(aad);
    mac.update_padded(ct);
    let mut lens = [0u8; 16];
    lens[..8].copy_from_slice(&(aad.len() as u64).to_le_bytes());
    lens[8..].copy_from_slice(&(ct.len() as u64).to_le_bytes());
    mac.update(&[lens.into()]);
    let ok = mac.verify(&(*tag).into()).is_ok();
    let mask = std::hint::black_box(0u8.wrapping_sub(u8::from(ok)));
    let mut k = Zeroizing::new([0u8; 32]);
    for (d, s) in k.iter_mut().zip(key) {
        *d = s & mask;
    }
    let mut ks = chacha20::ChaCha20::new((&*k).into(), nonce.into());
    ks.seek(64u32);
    (ok, ks)
}

/// ChaCha20-Poly1305 open in place; true when the tag verifies (`buf` then holds the
/// plaintext; otherwise `buf` holds the ciphertext XOR a public keystream). Both outcomes do
/// the same work ([`open_check`]).
pub(crate) fn aead_open_in_place(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    use chacha20::cipher::StreamCipher;
    let (ok, mut ks) = open_check(key, nonce, aad, buf, tag);
    ks.apply_keystream(buf);
    ok
}

/// ChaCha20-Poly1305 open of `ct` into `out` (same length), for a payload that is handed over
/// on success; true when the tag verifies (`out` then holds the plaintext). Both outcomes do the
/// same work ([`open_check`]); on failure `out` holds `ct` XOR a public keystream, never
/// plaintext, so the caller drops it without a wiping pass, as the success path hands it over
/// without one (`scripts/timing` case 3 measures valid against invalid tags).
pub(crate) fn aead_open_payload(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
    out: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    use chacha20::cipher::StreamCipher;
    if ct.len() != out.len() {
        return false;
    }
    let (ok, mut ks) = open_check(key, nonce, aad, ct, tag);
    ks.apply_keystream_b2b(ct, out);
    ok
}

/// ChaCha20-Poly1305 encryption: ciphertext || tag. For the RFC 8439 known-answer tests.
#[doc(hidden)]
pub fn chacha20poly1305_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let mut v = pt.to_vec();
    let tag = aead_seal_in_place(key, nonce, aad, &mut v);
    v.extend_from_slice(&tag);
    v
}

/// ChaCha20-Poly1305 decryption of ciphertext || tag. For the RFC 8439 known-answer tests.
#[doc(hidden)]
pub fn chacha20poly1305_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
) -> Option<Vec<u8>> {
    let n = ct.len().checked_sub(TAG_LEN)?;
    let mut v = ct[..n].to_vec();
    let tag: &[u8; TAG_LEN] = ct[n..].try_into().ok()?;
    aead_open_in_place(key, nonce, aad, &mut v, tag).then_some(v)
}

/// [`chacha20poly1305_open`] through the type-3 payload's open ([`aead_open_payload`]): the
/// plaintext when the tag verifies, else what the output area holds after the failure (`ct`
/// XOR the all-zero key's keystream). For the known-answer and differential tests.
#[doc(hidden)]
pub fn chacha20poly1305_open_payload(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
) -> Option<(bool, Vec<u8>)> {
    let n = ct.len().checked_sub(TAG_LEN)?;
    let tag: &[u8; TAG_LEN] = ct[n..].try_into().ok()?;
    let mut out = vec![0u8; n];
    let ok = aead_open_payload(key, nonce, aad, &ct[..n], &mut out, tag);
    Some((ok, out))
}

/// SealBase with a caller-chosen ephemeral secret `sk_e`: returns (enc, ciphertext || tag).
/// `None` when the DH output is all zero (a small-order `pk_r`, RFC 9180 §7.1.4).
/// Exposed for the RFC 9180 known-answer tests; [`seal_base`] draws `sk_e` from the OS.
#[doc(hidden)]
pub fn seal_base_with_ephemeral(
    sk_e: &[u8; 32],
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> Option<([u8; ENC_LEN], Vec<u8>)> {
    let enc = PublicKey::from(&StaticSecret::from(*sk_e)).to_bytes();
    let dh = x25519(sk_e, pk_r);
    // An all-zero output means a small-order pkR (RFC 9180 §7.1.4).
    if *dh == [0u8; 32] {
        return None;
    }
    let shared = kem_shared_secret(&dh, &enc, pk_r);
    let (key, nonce) = key_schedule(&shared, info);
    let mut v = Vec::with_capacity(pt.len() + TAG_LEN);
    v.extend_from_slice(pt);
    let tag = aead_seal_in_place(&key, &nonce, aad, &mut v);
    v.extend_from_slice(&tag);
    Some((enc, v))
}

/// SealBase to `pk_r` with a fresh ephemeral key.
pub(crate) fn seal_base(
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> crate::Result<([u8; ENC_LEN], Vec<u8>)> {
    let mut sk_e = Zeroizing::new([0u8; 32]);
    crate::rng::fill(sk_e.as_mut())?;
    seal_base_with_ephemeral(&sk_e, pk_r, info, aad, pt)
        .ok_or_else(|| crate::Error::key_format("the X25519 recipient key has small order"))
}

/// OpenBase: the plaintext of `ct` (ciphertext || tag) sent to `sk_r` with encapsulated key
/// `enc`, or `None` for any failure (all-zero DH output, short input, bad tag).
/// `pk_r` is the recipient's public key (the caller has it; recomputing it would cost a
/// scalar multiplication per open).
pub fn open_base(
    sk_r: &StaticSecret,
    pk_r: &[u8; 32],
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    open_base_dh(&x25519(sk_r.as_bytes(), enc), pk_r, enc, info, aad, ct)
}

/// [`open_base`] given the DH output `dh = X25519(skR, enc)`, computed by the caller (in the
/// key's X25519 engine: [`crate::keys::Key`]).
pub(crate) fn open_base_dh(
    dh: &[u8; 32],
    pk_r: &[u8; 32],
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let n = ct.len().checked_sub(TAG_LEN)?;
    let mut v = Zeroizing::new(vec![0u8; n]);
    open_base_dh_into(dh, pk_r, enc, info, aad, ct, &mut v).then_some(v)
}

/// [`open_base_dh`] into the caller's area `out` (`ct.len()` - 16 bytes): true when the
/// plaintext is there; false for an all-zero DH output, a bad tag or a wrong length, and `out`
/// then holds no secret (the ciphertext XOR a public keystream, [`aead_open_payload`]). Both
/// outcomes of a well-formed input do the same work.
pub(crate) fn open_base_dh_into(
    dh: &[u8; 32],
    pk_r: &[u8; 32],
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
    out: &mut [u8],
) -> bool {
    let Some(n) = ct.len().checked_sub(TAG_LEN) else {
        return false;
    };
    let Ok(tag) = <&[u8; TAG_LEN]>::try_from(&ct[n..]) else {
        return false;
    };
    // An all-zero DH output is refused (RFC 9180 §7.1.4); the work is done either way.
    let contributory = *dh != [0u8; 32];
    let shared = kem_shared_secret(dh, enc, pk_r);
    let (key, nonce) = key_schedule(&shared, info);
    let ok = aead_open_payload(&key, &nonce, aad, &ct[..n], out, tag);
    ok & contributory
}

/// [`open_base`] with the recipient's raw secret bytes, for the RFC 9180 known-answer tests.
#[doc(hidden)]
pub fn open_base_raw(
    sk_r: &[u8; 32],
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Option<Vec<u8>> {
    let sk = StaticSecret::from(*sk_r);
    let pk = PublicKey::from(&sk).to_bytes();
    open_base(&sk, &pk, enc, info, aad, ct).map(|v| v.to_vec())
}
