//! libFuzzer entry point; the body is [`cascade_fuzz::rule_matching::run`], shared with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cascade_fuzz::rule_matching::run(data));
