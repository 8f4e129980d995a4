//! The audit trail natively: record bytes pinned (`golden`), sealing, chains and reports
//! (`records`), the v2 log segments and verifier (`log`), the scale test's seeded audit (`seed`).

mod golden;
mod log;
mod records;
mod seed;
