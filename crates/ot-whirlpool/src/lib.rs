//! Whirlpool (ISO/IEC 10118-3:2004, the final 2003 version), written from the specification.
//!
//! Why our own: the `whirlpool` crate ran at ~0.65-0.8x OpenSSL's speed on the benchmark
//! machines, and Whirlpool is half of every SAMY digest (every signature, every NymID). This one
//! does the round function as eight lookups per output row into 2 KiB tables, like the crate,
//! but keeps the state as big-endian rows so that every index is a plain shift, and its eight
//! tables are rotations of one. Measured in one process (64 KiB inputs, 10 interleaved rounds
//! against OpenSSL 3.0's Whirlpool, median of the per-round ratios): the crate 0.67-0.69x, this
//! one 0.85-0.88x.
//!
//! Every table is computed at compile time from the specification's definitions (the mini-boxes
//! E and R, the circulant matrix cir(1, 1, 4, 1, 8, 5, 2, 9) over GF(2⁸) mod x⁸+x⁴+x³+x²+1), so
//! there is no transcribed constant to get wrong; the ISO/NESSIE vectors in
//! `tests/data/vectors/hash-vectors.tsv` check the result.
//!
//! Whirlpool hashes public data here (messages, keys): the table lookups are not constant-time,
//! as in every table-driven implementation.
//!
//! A crate of its own only so that it is compiled with optimisations in debug builds too
//! (`[profile.dev.package.ot-whirlpool]` in the root `Cargo.toml`): unoptimised it runs at
//! ~2 MiB/s, which made the debug/valgrind C tests of 1 MiB requests time out. Its tests are in
//! ot-transport (`src/hash`, `tests/known_answers.rs`).

#![forbid(unsafe_code)]

/// The 4-bit mini-box E of the S-box construction.
const E: [u8; 16] = [
    0x1, 0xB, 0x9, 0xC, 0xD, 0x6, 0xF, 0x3, 0xE, 0x8, 0x7, 0x4, 0xA, 0x2, 0x5, 0x0,
];
/// The 4-bit mini-box R.
const R: [u8; 16] = [
    0x7, 0xC, 0xB, 0xD, 0xE, 0x4, 0x9, 0xF, 0x6, 0x3, 0x8, 0xA, 0x2, 0x5, 0x1, 0x0,
];

const fn e_inverse() -> [u8; 16] {
    let mut v = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        v[E[i] as usize] = i as u8;
        i += 1;
    }
    v
}
const EI: [u8; 16] = e_inverse();

/// The 8-bit S-box: high nibble through E, low through E⁻¹, mixed by R, then E and E⁻¹ again.
const fn sbox() -> [u8; 256] {
    let mut s = [0u8; 256];
    let mut x = 0;
    while x < 256 {
        let u = E[x >> 4];
        let l = EI[x & 15];
        let r = R[(u ^ l) as usize];
        s[x] = (E[(u ^ r) as usize] << 4) | EI[(l ^ r) as usize];
        x += 1;
    }
    s
}
const S: [u8; 256] = sbox();

/// Multiplication in GF(2⁸) modulo x⁸+x⁴+x³+x²+1 (0x11d).
const fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80;
        a <<= 1;
        if carry != 0 {
            a ^= 0x1d;
        }
        b >>= 1;
    }
    p
}

/// First row of the circulant diffusion matrix.
const CIR: [u8; 8] = [1, 1, 4, 1, 8, 5, 2, 9];

/// `T[j][x]` = the row vector with S[x] in column j (zeros elsewhere) times the matrix, as a u64
/// whose most significant byte is column 0. The matrix is circulant, so `T[j]` is `T[0]`
/// rotated right by j bytes.
const fn tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut x = 0;
    while x < 256 {
        let mut v = 0u64;
        let mut k = 0;
        while k < 8 {
            v |= (gf_mul(S[x], CIR[k]) as u64) << (56 - 8 * k);
            k += 1;
        }
        let mut j = 0;
        while j < 8 {
            t[j][x] = v.rotate_right(8 * j as u32);
            j += 1;
        }
        x += 1;
    }
    t
}
static T: [[u64; 256]; 8] = tables();

const ROUNDS: usize = 10;

/// Round constants: row 0 of round r is S[8(r-1) .. 8r], the other rows are zero.
const fn round_constants() -> [u64; ROUNDS] {
    let mut c = [0u64; ROUNDS];
    let mut r = 0;
    while r < ROUNDS {
        let mut v = 0u64;
        let mut j = 0;
        while j < 8 {
            v |= (S[8 * r + j] as u64) << (56 - 8 * j);
            j += 1;
        }
        c[r] = v;
        r += 1;
    }
    c
}
const RC: [u64; ROUNDS] = round_constants();

/// One round ρ[k] = σ[k] ∘ θ ∘ π ∘ γ on a state of eight big-endian rows: output row i takes
/// column j's byte from row i − j (π shifts column j down by j), through `T[j]` (γ then θ).
#[inline(always)]
fn round(a: &[u64; 8], row0_key: u64, key: Option<&[u64; 8]>) -> [u64; 8] {
    let mut b = [0u64; 8];
    for (i, out) in b.iter_mut().enumerate() {
        let mut v = match key {
            Some(k) => k[i],
            None if i == 0 => row0_key,
            None => 0,
        };
        for (j, t) in T.iter().enumerate() {
            let byte = (a[(i + 8 - j) % 8] >> (56 - 8 * j)) as u8;
            v ^= t[byte as usize];
        }
        *out = v;
    }
    b
}

/// The Miyaguchi-Preneel compression of one 64-byte block into the chaining value.
fn compress(h: &mut [u64; 8], block: &[u8; 64]) {
    let mut m = [0u64; 8];
    for (row, bytes) in m.iter_mut().zip(block.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        *row = u64::from_be_bytes(b);
    }
    let mut k = *h;
    let mut s = [0u64; 8];
    for i in 0..8 {
        s[i] = m[i] ^ k[i];
    }
    for rc in RC {
        k = round(&k, rc, None);
        s = round(&s, 0, Some(&k));
    }
    for i in 0..8 {
        h[i] ^= s[i] ^ m[i];
    }
}

/// Incremental Whirlpool.
#[derive(Clone)]
pub struct Whirlpool {
    h: [u64; 8],
    buf: [u8; 64],
    buf_len: usize,
    /// Message length in bytes so far (the padding stores it in bits, in a 256-bit field).
    len: u128,
}

impl Default for Whirlpool {
    fn default() -> Self {
        Whirlpool {
            h: [0; 8],
            buf: [0; 64],
            buf_len: 0,
            len: 0,
        }
    }
}

impl Whirlpool {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds more bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u128;
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            let block = self.buf;
            compress(&mut self.h, &block);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            let mut b = [0u8; 64];
            b.copy_from_slice(block);
            compress(&mut self.h, &b);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The 64-byte digest: a 1 bit, zeros, and the bit length in the last 32 bytes.
    pub fn finalize(mut self) -> [u8; 64] {
        let bits = self.len.wrapping_mul(8);
        let mut tail = [0u8; 128];
        tail[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        tail[self.buf_len] = 0x80;
        let total = if self.buf_len < 32 { 64 } else { 128 };
        tail[total - 16..total].copy_from_slice(&bits.to_be_bytes());
        for block in tail[..total].chunks_exact(64) {
            let mut b = [0u8; 64];
            b.copy_from_slice(block);
            compress(&mut self.h, &b);
        }
        let mut out = [0u8; 64];
        for (o, row) in out.chunks_exact_mut(8).zip(self.h) {
            o.copy_from_slice(&row.to_be_bytes());
        }
        out
    }
}
