//! MoonMind's OpenClaw integration: the model-pinning `codex` shim and its companion tools.
//!
//! The layout follows the layers:
//! - [`pin`]: the pure rules, no I/O — Codex's grammar, the clap-faithful argv parse, the one
//!   judgement of a config key, the argv rewrite, the app-server judgement, the gate's wire rules,
//!   the policy, and the attempts every layer reports;
//! - [`shim`]: what runs on each `codex` call (locate, exec, the loop guard, the app-server relay,
//!   `--openclaw-explain`);
//! - [`gate`]: the model gate (layer 3): its requirements.toml and its server;
//! - [`audit`]: the audit trail (journald, StatsD);
//! - [`ops`]: the companion tools (entrypoint, image, bootstrap) and their mechanics;
//! - [`exit`]: every exit code of every bin, in one table.
//!
//! `src/bin/*` only wire these.

pub mod audit;
pub mod exit;
pub mod gate;
pub mod ops;
pub mod pin;
pub mod shim;
