//! Transport FFI (see the transport issue).
