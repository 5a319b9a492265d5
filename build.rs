//! Build script: gives the shared library its SONAME and regenerates the C header from the
//! Rust sources with cbindgen (include/ot_transport.h, committed; scripts/test checks drift).

use std::path::PathBuf;

/// Bumped only when the C ABI changes incompatibly; must match OT_TRANSPORT_ABI_VERSION.
const ABI_VERSION: u32 = 1;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libot_transport.so.{ABI_VERSION}");
    }
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-env-changed=OT_SKIP_HEADER");
    if std::env::var_os("OT_SKIP_HEADER").is_some() {
        return;
    }
    let config = match cbindgen::Config::from_file(dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => panic!("cbindgen.toml: {e}"),
    };
    let out = dir.join("include/ot_transport.h");
    match cbindgen::Builder::new()
        .with_src(dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            // write_to_file only rewrites the file when the content changed.
            bindings.write_to_file(&out);
        }
        Err(e) => {
            // Do not fail the library build over the header (a parse error would already fail
            // compilation); scripts/test catches a stale header.
            println!("cargo:warning=cbindgen could not generate the header: {e}");
        }
    }
}
