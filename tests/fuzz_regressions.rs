//! Replays every input the fuzzers kept — saved crashes (`fuzz/regressions/<target>/`) and the
//! committed seeds (`fuzz/seeds/<target>/`) — through the same target bodies the fuzzers run.
//! A fixed finding stays fixed.
//!
//! The test cannot pass vacuously: every target must have seeds, every folder must be a known
//! target (a misspelt folder would never be replayed), and the findings fixed so far must still
//! be there (an emptied `fuzz/regressions` fails).

#[path = "../fuzz/targets.rs"]
mod targets;

use std::collections::BTreeMap;
use std::path::Path;

/// Regression inputs committed per target (the findings fixed so far); only ever grows.
const MIN_REGRESSIONS: &[(&str, usize)] = &[("id_decode", 2)];
/// Seeds every target must have at least.
const MIN_SEEDS_PER_TARGET: usize = 1;

/// Replays `dir/<target>/*` and returns the number of inputs replayed per target.
fn replay(dir: &str) -> BTreeMap<&'static str, usize> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let known: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    for e in std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{dir} is missing: {e}"))
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            known.contains(&name.as_str()),
            "{dir}/{name} is not a fuzz target ({known:?}): its inputs would never be replayed"
        );
    }
    let mut counts = BTreeMap::new();
    for (name, f) in targets::TARGETS {
        let mut n = 0;
        if let Ok(entries) = std::fs::read_dir(root.join(name)) {
            for e in entries.flatten() {
                let data = std::fs::read(e.path()).unwrap();
                let r = std::panic::catch_unwind(|| f(&data));
                assert!(r.is_ok(), "{name}: {} panics", e.path().display());
                n += 1;
            }
        }
        counts.insert(*name, n);
    }
    counts
}

#[test]
fn saved_fuzz_inputs_do_not_panic() {
    let regressions = replay("fuzz/regressions");
    let seeds = replay("fuzz/seeds");
    for (name, n) in &seeds {
        assert!(
            *n >= MIN_SEEDS_PER_TARGET,
            "fuzz/seeds/{name} has {n} inputs; the committed seeds went missing"
        );
    }
    for (name, min) in MIN_REGRESSIONS {
        let n = regressions.get(name).copied().unwrap_or(0);
        assert!(
            n >= *min,
            "fuzz/regressions/{name} has {n} inputs, {min} were committed: a fixed finding \
             is no longer replayed"
        );
    }
    eprintln!("replayed regression inputs {regressions:?} and seeds {seeds:?}");
}
