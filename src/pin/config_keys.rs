//! The one judgement of a Codex config key and its value, wherever it is set: a `-c` on argv
//! (`rewrite`), a thread's `config` map or a config write in the app-server stream (`app_server`),
//! and the keys the entrypoint pins in config.toml (`ops::codex_config`). A key that names a model
//! gets the pin; a sub-agent feature flag gets `false`; the reviewer gets the user; a provider, an
//! endpoint, a profile or a catalog is removed.

use std::cmp::Ordering;

use serde_json::Value;

/// How a sensitive config key's value may still be harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// Names a model: harmless only when it names the pinned one.
    ModelName,
    /// A feature flag: harmless only when `false`.
    FeatureOff,
    /// Never harmless (providers, endpoints, profiles, catalogs).
    Never,
    /// Harmless only with this value (a TOML string; quotes optional, as codex reads `-c`).
    Only(&'static str),
}

/// Config keys that choose a model or where requests go, as dotted patterns; a segment may hold one
/// `*`. Setting a parent table (`-c agents={...}`) counts as setting the key inside it.
pub const CONFIG_KEYS: &[(&str, KeyRule)] = &[
    ("model", KeyRule::ModelName),
    ("review_model", KeyRule::ModelName),
    ("model_provider", KeyRule::Never),
    ("model_providers", KeyRule::Never),
    ("openai_base_url", KeyRule::Never),
    ("chatgpt_base_url", KeyRule::Never),
    ("profile", KeyRule::Never),
    ("agents.default_subagent_model", KeyRule::ModelName),
    // Sub-agent limits and roles (a role's config file may set a model): all of it.
    ("agents", KeyRule::Never),
    ("memories.*_model", KeyRule::ModelName),
    ("experimental_realtime_ws_model", KeyRule::ModelName),
    ("model_catalog_json", KeyRule::Never),
    ("features.multi_agent*", KeyRule::FeatureOff),
    // Anything but `user` has a model review approvals: the provider's review model (measured:
    // `codex-auto-review`) or the catalog's `auto_review_model_override`, not the pin.
    ("approvals_reviewer", KeyRule::Only(USER_REVIEWER)),
    ("apps.*.approvals_reviewer", KeyRule::Only(USER_REVIEWER)),
];

/// The one `approvals_reviewer` that is no model: the user.
pub const USER_REVIEWER: &str = "user";

/// Config keys naming the model of a job other than the turn itself, pinned with `-c KEY="PIN"` on
/// every call: left unset, codex runs that job on a model of its own choosing. Measured on 0.163.0:
/// with the `memories` feature on (`--enable memories`, or app-server's
/// `experimentalFeature/enablement/set`), memory consolidation ran on gpt-5.6-terra. A realtime
/// session started without a model (app-server `thread/realtime/start`, the TUI's voice) uses
/// `experimental_realtime_ws_model`, else a built-in realtime model (codex's source; not measured:
/// the stand-in API speaks no realtime). Each is a string key 0.163.0 knows (probed: a wrong type
/// there stops codex; unknown keys would be ignored).
pub const JOB_MODEL_KEYS: &[&str] =
    &["review_model", "memories.extract_model", "memories.consolidation_model", "experimental_realtime_ws_model"];

/// Features that give the model a tool to start sub-agents on other models (`spawn_agent`).
pub const SUBAGENT_FEATURE_PREFIX: &str = "multi_agent";

/// `--disable` value that turns the v1 sub-agent tools off.
pub const SUBAGENT_DISABLE: &str = "multi_agent";

/// `-c` overrides that keep the model from starting a sub-agent on another model. Measured with the
/// real CLI and a model answering with `spawn_agent` calls: the built-in catalog turns the v2
/// `collaboration` tools on for its models whatever `--disable multi_agent` says, and two catalog
/// models expose the v1 tools through code mode. Each line closes part of that; together they
/// close it for every catalog model and for unknown ones:
/// - `features.multi_agent_v2=false`: the v2 feature flag, for models outside the catalog;
/// - `disable_native_tools`: removes the v2 `collaboration` tools the catalog turns on;
/// - `max_concurrent_threads_per_session=1`: no thread left for a sub-agent if a tool slips through;
/// - `agents.max_depth=0`: no sub-agent at all, which closes the v1 tools and their code-mode form;
/// - an empty usage hint: the catalog's prompt text no longer invites spawning;
/// - `approvals_reviewer="user"`: approval auto-review runs as a `guardian` sub-agent on the
///   provider's review model (measured: `codex-auto-review`), whatever the session's model.
pub const SUBAGENT_PINS: &[&str] = &[
    "features.multi_agent_v2=false",
    "features.multi_agent_v2.disable_native_tools=true",
    "features.multi_agent_v2.max_concurrent_threads_per_session=1",
    "features.multi_agent_v2.root_agent_usage_hint_text=\"\"",
    "agents.max_depth=0",
    "approvals_reviewer=\"user\"",
];

