//! libFuzzer entry point; the body is [`cascade_fuzz::apply_change::run`], shared with the regression test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cascade_fuzz::apply_change::run(data));
