//! Transport-key documents and v2 / broker frames.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::transport_key(data));
