//! libFuzzer target `spicedb_schema`: arbitrary bytes through psm_fuzz::spicedb_schema, which must never panic.
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| psm_fuzz::spicedb_schema(&psm_fuzz::text(data)));
