//! zlib (RFC 1950) streams as legacy OT wrote them: `deflate(Z_FINISH)` at `Z_BEST_COMPRESSION`.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::error::{Error, Result};

/// Compresses with zlib at level 9 (legacy OT since December 2013; older files used level 6,
/// which inflates the same).
/// Compresses `head || body` as one stream.
pub fn compress_parts(head: &[u8], body: &[u8]) -> Result<Vec<u8>> {
    let mut e = ZlibEncoder::new(Vec::with_capacity(body.len() / 2 + 64), Compression::best());
    e.write_all(head)
        .and_then(|_| e.write_all(body))
        .and_then(|_| e.finish())
        .map_err(|_| Error::internal("zlib compression failed"))
}

/// Inflates a zlib stream, refusing output larger than `limit` bytes.
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    let mut d = ZlibDecoder::new(data).take(limit as u64 + 1);
    d.read_to_end(&mut out)
        .map_err(|_| Error::malformed("armor is not a valid zlib stream"))?;
    if out.len() > limit {
        return Err(Error::invalid(format!(
            "armor inflates to more than {limit} bytes"
        )));
    }
    Ok(out)
}
