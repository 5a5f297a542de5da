//! MoonMind's OpenClaw integration: the model-pinning `codex` shim and its companion tools.
//!
//! Modules hold the decisions; `src/bin/*` only wire them.

pub mod app_server;
pub mod argv;
pub mod audit;
pub mod bootstrap;
pub mod codex_auth;
pub mod codex_config;
pub mod entrypoint;
pub mod error;
pub mod exec;
pub mod explain;
pub mod gate;
pub mod gate_server;
pub mod grammar;
pub mod guard;
pub mod image;
pub mod journald;
pub mod locate;
pub mod lock;
pub mod policy;
pub mod relay;
pub mod shim;
