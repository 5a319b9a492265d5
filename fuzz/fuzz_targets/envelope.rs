//! Envelope parsing (binary and armored) and opening with a fixed private key.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::envelope(data));
