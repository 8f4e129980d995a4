//! Audit records and their SHA-256 hash chain. PLACEHOLDER: the consent work replaces this.
