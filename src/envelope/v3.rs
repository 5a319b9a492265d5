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

/// HPKE `info` of a type-3 wrap: `"ot-transport v3 envelope" || 0x00 || NymID`.
fn v3_info(nym_id: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(V3_INFO_PREFIX.len() + 1 + nym_id.len());
    v.extend_from_slice(V3_INFO_PREFIX);
    v.push(0);
    v.extend_from_slice(nym_id);
    v
}

impl Envelope {
    /// Type 3: fresh content key, one HPKE wrap per recipient (sorted by NymID), then the
    /// ChaCha20-Poly1305 payload with the whole header as AAD. Any plaintext is fine.
    pub(super) fn seal_v3(recipients: &[Recipient<'_>], plaintext: &[u8]) -> Result<Envelope> {
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

    /// [`Envelope::open`] of a type-3 envelope.
    pub(super) fn open_v3(
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
}
