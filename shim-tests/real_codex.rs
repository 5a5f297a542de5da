//! The real Codex CLI behind the shim (filled in below).
