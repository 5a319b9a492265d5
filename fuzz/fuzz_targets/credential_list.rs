//! Credential lists (`<NymID>.cred`), alone and with the real client Nym's master.
#![no_main]
#[path = "../targets.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::credential_list(data));
