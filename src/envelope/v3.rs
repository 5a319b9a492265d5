//! Type 3 (suite v3, X25519 recipients): a random 32-byte content key wrapped to each recipient
//! with HPKE base mode ([`super::hpke`]; `info = "ot-transport v3 envelope" || 0x00 || NymID`),
//! and the payload sealed with ChaCha20-Poly1305 under the content key, a zero nonce, and every
//! header byte as AAD.

use zeroize::Zeroizing;

use super::{
    Envelope, IV_LEN, Layout, MAX_PLAINTEXT, Recipient, V3_INFO_PREFIX, V3_SUITE, V3_WRAP_LEN,
    V3Entry, hpke,
};
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{Algorithm, Key};

/// Recipient entries, the header bytes, and the content key they wrap.
type Sealed = (Vec<V3Entry>, Vec<u8>, Zeroizing<[u8; 32]>);

/// A fresh content key and the type-3 header: one HPKE wrap per recipient, sorted by NymID.
fn v3_header(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Sealed> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(Error::invalid("plaintext is larger than 1 GiB"));
    }
    let mut cek = Zeroizing::new([0u8; 32]);
    crate::rng::fill(cek.as_mut())?;
    let (entries, header) = wrap_entries(recipients, 3, &[], V3_INFO_PREFIX, &cek, None)?;
    Ok((entries, header, cek))
}

