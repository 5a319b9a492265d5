//! Helpers shared by the integration tests: locating test data and pulling pieces out of the
//! legacy XML documents (a tiny element extractor; the documents are machine-written and regular).
#![allow(dead_code)]

use std::path::PathBuf;

use ot_transport::armor::{self, Kind};

pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn read_str(rel: &str) -> String {
    String::from_utf8(read(rel)).unwrap()
}

pub fn fixture(rel: &str) -> Vec<u8> {
    read(&format!("fixtures/{rel}"))
}

/// Text of every `<tag …>…</tag>` element, in document order (content without the tags).
pub fn elements(doc: &str, tag: &str, attr: Option<&str>) -> Vec<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(gt) = after.find('>') else { break };
        let head = &after[..gt];
        let body_start = &after[gt + 1..];
        let Some(end) = body_start.find(&close) else {
            break;
        };
        if attr.is_none_or(|a| head.contains(a)) {
            out.push(body_start[..end].trim_start_matches('\n').to_string());
        }
        rest = &body_start[end..];
    }
    out
}

pub fn element(doc: &str, tag: &str, attr: Option<&str>) -> String {
    elements(doc, tag, attr)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{tag}> element"))
}

/// Decodes string-path armor (bookended or bare) to text.
pub fn dearmor_text(armored: &[u8]) -> String {
    String::from_utf8(armor::decode(armored, Kind::String).unwrap()).unwrap()
}

pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
