//! Build script: gives the shared library its SONAME and generates the C header from the Rust
//! sources with cbindgen **into OUT_DIR** (never into the work tree). `tests/header.rs` compares
//! it with the committed `include/ot_transport.h`; `scripts/update-header` copies it there.
//!
//! The version and ABI numbers have one source, `Cargo.toml` (`version`, and
//! `[package.metadata.ot-transport] abi-version`): the SONAME, the header's `#define`s, the CMake
//! project and the pkg-config file are all derived from it.

use std::path::PathBuf;

/// `[package.metadata.ot-transport] abi-version` from Cargo.toml.
fn abi_version(manifest: &str) -> u32 {
    let mut in_section = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[package.metadata.ot-transport]";
        } else if let Some(v) = line.strip_prefix("abi-version").filter(|_| in_section) {
            let v = v.trim_start().trim_start_matches('=').trim();
            return v.parse().expect("abi-version in Cargo.toml is a number");
        }
    }
    panic!("Cargo.toml lacks [package.metadata.ot-transport] abi-version");
}

/// Makes cbindgen's C output valid C89 and C++98 (`-pedantic`): block comments only, and no
/// comma after the last enumerator.
fn c89(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let lines: Vec<&str> = header.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let mut line = if let Some(c) = trimmed.strip_prefix("// ") {
            format!("{indent}/* {} */", c.replace("*/", "* /"))
        } else if trimmed == "//" {
            format!("{indent}/* */")
        } else if let Some((code, comment)) = line.split_once("  // ") {
            format!("{code}  /* {comment} */")
        } else if let Some((code, comment)) = line.split_once(" // ") {
            format!("{code} /* {comment} */")
        } else {
            line.to_string()
        };
        let next_closes_enum = lines
            .get(i + 1)
            .is_some_and(|n| n.starts_with("} ") && n.ends_with(';'));
        if next_closes_enum && line.ends_with(',') && !line.trim_start().starts_with("/*") {
            line.pop();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
    let abi = abi_version(&manifest);
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rustc-env=OT_ABI_VERSION={abi}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libot_transport.so.{abi}");
    }
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi");

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("ot_transport.h");
    println!("cargo:rustc-env=OT_GENERATED_HEADER={}", out.display());
    let mut config = match cbindgen::Config::from_file(dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => panic!("cbindgen.toml: {e}"),
    };
    let v = |k: &str| std::env::var(k).expect(k);
    let numbers = format!(
        "\n/** ABI version: the N in the shared library's SONAME libot_transport.so.N. */\n\
         #define OT_TRANSPORT_ABI_VERSION {abi}\n\
         /** Library version as numbers; ot_version() gives the same as text. */\n\
         #define OT_TRANSPORT_VERSION_MAJOR {}\n\
         #define OT_TRANSPORT_VERSION_MINOR {}\n\
         #define OT_TRANSPORT_VERSION_PATCH {}\n",
        v("CARGO_PKG_VERSION_MAJOR"),
        v("CARGO_PKG_VERSION_MINOR"),
        v("CARGO_PKG_VERSION_PATCH")
    );
    config.after_includes = Some(numbers + config.after_includes.as_deref().unwrap_or(""));
    match cbindgen::Builder::new()
        .with_src(dir.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            let mut raw = Vec::new();
            bindings.write(&mut raw);
            let text = String::from_utf8(raw).expect("cbindgen writes UTF-8");
            std::fs::write(&out, c89(&text)).expect("writing the generated header");
        }
        Err(e) => {
            // A parse error would already fail compilation; tests/header.rs reports a missing
            // or stale header.
            println!("cargo:warning=cbindgen could not generate the header: {e}");
            let _ = std::fs::remove_file(&out);
        }
    }
}
