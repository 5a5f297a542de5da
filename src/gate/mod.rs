//! The model gate (layer 3): the provider every codex is forced onto by `/etc/codex/requirements.toml`.

pub mod server;
