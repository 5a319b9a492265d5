//! Armor decoding, both paths and auto-detection, with bookends or bare.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::armor_decode(data));
