//! bootstrap-openclaw-codex-volume against the real Docker engine.

mod support;
