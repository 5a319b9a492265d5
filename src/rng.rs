//! Operating-system randomness, the only RNG the crate uses.

use crate::error::{Error, Result};

/// Fills `buf` from the operating system's CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|_| Error::internal("the operating system RNG failed"))
}

/// The RNG handed to the `rsa` crate.
pub(crate) fn os_rng() -> getrandom::SysRng {
    getrandom::SysRng
}
