//! Signed-text parsing and verification with a fixed key.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::signed_text(data));
