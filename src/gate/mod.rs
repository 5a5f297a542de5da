//! The model gate (layer 3): the provider every codex on the machine is forced onto by
//! `/etc/codex/requirements.toml` ([`requirements`]), and the server that pins the model of each
//! request it forwards ([`server`], on the rules of [`crate::pin::wire`]).

pub mod requirements;
pub mod server;

/// The provider id requirements.toml forces; also how other layers tell the gate is deployed.
pub const PROVIDER_ID: &str = "openclaw-model-gate";
/// Where Codex reads the admin requirements (root-owned in the image).
pub const REQUIREMENTS_PATH: &str = "/etc/codex/requirements.toml";
/// Every message starts with this.
pub const PREFIX: &str = "openclaw model gate";
/// `OPENCLAW_SOURCE` of the gate's audit records.
pub const AUDIT_SOURCE: &str = "gate";
/// The gate's own health endpoint (never forwarded).
pub const HEALTH_PATH: &str = "/healthz";
/// Codex's provider base URL is `<gate>/v1`; `/v1/<rest>` goes to `<upstream>/<rest>`.
pub const API_PREFIX: &str = "/v1/";
