//! The committed C header is exactly what cbindgen generates from the sources (build.rs writes
//! it into OUT_DIR), and every place that states the version or ABI number agrees with
//! Cargo.toml. `OT_UPDATE_HEADER=1 cargo test --test header` (or `scripts/update-header`)
//! rewrites include/ot_transport.h from the generated one.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_header_is_the_generated_one() {
    let generated = std::fs::read_to_string(env!("OT_GENERATED_HEADER"))
        .expect("build.rs generated the header into OUT_DIR");
    let committed_path = root().join("include/ot_transport.h");
    if std::env::var_os("OT_UPDATE_HEADER").is_some() {
        std::fs::write(&committed_path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/ot_transport.h is stale (first difference at line {}): run \
             scripts/update-header and commit it",
            first + 1
        );
    }
}

#[test]
fn header_is_c89_clean_text() {
    let h = std::fs::read_to_string(root().join("include/ot_transport.h")).unwrap();
    for (i, line) in h.lines().enumerate() {
        assert!(
            !line.trim_start().starts_with("//") && !line.contains(" // "),
            "line {}: C99 comment in the header: {line}",
            i + 1
        );
    }
    assert!(!h.contains(",\n} "), "comma after the last enumerator");
}

#[test]
fn one_source_for_version_and_abi() {
    let h = std::fs::read_to_string(root().join("include/ot_transport.h")).unwrap();
    let define = |name: &str| -> String {
        h.lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing from the header"))
            .trim()
            .to_string()
    };
    assert_eq!(define("OT_TRANSPORT_ABI_VERSION"), env!("OT_ABI_VERSION"));
    assert_eq!(
        define("OT_TRANSPORT_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        define("OT_TRANSPORT_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        define("OT_TRANSPORT_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    // The library reports the same version it was built as.
    let v = unsafe { std::ffi::CStr::from_ptr(ot_transport::ffi::ot_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    // CMake and cbindgen.toml state no version of their own: CMake reads Cargo.toml.
    let cmake = std::fs::read_to_string(root().join("CMakeLists.txt")).unwrap();
    assert!(
        cmake.contains("Cargo.toml"),
        "CMakeLists.txt must read the version from Cargo.toml"
    );
    let version = env!("CARGO_PKG_VERSION");
    for file in ["CMakeLists.txt", "cbindgen.toml", "build.rs"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        assert!(
            !text.contains(version),
            "{file} repeats the version {version}"
        );
        assert!(
            !text.contains("OT_TRANSPORT_ABI_VERSION 1") && !text.contains("set(OT_ABI_VERSION 1"),
            "{file} repeats the ABI number"
        );
    }
}

/// The README's option table is the one build.rs generates from the option table in
/// src/transport/options.rs (`OT_UPDATE_HEADER=1` / scripts/update-header rewrite it).
#[test]
fn readme_option_table_is_the_generated_one() {
    let generated = std::fs::read_to_string(env!("OT_GENERATED_OPTIONS")).unwrap();
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- OPTIONS -->\n", "<!-- /OPTIONS -->");
    let a = readme
        .find(start)
        .expect("README.md lacks <!-- OPTIONS -->")
        + start.len();
    let b = readme[a..]
        .find(end)
        .expect("README.md lacks <!-- /OPTIONS -->")
        + a;
    if std::env::var_os("OT_UPDATE_HEADER").is_some() {
        let updated = format!("{}{}{}", &readme[..a], generated, &readme[b..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[a..b],
        generated,
        "README.md's option table is stale: run scripts/update-header"
    );
}

/// The doc comment cbindgen copied above `fn_name` in the header.
fn header_doc(header: &str, fn_name: &str) -> String {
    let at = header
        .find(&format!(" {fn_name}("))
        .unwrap_or_else(|| panic!("{fn_name} is in the header"));
    let before = &header[..at];
    let start = before.rfind("/**").expect("a doc comment");
    before[start..].to_string()
}

/// The fields of the C struct `name` in the header.
fn struct_fields(header: &str, name: &str) -> Vec<String> {
    let end = header
        .find(&format!("}} {name};"))
        .unwrap_or_else(|| panic!("struct {name} is in the header"));
    let body = &header[header[..end].rfind("typedef struct").unwrap()..end];
    body.lines()
        .filter_map(|l| l.trim().strip_suffix(';'))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .collect()
}

/// Every counter a `*_counter` function knows is named in its header doc (or is a field of the
/// stats struct that doc points to), so the list a C reader sees is the list the code has.
#[test]
fn every_counter_is_documented() {
    use ot_transport::transport::{BROKER_COUNTERS, NOTARY_COUNTERS, SESSION_COUNTERS};
    let h = std::fs::read_to_string(root().join("include/ot_transport.h")).unwrap();
    for (func, stats, names) in [
        ("ot_notary_counter", "ot_notary_stats", NOTARY_COUNTERS),
        ("ot_session_counter", "ot_session_stats", SESSION_COUNTERS),
        ("ot_broker_counter", "ot_broker_stats", BROKER_COUNTERS),
    ] {
        let doc = header_doc(&h, func);
        let fields = struct_fields(&h, stats);
        for name in names {
            assert!(
                doc.contains(&format!("`{name}`")) || fields.iter().any(|f| f == name),
                "{func}: the counter `{name}` is neither in its doc nor a field of {stats}"
            );
        }
    }
}
