//! Cascade's pure sync engine: layers, rules, resolution, conflicts, history (issue 3).
