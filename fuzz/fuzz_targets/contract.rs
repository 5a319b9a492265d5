//! Signed contracts, 2011 and 2013: parse and verify through the signer.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::contract(data));
