//! The companion tools and their mechanics.

pub mod bootstrap;
pub mod codex_auth;
pub mod codex_config;
pub mod entrypoint;
pub mod fs_atomic;
pub mod image;
pub mod process;
