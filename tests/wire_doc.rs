//! docs/wire-format.md is the contract an outside implementer works from: it must name every
//! counter, ERR reason, v2 command and option the code has, with the exact bytes, and what it
//! says about request bodies must hold. A counter, reason or command added without its line in
//! the document fails here.

use ot_transport::keys::Key;
use ot_transport::transport::frames::{self, Command};
use ot_transport::transport::{
    BROKER_COUNTERS, BUSY, CURVE_REQUIRED, NOTARY_COUNTERS, OPTION_NAMES, OVERLOADED, Options,
    PUSH_QUEUE, PUSH_QUEUE_BYTES, REPLY_NOT_KEPT, SESSION_COUNTERS, Session, UNREADABLE,
    open_request_frame,
};

fn doc() -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/wire-format.md");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The text of section `heading` (a `## ` line), up to the next `## ` heading.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("\n## {heading}"))
        .unwrap_or_else(|| panic!("docs/wire-format.md has no section \"## {heading}\""));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The first cells of the table that follows the line starting with `marker`, backticks kept.
fn table_names(text: &str, marker: &str) -> Vec<String> {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("no line starting {marker:?}"));
    text[at..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .filter_map(|l| l.split('|').nth(1).map(|c| c.trim().to_string()))
        .collect()
}

/// Every v2 command. The match has no wildcard: a new command does not compile until it is
/// listed here (and so checked against the document).
fn commands() -> Vec<Command> {
    let all = [
        Command::Req,
        Command::Ping,
        Command::Rep,
        Command::Pong,
        Command::Err,
        Command::Push,
    ];
    for c in all {
        match c {
            Command::Req
            | Command::Ping
            | Command::Rep
            | Command::Pong
            | Command::Err
            | Command::Push => {}
        }
    }
    all.to_vec()
}

#[test]
fn every_counter_has_its_row() {
    let doc = doc();
    let v2 = section(&doc, "Transport v2");
    let broker = section(&doc, "Broker ↔ worker");
    for (what, text, marker, names) in [
        ("session", v2, "`ot_session_counter`", SESSION_COUNTERS),
        ("notary", v2, "`ot_notary_counter`", NOTARY_COUNTERS),
        ("broker", broker, "`ot_broker_counter`", BROKER_COUNTERS),
    ] {
        let rows = table_names(text, marker);
        let want: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        for n in &want {
            assert!(
                rows.contains(n),
                "docs/wire-format.md: the {what} counter table has no row for {n}"
            );
        }
        for r in &rows {
            assert!(
                want.contains(r),
                "docs/wire-format.md: the {what} counter table names {r}, which the code does not know"
            );
        }
    }
}

#[test]
fn every_err_reason_is_quoted_exactly() {
    let doc = doc();
    let v2 = section(&doc, "Transport v2");
    for (name, reason) in [
        ("UNREADABLE", UNREADABLE),
        ("BUSY", BUSY),
        ("OVERLOADED", OVERLOADED),
        ("REPLY_NOT_KEPT", REPLY_NOT_KEPT),
        ("CURVE_REQUIRED", CURVE_REQUIRED),
    ] {
        for form in [format!("%s\"{reason}\""), format!("`{reason}`")] {
            assert!(
                v2.contains(&form),
                "docs/wire-format.md, Transport v2: the ERR reason {name} is not written as {form}"
            );
        }
        assert!(
            v2.contains(&format!("| `{name}` | `{reason}` |")),
            "docs/wire-format.md: the ERR reasons table has no row for {name}"
        );
    }
}

