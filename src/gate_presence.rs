//! Whether OpenClaw's model gate is deployed on this machine: the one place that decides it.
//!
//! The gate is a provider every codex request is forced to by codex's admin layer
//! (`/etc/codex/requirements.toml`, `model_provider`, which beats config.toml, `-c` and JSON-RPC
//! fields: shared notes, codex-admin.md); it pins the model of every request on the wire, the
//! automatic reviewer's included. So the app-server guard may leave `approvalsReviewer:
//! auto_review` alone exactly when codex itself will send that reviewer's requests to the gate.

use std::path::Path;

/// Codex's system requirements file (root-owned in the image).
pub const REQUIREMENTS_PATH: &str = "/etc/codex/requirements.toml";
/// The provider id the model gate is deployed under.
pub const GATE_PROVIDER: &str = "openclaw-model-gate";

/// True iff `/etc/codex/requirements.toml` exists, parses as TOML and forces the gate's provider.
pub fn gate_deployed() -> bool {
    gate_required_by(Path::new(REQUIREMENTS_PATH))
}

/// `gate_deployed` on another file (tests). Anything unreadable or malformed is "no gate": the
/// guard then fails closed.
pub fn gate_required_by(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Ok(document) = text.parse::<toml_edit::DocumentMut>() else { return false };
    document.get("model_provider").and_then(|item| item.as_str()) == Some(GATE_PROVIDER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_parsing_file_that_forces_the_gate_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("requirements.toml");
        assert!(!gate_required_by(&file), "absent");
        for (text, deployed) in [
            ("model_provider = \"openclaw-model-gate\"\n", true),
            ("allowed_approval_policies = [\"never\"]\nmodel_provider = \"openclaw-model-gate\"\n", true),
            ("model_provider = \"openai\"\n", false),
            ("[x]\nmodel_provider = \"openclaw-model-gate\"\n", false),
            ("model_provider = \"openclaw-model-gate\"\nmodel_provider = \"x\"\n", false),
            ("model_provider = ", false),
            ("", false),
        ] {
            std::fs::write(&file, text).unwrap();
            assert_eq!(gate_required_by(&file), deployed, "{text:?}");
        }
    }
}
