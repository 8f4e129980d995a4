//! Recordings made with the real recorder in Chromium (added below once recorded).
