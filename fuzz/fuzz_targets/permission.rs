//! libFuzzer target `permission`: arbitrary bytes through psm_fuzz::permission, which must never panic.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| psm_fuzz::permission(&psm_fuzz::text(data)));
