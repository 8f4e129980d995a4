//! The consent decision natively: cookie and CMP parsing, the TCF decoder (with a cross-check
//! against the IAB reference library's output), and the policy × signal matrix.

mod cookies;
mod policy;
mod tcf;
mod tcf_crosscheck;
