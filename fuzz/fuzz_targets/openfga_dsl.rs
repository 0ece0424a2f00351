//! libFuzzer target `openfga_dsl`: arbitrary bytes through psm_fuzz::openfga_dsl, which must never panic.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| psm_fuzz::openfga_dsl(&psm_fuzz::text(data)));
