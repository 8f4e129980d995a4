//! Old path of [`crate::audit::log`], kept while other modules still name it.

pub use crate::audit::log::*;