#[test]
fn every_command_and_frame_word_is_in_the_grammar() {
    let doc = doc();
    let v2 = section(&doc, "Transport v2");
    for c in commands() {
        let name = String::from_utf8(c.name().to_vec()).unwrap();
        assert!(
            v2.contains(&format!("%s\"{name}\"")),
            "docs/wire-format.md: the grammar has no command {name}"
        );
        assert!(
            v2.contains(&format!("`{name}`")),
            "docs/wire-format.md: the text never names `{name}`"
        );
    }
    let tag = String::from_utf8(frames::TAG.to_vec()).unwrap();
    assert!(v2.contains(&format!("tag         = %s\"{tag}\"")));
    assert!(v2.contains(&format!(
        "at most {} (`MAX_EXTRA_FRAMES`)",
        frames::MAX_EXTRA_FRAMES
    )));
    assert!(v2.contains(&format!(
        "*{}( stream registered )",
        frames::MAX_EXTRA_FRAMES / 2
    )));
    assert!(v2.contains(&format!(
        "{PUSH_QUEUE} pushes and {} MiB",
        PUSH_QUEUE_BYTES >> 20
    )));
    let broker = section(&doc, "Broker ↔ worker");
    for (rule, word) in [
        ("control ", frames::BROKER_CONTROL),
        ("client ", frames::BROKER_CLIENT),
    ] {
        let w = String::from_utf8(word.to_vec()).unwrap();
        assert!(
            broker.lines().any(|l| l.starts_with(rule)
                && l.split(';')
                    .next()
                    .unwrap()
                    .trim_end()
                    .ends_with(&format!("= %s\"{w}\""))),
            "docs/wire-format.md, Broker ↔ worker: rule {rule}is not %s\"{w}\""
        );
    }
    for word in ["READY", "HB", "PING"] {
        assert!(broker.contains(&format!("control %s\"{word}\"")));
    }
    let tag = String::from_utf8(frames::BACKEND_TAG.to_vec()).unwrap();
    assert!(
        broker
            .lines()
            .any(|l| l.starts_with("backend-tag") && l.contains(&format!("= %s\"{tag}\""))),
        "docs/wire-format.md, Broker ↔ worker: backend-tag is not %s\"{tag}\""
    );
}

#[test]
fn every_option_is_named() {
    let doc = doc();
    for n in OPTION_NAMES {
        assert!(
            doc.contains(&format!("`{n}`")),
            "docs/wire-format.md never names the option `{n}`"
        );
    }
}

/// "Bodies": a client sends bare armor; a notary ignores a NUL and what follows it, and this
/// notary also reads the armor between bookends.
#[test]
fn request_bodies_are_read_as_documented() {
    let doc = doc();
    let v2 = section(&doc, "Transport v2");
    assert!(
        v2.contains("A client MUST send exactly what a legacy client sends: the **bare** armor")
    );
    assert!(v2.contains("it also accepts\n  armor between bookends"));

    let (c_auth, c_enc) = (
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    );
    let (n_auth, n_enc) = (
        Key::generate_ed25519().unwrap(),
        Key::generate_x25519().unwrap(),
    );
    let nym = n_auth.nym_id().unwrap();
    // protocol auto: no socket until a call needs one (none does here).
    let opts = Options {
        protocol: 2,
        ..Options::default()
    };
    let mut s = Session::new("inproc://wire-doc", opts).unwrap();
    s.set_identity(&c_auth, &c_enc).unwrap();
    s.set_notary(&nym, &n_enc, &n_auth).unwrap();
    let bare = s.request_frame(b"<ping/>\n").unwrap();
    assert!(
        !bare.starts_with(b"-") && !bare.contains(&0),
        "the client sends bare armor"
    );

    let mut with_nul = bare.clone();
    with_nul.extend_from_slice(b"\0after the NUL: ignored");
    let bookended = ot_transport::envelope::Envelope::from_armor(&bare)
        .unwrap()
        .to_armor(true)
        .unwrap()
        .into_bytes();
    assert!(bookended.starts_with(b"-----BEGIN OT ARMORED ENVELOPE-----"));
    for (what, frame) in [
        ("bare", &bare),
        ("bare + NUL", &with_nul),
        ("bookended", &bookended),
    ] {
        let r = open_request_frame(frame, &nym, &n_enc).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(r.verify(&c_auth).unwrap(), b"<ping/>\n", "{what}");
    }
}