/// Looks a `-c` key up in `CONFIG_KEYS`; `None` means the key cannot affect the model lock.
pub fn classify_config_key(key: &str) -> Option<KeyRule> {
    let segments = key_segments(key);
    CONFIG_KEYS.iter().find_map(|(pattern, value)| {
        // Equal: the key itself. Less: a parent table that may hold it. Greater: a value under a
        // key that must be a plain string, which is never harmless.
        Some(if key_vs_pattern(&segments, pattern)? == Ordering::Equal { *value } else { KeyRule::Never })
    })
}

/// Whether `key` is a table above keys of `CONFIG_KEYS` and not itself one of them or below one
/// (`features`, `memories`, `apps.x`): a JSON object there can be judged key by key, where a `-c`
/// inline table is judged whole.
pub fn is_table_above_config_keys(key: &str) -> bool {
    let segments = key_segments(key);
    let mut relations = CONFIG_KEYS.iter().filter_map(|(pattern, _)| key_vs_pattern(&segments, pattern));
    relations.next() == Some(Ordering::Less) && relations.all(|r| r == Ordering::Less)
}

/// How a key stands to a `CONFIG_KEYS` pattern whose leading segments it shares: shorter (a table
/// above it), the same key, or longer (below it); `None` when they differ.
fn key_vs_pattern(segments: &[&str], pattern: &str) -> Option<Ordering> {
    let pattern: Vec<&str> = pattern.split('.').collect();
    segments.iter().zip(&pattern).all(|(s, p)| glob_segment(p, s)).then(|| segments.len().cmp(&pattern.len()))
}

fn key_segments(key: &str) -> Vec<&str> {
    key.split('.').map(|s| unquoted(s.trim())).collect()
}

/// `text` without TOML quotes around it (`"user"`, `'user'`), as codex reads `-c` keys and values.
pub fn unquoted(text: &str) -> &str {
    text.trim_matches(|c| c == '"' || c == '\'')
}

fn glob_segment(pattern: &str, segment: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == segment,
        Some((prefix, suffix)) => {
            segment.len() >= prefix.len() + suffix.len() && segment.starts_with(prefix) && segment.ends_with(suffix)
        }
    }
}

/// `model="PIN"` with PIN as a TOML basic string.
pub fn toml_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for ch in value.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A config value as it arrives: the raw text of a `-c key=value` (TOML, or taken as a string when
/// it does not parse, as codex does), or a JSON value of the app-server protocol.
#[derive(Debug, Clone, Copy)]
pub enum ConfigValue<'a> {
    Toml(&'a str),
    Json(&'a Value),
}

/// What must become of a config key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// A key that cannot affect the model lock (a table may still hold keys that can).
    Unrelated,
    /// A key that can, set to its harmless value.
    Harmless,
    /// Must hold this value instead.
    Force(Forced),
    /// Must not be set at all (providers, endpoints, profiles, catalogs, sub-agent tables).
    Remove,
}

/// The value a key is forced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    /// The pinned model.
    Pin,
    /// `false` (a sub-agent feature).
    False,
    /// This string (the reviewer: `"user"`).
    Text(&'static str),
}

impl Forced {
    /// The forced value in JSON.
    pub fn json(self, pin: &str) -> Value {
        match self {
            Forced::Pin => Value::String(pin.to_owned()),
            Forced::False => Value::Bool(false),
            Forced::Text(text) => Value::String(text.to_owned()),
        }
    }
}

/// The one judgement of `key` set to `value` under the pin `pin`.
pub fn judge(key: &str, value: ConfigValue, pin: &str) -> Judgement {
    if let ConfigValue::Toml(raw) = value {
        if SUBAGENT_PINS.contains(&format!("{}={}", key.trim(), raw.trim()).as_str()) {
            return Judgement::Harmless; // one of the shim's own pins
        }
    }
    let Some(rule) = classify_config_key(key) else { return Judgement::Unrelated };
    let (harmless, forced) = match rule {
        KeyRule::ModelName => (value.is_text(pin), Forced::Pin),
        KeyRule::FeatureOff => (value.is_false(), Forced::False),
        KeyRule::Only(text) => (value.is_text(text), Forced::Text(text)),
        KeyRule::Never => return Judgement::Remove,
    };
    if harmless {
        Judgement::Harmless
    } else {
        Judgement::Force(forced)
    }
}

impl ConfigValue<'_> {
    /// Whether the value is the string `text` (a `-c` value quoted or bare, as codex reads it).
    fn is_text(self, text: &str) -> bool {
        match self {
            ConfigValue::Toml(raw) => {
                let raw = raw.trim();
                raw == text || raw == toml_string(text) || raw == format!("'{text}'")
            }
            ConfigValue::Json(value) => value.as_str() == Some(text),
        }
    }

    fn is_false(self) -> bool {
        match self {
            ConfigValue::Toml(raw) => raw.trim() == "false",
            ConfigValue::Json(value) => *value == Value::Bool(false),
        }
    }
}

