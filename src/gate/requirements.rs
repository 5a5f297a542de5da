//! The `/etc/codex/requirements.toml` that forces Codex's provider to the gate, and how the other
//! layers tell that it does.

use super::{PREFIX, PROVIDER_ID, REQUIREMENTS_PATH};

/// `/etc/codex/requirements.toml` forcing Codex's provider to the gate at `gate_url`
/// (e.g. `http://openclaw-model-gate:8080`). Keys checked against codex-rs 0.163.0
/// `config/src/config_requirements.rs` and the real CLI (shim-tests/model_gate.rs).
pub fn toml(gate_url: &str) -> Result<String, String> {
    let base = gate_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() <= "https://".len() {
        return Err(format!("{PREFIX}: --gate-url {gate_url:?} is not an http:// or https:// URL: give the gate's address, e.g. http://{PROVIDER_ID}:8080"));
    }
    if base.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("{PREFIX}: --gate-url {gate_url:?} contains whitespace or a control character"));
    }
    let mut doc = toml_edit::DocumentMut::new();
    doc["model_provider"] = toml_edit::value(PROVIDER_ID);
    let mut provider = toml_edit::Table::new();
    provider["name"] = toml_edit::value("OpenClaw model gate");
    provider["base_url"] = toml_edit::value(format!("{base}/v1"));
    provider["wire_api"] = toml_edit::value("responses");
    // The login in CODEX_HOME (API key or ChatGPT) authenticates, as for the built-in provider;
    // the gate forwards the Authorization header untouched.
    provider["requires_openai_auth"] = toml_edit::value(true);
    // Responses over WebSocket would bypass the gate's per-request judgement.
    provider["supports_websockets"] = toml_edit::value(false);
    // Not "OpenAI": that name alone makes codex compress bodies and add routing hints.
    let mut providers = toml_edit::Table::new();
    providers.set_implicit(true);
    providers.insert(PROVIDER_ID, toml_edit::Item::Table(provider));
    doc["model_providers"] = toml_edit::Item::Table(providers);
    // A gate that is down fails codex after a few reconnects instead of retrying forever
    // ("Reconnecting... waiting for network"): fail closed, and say so.
    let mut features = toml_edit::Table::new();
    features["unbounded_connection_retries"] = toml_edit::value(false);
    doc["features"] = toml_edit::Item::Table(features);
    let header = "# Written by `openclaw-model-gate requirements`: every codex on this machine sends its model\n\
                  # requests to the OpenClaw model gate, which pins the model. Root-owned; do not edit.\n";
    Ok(format!("{header}{doc}"))
}

/// Whether the gate is deployed on this machine: `REQUIREMENTS_PATH` forces the provider to it.
/// The app-server guard leaves `approvalsReviewer: auto_review` alone exactly then, since codex
/// itself sends that reviewer's requests to the gate. Unreadable or malformed is "no gate": the
/// guard then fails closed.
pub fn deployed() -> bool {
    required_by(std::path::Path::new(REQUIREMENTS_PATH))
}

/// `deployed` on another file (tests).
pub fn required_by(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| name_the_gate(&text))
}

/// Whether `text` (a requirements.toml) forces the provider to the gate.
pub fn name_the_gate(text: &str) -> bool {
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return false;
    };
    doc.get("model_provider").and_then(|v| v.as_str()) == Some(PROVIDER_ID)
        && doc
            .get("model_providers")
            .and_then(|p| p.get(PROVIDER_ID))
            .and_then(|g| g.get("base_url"))
            .and_then(|u| u.as_str())
            .is_some()
}

/// The gate's base URL (without `/v1`) named by a requirements.toml, if it forces the gate.
pub fn gate_url(text: &str) -> Option<String> {
    if !name_the_gate(text) {
        return None;
    }
    let doc = text.parse::<toml_edit::DocumentMut>().ok()?;
    let base = doc["model_providers"][PROVIDER_ID]["base_url"].as_str()?;
    Some(base.trim_end_matches('/').trim_end_matches("/v1").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_force_the_gate() {
        let text = toml("http://openclaw-model-gate:8080/").unwrap();
        assert!(name_the_gate(&text), "{text}");
        assert_eq!(gate_url(&text).as_deref(), Some("http://openclaw-model-gate:8080"));
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        assert_eq!(
            doc["model_providers"][PROVIDER_ID]["base_url"].as_str(),
            Some("http://openclaw-model-gate:8080/v1")
        );
        assert!(toml("openclaw-model-gate:8080").is_err());
        assert!(toml("http://a b").is_err());
        assert!(!name_the_gate("model_provider = \"openai\""));
        assert!(!name_the_gate("not toml ["));
    }

    #[test]
    fn only_a_parsing_file_that_forces_the_gate_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("requirements.toml");
        assert!(!required_by(&file), "absent");
        let provider = "[model_providers.openclaw-model-gate]\nbase_url = \"http://g:8080/v1\"\n";
        for (text, deployed) in [
            (format!("model_provider = \"openclaw-model-gate\"\n{provider}"), true),
            (
                format!(
                    "allowed_approval_policies = [\"never\"]\nmodel_provider = \"openclaw-model-gate\"\n{provider}"
                ),
                true,
            ),
            ("model_provider = \"openclaw-model-gate\"\n".to_owned(), false),
            (format!("model_provider = \"openai\"\n{provider}"), false),
            (format!("[x]\nmodel_provider = \"openclaw-model-gate\"\n{provider}"), false),
            (format!("model_provider = \"openclaw-model-gate\"\nmodel_provider = \"x\"\n{provider}"), false),
            ("model_provider = ".to_owned(), false),
            (String::new(), false),
        ] {
            std::fs::write(&file, &text).unwrap();
            assert_eq!(required_by(&file), deployed, "{text:?}");
        }
    }
}
