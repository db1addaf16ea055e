//! Cascade's fuzz harness: the body of every fuzz target, as plain functions from bytes.
//!
//! The libFuzzer binaries in `fuzz_targets/` call [`TARGETS`]' functions, and so does the
//! native regression test (`tests/regressions.rs`), which replays every saved crash
//! (`regressions/<target>/`) and the seed corpus (`corpus/<target>/`) without libFuzzer.
//! Each target panics when the engine or the protocol breaks a documented invariant; see
//! `docs/FUZZING.md` for the list.

pub mod apply_change;
pub mod check;
pub mod frames;
pub mod gen;
pub mod patch;
pub mod platform_update;
pub mod resolve;
pub mod rule_matching;

/// A target's body: runs one input, panics on a broken invariant.
pub type Target = fn(&[u8]);

/// Every target by name, with its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("apply_change", apply_change::run),
    ("platform_update", platform_update::run),
    ("resolve", resolve::run),
    ("patch", patch::run),
    ("rule_matching", rule_matching::run),
    ("frames", frames::run),
];