/// The keys config.toml and every `-c` pin to the model: `model` and each of `JOB_MODEL_KEYS`.
pub fn pinned_model_keys() -> impl Iterator<Item = &'static str> {
    std::iter::once("model").chain(JOB_MODEL_KEYS.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys() {
        use KeyRule::*;
        let cases: &[(&str, Option<KeyRule>)] = &[
            ("model", Some(ModelName)),
            (" model ", Some(ModelName)),
            ("review_model", Some(ModelName)),
            ("model.x", Some(Never)),
            ("model_provider", Some(Never)),
            ("model_providers.mock.base_url", Some(Never)),
            ("model_providers", Some(Never)),
            ("openai_base_url", Some(Never)),
            ("profile", Some(Never)),
            ("agents.default_subagent_model", Some(ModelName)),
            ("agents", Some(Never)),
            ("agents.max_threads", Some(Never)),
            ("agents.max_depth", Some(Never)),
            ("memories.extract_model", Some(ModelName)),
            ("memories.consolidation_model", Some(ModelName)),
            ("memories", Some(Never)),
            ("memories.enabled", None),
            ("experimental_realtime_ws_model", Some(ModelName)),
            ("approvals_reviewer", Some(Only("user"))),
            ("apps.github.approvals_reviewer", Some(Only("user"))),
            ("apps.github.enabled", None),
            ("apps", Some(Never)),
            ("model_catalog_json", Some(Never)),
            ("features.multi_agent", Some(FeatureOff)),
            ("features.multi_agent_v2", Some(FeatureOff)),
            ("features", Some(Never)),
            ("features.goals", None),
            ("model_reasoning_effort", None),
            ("approval_policy", None),
            ("MODEL", None),
        ];
        for (key, want) in cases {
            assert_eq!(classify_config_key(key), *want, "key {key:?}");
        }
    }

    #[test]
    fn tables_above_config_keys() {
        for key in ["features", "memories", "apps", "apps.github", " features "] {
            assert!(is_table_above_config_keys(key), "{key}");
        }
        // Keys of the table themselves, keys below them, and unrelated keys are not.
        for key in [
            "agents",
            "model_providers",
            "model_providers.x",
            "features.multi_agent",
            "memories.enabled",
            "tools",
            "model",
        ] {
            assert!(!is_table_above_config_keys(key), "{key}");
        }
    }

    #[test]
    fn argv_and_json_values_are_judged_alike() {
        use serde_json::json;
        let pin = "gpt-pin";
        let cases: &[(&str, &str, Value, Judgement)] = &[
            ("model", "\"gpt-pin\"", json!("gpt-pin"), Judgement::Harmless),
            ("model", "gpt-pin", json!("gpt-pin"), Judgement::Harmless),
            ("model", "'gpt-pin'", json!("gpt-pin"), Judgement::Harmless),
            ("model", "o3", json!("o3"), Judgement::Force(Forced::Pin)),
            ("memories.extract_model", "o3", json!("o3"), Judgement::Force(Forced::Pin)),
            ("features.multi_agent", "false", json!(false), Judgement::Harmless),
            ("features.multi_agent", "true", json!(true), Judgement::Force(Forced::False)),
            ("approvals_reviewer", "\"user\"", json!("user"), Judgement::Harmless),
            ("approvals_reviewer", "auto_review", json!("auto_review"), Judgement::Force(Forced::Text("user"))),
            ("model_provider", "\"x\"", json!("x"), Judgement::Remove),
            ("agents.max_threads", "4", json!(4), Judgement::Remove),
            ("model_reasoning_effort", "high", json!("high"), Judgement::Unrelated),
        ];
        for (key, raw, value, want) in cases {
            assert_eq!(judge(key, ConfigValue::Toml(raw), pin), *want, "-c {key}={raw}");
            assert_eq!(judge(key, ConfigValue::Json(value), pin), *want, "{key}: {value}");
        }
        // The shim's own sub-agent pins are harmless on argv, where it writes them.
        for assignment in SUBAGENT_PINS {
            let (key, raw) = assignment.split_once('=').unwrap();
            assert_eq!(judge(key, ConfigValue::Toml(raw), pin), Judgement::Harmless, "{assignment}");
        }
    }
}
