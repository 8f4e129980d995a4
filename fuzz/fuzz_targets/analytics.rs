#![no_main]
// libFuzzer entry point (nightly, `cargo fuzz run analytics`); the body is shared with the stable driver.
libfuzzer_sys::fuzz_target!(|data: &[u8]| veilgate_fuzz::analytics::analytics(data));
