//! Planted values never reach an analytics output (added below).
