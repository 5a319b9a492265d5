//! Every exported function runs inside the panic boundary (issue 12, item 3): its body starts
//! with `guard(` (functions returning `ot_result`) or `guard_value(` (getters, `*_free`), except
//! the few that return a constant and cannot panic, or it is one call of a helper of the ffi
//! layer whose body starts so (`buffer_getter`, `from_bytes`, …). Read from the sources, so a new
//! export without the boundary fails here.

use std::path::Path;

/// Exports whose whole body is a constant lookup (no call that could panic).
const CONSTANT_BODIES: &[&str] = &["ot_version", "ot_result_str"];

/// The first code line of the body of the function whose name starts `rest`.
fn first_line(rest: &str) -> &str {
    let open = rest.find('{').expect("function body");
    rest[open + 1..]
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//") && *l != "unsafe {")
        .unwrap_or("")
}

fn guarded(line: &str) -> bool {
    line.starts_with("guard(") || line.starts_with("guard_value(")
}

/// Non-exported helpers of a file whose body starts with the boundary.
fn guarded_helpers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("fn ") {
        let before = &text[..i];
        if before.ends_with("extern \"C\" ") {
            continue;
        }
        let rest = &text[i + 3..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && rest.contains('{') && guarded(first_line(rest)) {
            out.push(name);
        }
    }
    out
}

#[test]
fn every_export_is_inside_the_panic_boundary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut exports = 0;
    let mut missing = Vec::new();
    let files: Vec<(std::path::PathBuf, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    let helpers: Vec<String> = files.iter().flat_map(|(_, t)| guarded_helpers(t)).collect();
    for (path, text) in &files {
        let mut rest = text.as_str();
        while let Some(i) = rest.find("extern \"C\" fn ") {
            rest = &rest[i + "extern \"C\" fn ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let body = first_line(rest);
            exports += 1;
            if CONSTANT_BODIES.contains(&name.as_str()) {
                continue;
            }
            let call = body
                .trim_start_matches("unsafe { ")
                .trim_start_matches("super::");
            let delegates = helpers.iter().any(|h| call.starts_with(&format!("{h}(")));
            if !(guarded(body) || delegates) {
                missing.push(format!("{} ({})", name, path.display()));
            }
        }
    }
    assert!(
        exports >= 50,
        "only {exports} exports found: the scan broke"
    );
    assert!(
        missing.is_empty(),
        "exports outside the panic boundary: {missing:?}"
    );
}
