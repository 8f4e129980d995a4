#![no_main]
// libFuzzer entry point (nightly, `cargo fuzz run json_tree`); the body is shared with the stable driver.
libfuzzer_sys::fuzz_target!(|data: &[u8]| veilgate_fuzz::targets::json_tree(data));
