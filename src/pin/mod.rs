//! The pure rules: every decision about a model choice, with no I/O (except `app_server`'s reading
//! of config-file paths, which it names). Each is a table for the one Codex version in
//! [`grammar::CODEX_VERSION`].

pub mod app_server;
pub mod argv;
pub mod attempt;
pub mod config_keys;
pub mod grammar;
pub mod policy;
pub mod rewrite;
pub mod wire;
