//! # ot-transport
//!
//! A re-implementation of the message protection and transport layer of legacy
//! Open-Transactions (OT), byte-compatible with the legacy native library on the wire.
//!
//! The crate is organised by concern; each module knows nothing about C:
//!
//! | module        | what it does                                                          |
//! |---------------|-----------------------------------------------------------------------|
//! | [`hash`]      | SHA-256, Whirlpool, SAMY, SHA256D (suite v3), and OT's base62 IDs     |
//! | [`armor`]     | OT ASCII armor: protobuf packing, zlib, base64, bookends              |
//! | [`keys`]      | RSA, Ed25519 and X25519 keys: generation, loading, export, NymIDs     |
//! | [`envelope`]  | sealed envelopes (v1, v0, type-2 symmetric, type-3 HPKE for suite v3) |
//! | [`signed`]    | OT signed text (PSS over SAMY, or Ed25519 over SHA256D for suite v3)  |
//! | [`symkey`]    | legacy `OTSymmetricKey` (wallet master key) unlocking                 |
//! | [`cipher`]    | the legacy CBC ciphers: AES-128-CBC of envelopes, CBC decryption of keys |
//! | [`credentials`]| 2013 credentials and Nyms, signed contracts, wallets: verified keys and notary addresses |
//! | [`transport`] | ZeroMQ client sessions (legacy REQ, v2 DEALER), notaries (ROUTER), the broker |
//! | [`ffi`]       | the C ABI: the only place with `extern "C"`, raw pointers and panics caught |
//!
//! The formats are described in `docs/wire-format.md`.

// Everything outside `ffi` is safe Rust; `ffi` documents each unsafe block (`// SAFETY:`).
#![deny(unsafe_code)]

pub mod armor;
pub mod cipher;
pub mod credentials;
pub mod envelope;
pub mod error;
pub mod hash;
pub mod keys;
pub mod signed;
pub mod symkey;
pub mod transport;

#[allow(unsafe_code)]
pub mod ffi;

mod rng;
mod secret;

pub use error::{Error, ErrorKind, Result};
