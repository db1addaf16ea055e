//! Replays every saved crash (`regressions/<target>/`) and the committed seed corpus
//! (`corpus/<target>/`) through the same harness the fuzz targets run, natively, so that
//! `cargo test` keeps every bug the fuzzers found fixed.

use std::fs;
use std::panic;
use std::path::Path;

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind);
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, run) in cascade_fuzz::TARGETS {
        let Ok(entries) = fs::read_dir(root.join(name)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files.into_iter().filter(|f| f.is_file()) {
            let data = fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            count += 1;
            if panic::catch_unwind(|| run(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "inputs that still fail:\n{}",
        failures.join("\n")
    );
    count
}

#[test]
fn saved_crashes_stay_fixed() {
    replay("regressions");
}

#[test]
fn seed_corpus_passes() {
    assert!(replay("corpus") > 0, "the seed corpus is empty");
}
