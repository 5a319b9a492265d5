//! One credential, public or private: read, identified, verified as a master and as a key credential of the real client Nym.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::credential(data));
