//! A minimal DER walker: just enough to find the SubjectPublicKeyInfo inside an X.509
//! certificate and to measure one TLV (legacy credential blobs carry trailing bytes after the
//! key's DER). Definite lengths only, as DER requires.

use crate::error::{Error, Result};

/// One TLV: its tag, the range of its content, and where the next TLV starts.
pub(crate) struct Tlv {
    pub tag: u8,
    pub start: usize,
    pub end: usize,
}

/// Reads the TLV at `pos`.
pub(crate) fn tlv(b: &[u8], pos: usize) -> Result<Tlv> {
    let bad = || Error::key_format("key data is not valid DER");
    let tag = *b.get(pos).ok_or_else(bad)?;
    let first = *b.get(pos + 1).ok_or_else(bad)?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return Err(bad());
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(pos + 2 + i).ok_or_else(bad)? as usize;
        }
        (len, 2 + n)
    };
    let start = pos + hdr;
    let end = start.checked_add(len).ok_or_else(bad)?;
    if end > b.len() {
        return Err(bad());
    }
    Ok(Tlv { tag, start, end })
}

/// The bytes of the first complete TLV in `b` (drops anything after it).
pub(crate) fn first_tlv(b: &[u8]) -> Result<&[u8]> {
    let t = tlv(b, 0)?;
    Ok(&b[..t.end])
}

/// The DER SubjectPublicKeyInfo inside a DER X.509 certificate.
pub(crate) fn certificate_spki(cert: &[u8]) -> Result<&[u8]> {
    let bad = || Error::key_format("certificate is not a valid X.509 structure");
    let c = tlv(cert, 0)?;
    if c.tag != 0x30 {
        return Err(bad());
    }
    let tbs = tlv(cert, c.start)?;
    if tbs.tag != 0x30 {
        return Err(bad());
    }
    let mut pos = tbs.start;
    let mut field = tlv(cert, pos)?;
    if field.tag == 0xA0 {
        // [0] EXPLICIT version
        pos = field.end;
        field = tlv(cert, pos)?;
    }
    // serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo
    for _ in 0..5 {
        pos = field.end;
        field = tlv(cert, pos)?;
    }
    if field.tag != 0x30 || field.end > tbs.end {
        return Err(bad());
    }
    Ok(&cert[pos..field.end])
}
