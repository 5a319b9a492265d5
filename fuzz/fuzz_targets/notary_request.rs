//! What a notary does with one raw request frame from the network.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::notary_request(data));
