//! libFuzzer target `openfga_json`: arbitrary bytes through psm_fuzz::openfga_json, which must never panic.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| psm_fuzz::openfga_json(&psm_fuzz::text(data)));
