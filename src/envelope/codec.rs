//! The wire codec of every layout (see the layouts in [`super`]): [`Envelope::parse`] over a
//! cursor that checks every length against the bytes that remain before anything is allocated,
//! and [`Envelope::to_bytes`].

use super::{
    Envelope, IV_LEN, Layout, MAX_ID_LEN, MAX_RECIPIENTS, RecipientEntry, V3_SUITE, V3_WRAP_LEN,
    V3Entry,
};
use crate::error::{Error, Result};

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

/// [`Envelope::parse`]: the layout from the type field, then that layout's fields.
pub(super) fn parse(b: &[u8]) -> Result<Envelope> {
    let (layout, iv, ciphertext) = parse_parts(b)?;
    Ok(Envelope {
        layout,
        iv,
        ciphertext: ciphertext.to_vec(),
    })
}

/// [`parse`] without copying the ciphertext: the layout, the IV (zero for type 3) and the
/// ciphertext (type 3: the payload) borrowed from `b`.
pub(super) fn parse_parts(b: &[u8]) -> Result<(Layout, [u8; IV_LEN], &[u8])> {
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
        3 => return parse_v3(b),
        4 => {
            return Err(Error::malformed(
                "envelope type 4 is a streaming envelope: open it with a stream opener",
            ));
        }
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
    Ok((layout, iv, ciphertext))
}

/// Type 3: every length is checked against what remains before anything is allocated. The
/// payload is not checked here (a payload shorter than its tag fails to open, uniformly).
fn parse_v3(b: &[u8]) -> Result<(Layout, [u8; IV_LEN], &[u8])> {
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
    let entries = read_entries(&mut c, n)?;
    let header = b[..c.pos].to_vec();
    Ok((Layout::V3 { entries, header }, [0u8; IV_LEN], &b[c.pos..]))
}

/// `n` type-3 style recipient entries (`u32 idlen | NymID | NUL | wrap[80]`) from the cursor.
fn read_entries(c: &mut Cursor<'_>, n: usize) -> Result<Vec<V3Entry>> {
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
    Ok(entries)
}

/// The recipient entries of a streaming (type 4) header `h` whose count is at `at - 4` and
/// whose first entry is at `at` (the stream reader has already checked the lengths).
pub(super) fn parse_entries(h: &[u8], at: usize) -> Result<Vec<V3Entry>> {
    let mut c = Cursor { b: h, pos: at - 4 };
    let n = c.u32("recipient count")?;
    if n == 0 || n > MAX_RECIPIENTS || n > c.remaining() / (5 + V3_WRAP_LEN) {
        return Err(Error::malformed(format!(
            "envelope claims {n} recipients, which {} remaining bytes cannot hold",
            c.remaining()
        )));
    }
    let entries = read_entries(&mut c, n)?;
    if c.remaining() != 0 {
        return Err(Error::malformed(
            "streaming envelope header has trailing bytes",
        ));
    }
    Ok(entries)
}

/// [`Envelope::to_bytes`]. The exact size up front (plus one byte, so that a caller appending a
/// terminator, as the C layer does, need not reallocate): a large payload is copied exactly once.
pub(super) fn to_bytes(e: &Envelope) -> Vec<u8> {
    let mut out = Vec::with_capacity(header_len(&e.layout) + IV_LEN + e.ciphertext.len() + 1);
    write_header(&e.layout, &e.iv, &mut out);
    out.extend_from_slice(&e.ciphertext);
    out
}

/// Length of everything [`write_header`] writes: every byte before the ciphertext (type 3:
/// before the payload).
pub(super) fn header_len(layout: &Layout) -> usize {
    match layout {
        Layout::V1(entries) => {
            6 + entries
                .iter()
                .map(|e| 4 + e.nym_id.len() + 1 + 4 + e.wrapped_key.len())
                .sum::<usize>()
                + 4
                + IV_LEN
        }
        Layout::V0(ek) => 4 + ek.len() + IV_LEN,
        Layout::Symmetric => 2 + 4 + IV_LEN,
        Layout::V3 { header, .. } => header.len(),
    }
}

/// Writes the layout's fields and the IV (type 3: the header) to `out`.
pub(super) fn write_header(layout: &Layout, iv: &[u8; IV_LEN], out: &mut Vec<u8>) {
    match layout {
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
        Layout::V3 { header, .. } => {
            out.extend_from_slice(header);
            return;
        }
    }
    out.extend_from_slice(iv);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

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
}
