//! libFuzzer target `relationship`: arbitrary bytes through psm_fuzz::relationship, which must never panic.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| psm_fuzz::relationship(&psm_fuzz::text(data)));
