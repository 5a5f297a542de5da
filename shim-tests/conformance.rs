//! Conformance of the shim against the real Codex CLI: bypass corpus and grammar drift.

mod support;
