//! Legacy symmetric-key parsing and unlocking.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::symkey_unlock(data));
