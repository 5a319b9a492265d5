//! Key loading in every format, with and without a passphrase.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::key_load(data));
