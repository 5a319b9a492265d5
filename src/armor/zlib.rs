//! zlib (RFC 1950) streams as legacy OT wrote them: `deflate(Z_FINISH)` at `Z_BEST_COMPRESSION`.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status};

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

/// Output is grown by at most this much per step once past the first estimate, so a bomb never
/// makes the buffer overshoot the limit by more than one step.
const STEP: usize = 1 << 20;

/// Why [`inflate`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// Not a (complete) zlib stream.
    Invalid,
    /// The output would exceed the limit.
    TooLarge,
}

impl InflateError {
    pub(crate) fn into_error(self, limit: usize) -> Error {
        match self {
            InflateError::Invalid => Error::malformed("armor is not a valid zlib stream"),
            InflateError::TooLarge => Error::malformed(format!(
                "armor inflates to more than {limit} bytes (the decompression limit)"
            )),
        }
    }
}

/// Inflates a zlib stream in a streaming way, refusing (`TooLarge`, reported as `Malformed` by
/// the callers) any stream whose output would exceed `limit` bytes. The output buffer grows step
/// by step and never beyond `limit + 1` bytes of capacity, so peak memory stays within the limit
/// whatever the compression ratio of the input: a zlib bomb costs at most about `limit` bytes
/// before it is refused. Bytes after the end of the stream are ignored.
pub(crate) fn inflate(data: &[u8], limit: usize) -> std::result::Result<Vec<u8>, InflateError> {
    let bad = || InflateError::Invalid;
    let too_big = || InflateError::TooLarge;
    let cap_max = limit.saturating_add(1);
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(4).max(64).min(cap_max));
    let mut z = Decompress::new(true);
    loop {
        if out.len() == out.capacity() {
            if out.len() >= cap_max {
                return Err(too_big());
            }
            let grow = out.capacity().clamp(64, STEP).min(cap_max - out.len());
            // An allocation failure is reported as the stream being too large for this process.
            out.try_reserve_exact(grow).map_err(|_| too_big())?;
        }
        let consumed = z.total_in() as usize;
        let before_out = out.len();
        let status = z
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::None)
            .map_err(|_| bad())?;
        if out.len() > limit {
            return Err(too_big());
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let progressed = z.total_in() as usize != consumed || out.len() != before_out;
                if !progressed && out.len() < out.capacity() {
                    // No input left to make progress with and room in the output: the stream
                    // is truncated.
                    return Err(bad());
                }
            }
        }
    }
    // Bytes after the end of the stream are ignored, as legacy OT's inflate loop did.
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bomb(n: usize) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0u8; 1 << 16];
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            e.write_all(&chunk[..k]).unwrap();
            left -= k;
        }
        e.finish().unwrap()
    }

    #[test]
    fn round_trip_at_and_under_the_limit() {
        let text: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let z = compress_parts(b"", &text).unwrap();
        assert_eq!(inflate(&z, text.len()).unwrap(), text);
        assert_eq!(inflate(&z, usize::MAX / 2).unwrap(), text);
        assert_eq!(inflate(&z, text.len() - 1), Err(InflateError::TooLarge));
        assert_eq!(
            InflateError::TooLarge.into_error(1).kind(),
            crate::error::ErrorKind::Malformed
        );
        assert_eq!(inflate(&compress_parts(b"", b"").unwrap(), 0).unwrap(), b"");
    }

    #[test]
    fn bomb_is_refused_without_growing_past_the_limit() {
        let z = bomb(64 << 20);
        assert!(z.len() * 1000 < 64 << 20, "ratio over 1000:1");
        assert_eq!(inflate(&z, 1 << 20), Err(InflateError::TooLarge));
    }

    #[test]
    fn truncated_streams_are_malformed() {
        let z = compress_parts(b"", &[7u8; 5000]).unwrap();
        for cut in [0, 1, 2, z.len() / 2, z.len() - 1] {
            assert_eq!(
                inflate(&z[..cut], 1 << 20),
                Err(InflateError::Invalid),
                "cut at {cut}"
            );
        }
    }
}
