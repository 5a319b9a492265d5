//! The raw RSA operations (`xᵉ mod n`, `cᵈ mod n`), behind one small interface so that the rest of
//! the crate does not know which implementation runs. Chosen at build time:
//!
//! | Cargo feature                    | engine                                                   |
//! |----------------------------------|----------------------------------------------------------|
//! | `openssl-rsa-engine` (default)   | the host's OpenSSL `libcrypto` through the `openssl` crate: constant-time assembly Montgomery kernels, the engine legacy OT itself used |
//! | `rust-rsa-engine`                | pure Rust: the `rsa` crate's constant-time CRT core on crypto-bigint, for targets without OpenSSL |
//!
//! `rust-rsa-engine` wins when both are enabled. Why OpenSSL is the default, with numbers, is in
//! `docs/rsa-engine.md`.
//!
//! What each engine does and what stays above it (in `rsa_ops`, identical for both engines):
//!
//! * **paddings** (EMSA-PSS, RSAES-PKCS1-v1_5, the constant-time fixed-length unwrap) and the
//!   uniform-error behaviour are ours; an engine only ever sees a k-byte number below n;
//! * **base blinding** of every private operation is the engine's: OpenSSL blinds with its
//!   `BN_BLINDING` (a secret random r, `c·rᵉ` then `·r⁻¹`; the pair is updated by squaring and
//!   regenerated from fresh randomness every 32 uses); the Rust engine draws a fresh r per call;
//! * **fault check**: OpenSSL checks its CRT result (`mᵉ ≡ c`) and recomputes without CRT on a
//!   mismatch; on top of that, `rsa_ops` checks every private result against its input with the
//!   engine's public operation and refuses to release a result that fails, on both engines;
//! * key objects are freed with the engine's clearing function (`RSA_free`, which clears the
//!   private numbers, through the `openssl` crate's `Drop`; the `rsa` crate zeroizes on drop).

use crate::error::Result;

#[cfg(all(feature = "openssl-rsa-engine", not(feature = "rust-rsa-engine")))]
mod libcrypto;
#[cfg(feature = "rust-rsa-engine")]
mod rustcrypto;

#[cfg(all(feature = "openssl-rsa-engine", not(feature = "rust-rsa-engine")))]
pub(crate) use libcrypto::{Private, Public};
#[cfg(feature = "rust-rsa-engine")]
pub(crate) use rustcrypto::{Private, Public};

#[cfg(not(any(feature = "openssl-rsa-engine", feature = "rust-rsa-engine")))]
compile_error!(
    "choose an RSA engine: the `openssl-rsa-engine` (default) or `rust-rsa-engine` feature"
);

/// Name of the engine compiled in (for `ot_version`-style reports and the benchmarks).
#[cfg(all(feature = "openssl-rsa-engine", not(feature = "rust-rsa-engine")))]
pub const ENGINE: &str = "openssl";
/// Name of the engine compiled in (for `ot_version`-style reports and the benchmarks).
#[cfg(feature = "rust-rsa-engine")]
pub const ENGINE: &str = "rust";

/// The public operation. Inputs and outputs are big-endian octet strings of exactly the modulus
/// size `k`; the input must be below n (callers check; an engine refuses larger values).
/// Each engine's `Public` type also has `fn new(&rsa::PublicKey) -> Result<Public>`.
pub(crate) trait PublicOp: Clone + Send + Sync {
    /// `out = inᵉ mod n`.
    fn public(&self, input: &[u8], out: &mut [u8]) -> Result<()>;
}

/// The private operation (blinded inside the engine, see the module docs). A private engine key
/// also does the public operation, for the fault check. Each engine's `Private` type also has
/// `fn new(&rsa::PrivateKey) -> Result<Private>` (the key validated and precomputed).
pub(crate) trait PrivateOp: PublicOp {
    /// `out = inᵈ mod n`, base-blinded. No fault check here: `rsa_ops` does it for every engine.
    fn private(&self, input: &[u8], out: &mut [u8]) -> Result<()>;
}
