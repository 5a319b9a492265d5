//! The one protobuf shape OT armor uses: a message whose field 1 is length-delimited
//! (`OTDB::String_InternalPB` / `OTDB::Blob_InternalPB`).

use crate::error::{Error, Result};

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let Some(&c) = b.get(*pos) else {
            return Err(Error::malformed("packed payload ends inside a varint"));
        };
        *pos += 1;
        v |= u64::from(c & 0x7f) << shift;
        if c & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Error::malformed("packed payload has an over-long varint"))
}

/// Packs `value` as protobuf field 1 (wire type 2): `0A <varint len> <value>`.
pub fn pack_field1(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 11);
    out.push(0x0A);
    put_varint(&mut out, value.len() as u64);
    out.extend_from_slice(value);
    out
}

/// The protobuf key and length prefix of a field-1 value of `len` bytes.
pub(crate) fn field1_header(len: usize) -> Vec<u8> {
    let mut h = Vec::with_capacity(11);
    h.push(0x0A);
    put_varint(&mut h, len as u64);
    h
}

/// Reads field 1 (length-delimited) from a protobuf message. Unknown fields of valid wire types
/// are skipped; as in protobuf, the last occurrence of field 1 wins; an absent field is empty.
pub fn unpack_field1(b: &[u8]) -> Result<Vec<u8>> {
    let (p, l) = field1_range(b)?;
    Ok(b[p..p + l].to_vec())
}

/// Like [`unpack_field1`], but reuses the buffer (no copy of a large payload).
pub(crate) fn unpack_field1_owned(mut b: Vec<u8>) -> Result<Vec<u8>> {
    let (p, l) = field1_range(&b)?;
    b.truncate(p + l);
    b.drain(..p);
    Ok(b)
}

/// Every length-delimited field of a protobuf message, in order, as (field number, bytes);
/// fields of the other valid wire types are skipped. At most `max_fields` are returned
/// (`Malformed` beyond), so a hostile message cannot make a long list.
pub(crate) fn length_delimited_fields(b: &[u8], max_fields: usize) -> Result<Vec<(u64, &[u8])>> {
    let mut pos = 0usize;
    let mut out = Vec::new();
    while pos < b.len() {
        let key = get_varint(b, &mut pos)?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(Error::malformed("packed payload has field number 0"));
        }
        match wire {
            0 => {
                get_varint(b, &mut pos)?;
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if b.len() - pos < n {
                    return Err(Error::malformed("packed payload is truncated"));
                }
                pos += n;
            }
            2 => {
                let len = get_varint(b, &mut pos)?;
                if len > (b.len() - pos) as u64 {
                    return Err(Error::malformed("packed payload is truncated"));
                }
                if out.len() == max_fields {
                    return Err(Error::malformed(format!(
                        "packed payload has more than {max_fields} fields"
                    )));
                }
                out.push((field, &b[pos..pos + len as usize]));
                pos += len as usize;
            }
            _ => {
                return Err(Error::malformed("packed payload is not a protobuf message"));
            }
        }
    }
    Ok(out)
}

fn field1_range(b: &[u8]) -> Result<(usize, usize)> {
    let mut pos = 0usize;
    let mut value: Option<(usize, usize)> = None;
    while pos < b.len() {
        let key = get_varint(b, &mut pos)?;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(Error::malformed("packed payload has field number 0"));
        }
        match wire {
            0 => {
                get_varint(b, &mut pos)?;
            }
            1 | 5 => {
                let n = if wire == 1 { 8 } else { 4 };
                if b.len() - pos < n {
                    return Err(Error::malformed("packed payload is truncated"));
                }
                pos += n;
            }
            2 => {
                let len = get_varint(b, &mut pos)?;
                let remaining = (b.len() - pos) as u64;
                if len > remaining {
                    return Err(Error::malformed(format!(
                        "packed payload claims {len} bytes but only {remaining} remain"
                    )));
                }
                let len = len as usize;
                if field == 1 {
                    value = Some((pos, len));
                }
                pos += len;
            }
            _ => {
                return Err(Error::malformed(
                    "packed payload is not an OT protobuf blob",
                ));
            }
        }
    }
    Ok(value.unwrap_or((0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_prefixes() {
        assert_eq!(&pack_field1(&[0u8; 1662])[..3], &[0x0A, 0xFE, 0x0C]);
        assert_eq!(&pack_field1(&[0u8; 128])[..3], &[0x0A, 0x80, 0x01]);
        assert_eq!(unpack_field1(&pack_field1(b"240")).unwrap(), b"240");
        assert_eq!(unpack_field1(&[]).unwrap(), b"");
    }

    #[test]
    fn hostile_lengths() {
        assert!(unpack_field1(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]).is_err());
        assert!(unpack_field1(&[0x0A]).is_err());
        assert!(
            unpack_field1(&[
                0x0A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01
            ])
            .is_err()
        );
        assert!(unpack_field1(&[0x0B]).is_err());
    }
}