/// The recipient entries of a type-3 or type-4 header: `u16 type | u16 suite | fixed | u32 n`,
/// then per recipient (sorted by NymID bytes) `u32 idlen | NymID | NUL | enc | ct`, `key`
/// wrapped with HPKE base mode under `info = info_prefix || 0x00 || NymID`. `ephemerals` fixes
/// the HPKE ephemeral secret of each entry, in entry order (known-answer tests only).
pub(super) fn wrap_entries(
    recipients: &[Recipient<'_>],
    envelope_type: u16,
    fixed: &[u8],
    info_prefix: &[u8],
    key: &[u8; 32],
    ephemerals: Option<&[[u8; 32]]>,
) -> Result<(Vec<V3Entry>, Vec<u8>)> {
    let mut order: Vec<&Recipient<'_>> = recipients.iter().collect();
    order.sort_by(|a, b| a.nym_id.as_bytes().cmp(b.nym_id.as_bytes()));
    let mut entries = Vec::with_capacity(order.len());
    let header_len: usize = 8
        + fixed.len()
        + order
            .iter()
            .map(|r| 4 + r.nym_id.len() + 1 + V3_WRAP_LEN)
            .sum::<usize>();
    let mut header = Vec::with_capacity(header_len);
    header.extend_from_slice(&envelope_type.to_be_bytes());
    header.extend_from_slice(&V3_SUITE.to_be_bytes());
    header.extend_from_slice(fixed);
    header.extend_from_slice(&(order.len() as u32).to_be_bytes());
    if ephemerals.is_some_and(|e| e.len() != order.len()) {
        return Err(Error::invalid("one ephemeral secret per recipient"));
    }
    for (i, r) in order.into_iter().enumerate() {
        let pk = r.key.x25519_public()?.to_bytes();
        let info = info_with(info_prefix, r.nym_id.as_bytes());
        let (enc, ct) = match ephemerals {
            None => hpke::seal_base(&pk, &info, b"", key)?,
            Some(e) => hpke::seal_base_with_ephemeral(&e[i], &pk, &info, b"", key)
                .ok_or_else(|| Error::key_format("the X25519 recipient key has small order"))?,
        };
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
    Ok((entries, header))
}

/// HPKE `info` of a wrap: `prefix || 0x00 || NymID`.
pub(super) fn info_with(prefix: &[u8], nym_id: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(prefix.len() + 1 + nym_id.len());
    v.extend_from_slice(prefix);
    v.push(0);
    v.extend_from_slice(nym_id);
    v
}

/// Type 3 straight into its bytes: header, then the payload sealed in place in the same vector
/// (one spare byte at the end for a caller's terminator).
pub(super) fn seal_v3_to_bytes(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Vec<u8>> {
    let (_, header, cek) = v3_header(recipients, plaintext)?;
    let mut out = Vec::with_capacity(header.len() + plaintext.len() + hpke::TAG_LEN + 1);
    out.extend_from_slice(&header);
    out.extend_from_slice(plaintext);
    let tag = hpke::aead_seal_in_place(&cek, &[0u8; 12], &header, &mut out[header.len()..]);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The content key of a type-3 or type-4 header for `key`: the entry carrying `nym_id`, else
/// the entry with an empty NymID; with `nym_id` `None`, every entry in order. Returns whether
/// the chosen wrap opened, with the key: all zero when it did not (the caller carries on with
/// that dummy key and fails uniformly). The wrap is opened into the returned key's own area and
/// the key chosen by a mask, so a wrap that opens and one that does not take the same path.
pub(super) fn unwrap_content_key(
    entries: &[V3Entry],
    info_prefix: &[u8],
    envelope_type: u16,
    nym_id: Option<&str>,
    key: &Key,
) -> Result<(bool, Zeroizing<[u8; 32]>)> {
    if key.algorithm() != Algorithm::X25519 {
        return Err(Error::invalid(format!(
            "a type-{envelope_type} envelope opens with an X25519 private key, not {:?}",
            key.algorithm()
        )));
    }
    key.x25519_secret()?;
    let pk = key.x25519_public()?.to_bytes();
    let mut cek = Zeroizing::new([0u8; 32]);
    let mut unwrap = |e: &V3Entry| -> bool {
        let Ok(enc) = <&[u8; 32]>::try_from(&e.wrap[..32]) else {
            return false;
        };
        let info = info_with(info_prefix, &e.id_bytes);
        // The key's X25519 engine (OpenSSL by default, docs/x25519-engine.md).
        let Ok(dh) = key.x25519_dh(enc) else {
            return false;
        };
        hpke::open_base_dh_into(&dh, &pk, enc, &info, b"", &e.wrap[32..], &mut cek[..])
    };
    let ok = match nym_id {
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
        None => entries.iter().any(&mut unwrap),
    };
    // The key, or all zero when no wrap opened (then the area holds no secret either way).
    let mask = std::hint::black_box(0u8.wrapping_sub(u8::from(ok)));
    for b in cek.iter_mut() {
        *b &= mask;
    }
    Ok((ok, cek))
}

/// [`Envelope::open`] of a type-3 envelope given as its parts; the plaintext has `room` spare
/// bytes.
pub(super) fn open_v3(
    entries: &[V3Entry],
    header: &[u8],
    payload: &[u8],
    nym_id: Option<&str>,
    key: &Key,
    room: usize,
) -> Result<Vec<u8>> {
    // A wrap that does not open still runs the payload check (with the all-zero dummy key; the
    // result is refused whatever it says), so that every failure takes the same path and
    // returns the same error.
    let (ok_wrap, content_key) = unwrap_content_key(entries, V3_INFO_PREFIX, 3, nym_id, key)?;
    let Some(n) = payload.len().checked_sub(hpke::TAG_LEN) else {
        return Err(Error::decrypt_failed());
    };
    // A plain vector: a failed tag leaves the ciphertext XOR a public keystream in it, never
    // plaintext (`aead_open_payload`), so the failure path frees it without a wiping pass, as the
    // success path hands it over without one. Both paths decrypt from `payload` into it.
    let mut buf = Vec::with_capacity(n + room);
    buf.resize(n, 0);
    let mut tag = [0u8; hpke::TAG_LEN];
    tag.copy_from_slice(&payload[n..]);
    let ok_tag = hpke::aead_open_payload(
        &content_key,
        &[0u8; 12],
        header,
        &payload[..n],
        &mut buf,
        &tag,
    );
    // The failure's error is made on both paths (and dropped on success), so that they cost the
    // same.
    let failure = Error::decrypt_failed();
    if ok_wrap && ok_tag {
        drop(std::hint::black_box(failure));
        Ok(buf)
    } else {
        if ok_tag {
            // Only a wrap that did not open (dummy key) whose tag verified anyway — it cannot
            // happen, but such plaintext is never released nor left behind.
            zeroize::Zeroize::zeroize(&mut buf);
        }
        Err(failure)
    }
}

impl Envelope {
    /// Type 3: fresh content key, one HPKE wrap per recipient (sorted by NymID), then the
    /// ChaCha20-Poly1305 payload with the whole header as AAD. Any plaintext is fine.
    pub(super) fn seal_v3(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Envelope> {
        let (entries, header, cek) = v3_header(recipients, plaintext)?;
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
}
