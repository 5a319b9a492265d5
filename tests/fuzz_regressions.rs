//! Replays every input the fuzzers kept — saved crashes (`fuzz/regressions/<target>/`) and the
//! committed seeds (`fuzz/seeds/<target>/`) — through the same target bodies the fuzzers run.
//! A fixed finding stays fixed.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::Path;

fn replay(dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for (name, f) in targets::TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).unwrap();
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{name}: {} panics", e.path().display());
            n += 1;
        }
    }
    n
}

#[test]
fn saved_fuzz_inputs_do_not_panic() {
    let regressions = replay("fuzz/regressions");
    let seeds = replay("fuzz/seeds");
    assert!(seeds >= 8, "the committed seeds went missing ({seeds})");
    eprintln!("replayed {regressions} regression inputs and {seeds} seeds");
}
