//! Fuzzing in `cargo test`: the inputs fuzzing found, kept as regressions (`regressions`), and
//! a short run of every fuzz target (`smoke`, `tools/fuzz.sh --smoke`).

mod regressions;
mod smoke;
