//! The model-lock policy read from the environment: which model is pinned and what happens to a
//! caller's attempt to choose another one. Every bin (shim, entrypoint, ...) validates through here,
//! so they cannot disagree about what a valid configuration is.

use std::ffi::{OsStr, OsString};
use std::fmt;

pub const MODEL_VAR: &str = "OPENCLAW_MODEL";
pub const MODE_VAR: &str = "OPENCLAW_MODEL_LOCK_MODE";
/// Comma-separated list of subcommands the operator allows although argv cannot pin them.
pub const ALLOW_UNPINNABLE_VAR: &str = "OPENCLAW_ALLOW_UNPINNABLE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    /// Replace the caller's choice with the pinned model, warn, run codex.
    Force,
    /// Refuse the whole call before codex runs.
    Reject,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Force => "force",
            LockMode::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub model: String,
    pub mode: LockMode,
    /// Command paths (e.g. `app-server`, `debug app-server`) the operator opted into.
    pub allow_unpinnable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyError {
    ModelMissing,
    ModelEmpty,
    ModelNotUtf8,
    ModelControlChar,
    ModelLeadingDash(String),
    ModeInvalid(String),
    AllowListInvalid(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::ModelMissing => {
                write!(f, "{MODEL_VAR} is not set: set it to the one model OpenClaw may use (e.g. {MODEL_VAR}=gpt-5.3-codex)")
            }
            PolicyError::ModelEmpty => {
                write!(f, "{MODEL_VAR} is empty: set it to the one model OpenClaw may use (e.g. {MODEL_VAR}=gpt-5.3-codex)")
            }
            PolicyError::ModelNotUtf8 => write!(f, "{MODEL_VAR} is not valid UTF-8: set it to a plain model name"),
            PolicyError::ModelControlChar => {
                write!(f, "{MODEL_VAR} contains a control character: set it to a plain model name")
            }
            PolicyError::ModelLeadingDash(m) => {
                write!(f, "{MODEL_VAR}={m:?} starts with '-', which codex would read as an option: set it to a plain model name")
            }
            PolicyError::ModeInvalid(v) => {
                write!(f, "{MODE_VAR}={v:?} is not a lock mode: use \"force\" (default) or \"reject\"")
            }
            PolicyError::AllowListInvalid(v) => write!(
                f,
                "{ALLOW_UNPINNABLE_VAR} names {v:?}, which is not an unpinnable subcommand: use a comma-separated subset of {}",
                crate::pin::grammar::UNPINNABLE_PATHS.join(", ")
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// Validates the pinned model: trimmed, non-empty, no control characters, not option-like.
pub fn parse_model(raw: Option<&OsStr>) -> Result<String, PolicyError> {
    let raw = raw.ok_or(PolicyError::ModelMissing)?;
    let text = raw.to_str().ok_or(PolicyError::ModelNotUtf8)?;
    let model = text.trim();
    if model.is_empty() {
        return Err(PolicyError::ModelEmpty);
    }
    if model.chars().any(char::is_control) {
        return Err(PolicyError::ModelControlChar);
    }
    if model.starts_with('-') {
        return Err(PolicyError::ModelLeadingDash(model.to_owned()));
    }
    Ok(model.to_owned())
}

/// Unset or empty means `force` (Compose's `${VAR:-force}` turns an empty value into the default
/// too); otherwise trimmed and ASCII case-insensitive.
pub fn parse_mode(raw: Option<&OsStr>) -> Result<LockMode, PolicyError> {
    let Some(raw) = raw else {
        return Ok(LockMode::Force);
    };
    let text = raw.to_str().ok_or_else(|| PolicyError::ModeInvalid(raw.to_string_lossy().into_owned()))?;
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "force" => Ok(LockMode::Force),
        "reject" => Ok(LockMode::Reject),
        _ => Err(PolicyError::ModeInvalid(text.to_owned())),
    }
}

pub fn parse_allow_unpinnable(raw: Option<&OsStr>) -> Result<Vec<String>, PolicyError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let text = raw.to_str().ok_or_else(|| PolicyError::AllowListInvalid(raw.to_string_lossy().into_owned()))?;
    let mut allowed = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let normalised = item.split_whitespace().collect::<Vec<_>>().join(" ");
        if !crate::pin::grammar::UNPINNABLE_PATHS.contains(&normalised.as_str()) {
            return Err(PolicyError::AllowListInvalid(item.to_owned()));
        }
        allowed.push(normalised);
    }
    Ok(allowed)
}

impl Policy {
    /// Reads the policy through `get`, so tests need not touch the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Result<Policy, PolicyError> {
        Ok(Policy {
            model: parse_model(get(MODEL_VAR).as_deref())?,
            mode: parse_mode(get(MODE_VAR).as_deref())?,
            allow_unpinnable: parse_allow_unpinnable(get(ALLOW_UNPINNABLE_VAR).as_deref())?,
        })
    }

    pub fn from_env() -> Result<Policy, PolicyError> {
        Policy::from_lookup(|name| std::env::var_os(name))
    }

    pub fn allows_unpinnable(&self, path: &str) -> bool {
        self.allow_unpinnable.iter().any(|p| p == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> OsString {
        OsString::from(s)
    }

    #[test]
    fn model_rules() {
        let cases: &[(Option<&str>, Result<&str, PolicyError>)] = &[
            (Some("gpt-5.3-codex"), Ok("gpt-5.3-codex")),
            (Some("  gpt-5.3-codex\t"), Ok("gpt-5.3-codex")),
            (Some("o3 \"quoted\" \\ name"), Ok("o3 \"quoted\" \\ name")),
            (Some("modèle"), Ok("modèle")),
            (None, Err(PolicyError::ModelMissing)),
            (Some(""), Err(PolicyError::ModelEmpty)),
            (Some(" \t\n "), Err(PolicyError::ModelEmpty)),
            (Some("gpt\n5"), Err(PolicyError::ModelControlChar)),
            (Some("gpt\u{7f}"), Err(PolicyError::ModelControlChar)),
            (Some("gpt\u{1b}[31m"), Err(PolicyError::ModelControlChar)),
            (Some("-m"), Err(PolicyError::ModelLeadingDash("-m".into()))),
        ];
        for (input, want) in cases {
            let got = parse_model(input.map(os).as_deref());
            assert_eq!(got, want.clone().map(str::to_owned), "input {input:?}");
        }
    }

    #[test]
    fn model_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"gpt\xff");
        assert_eq!(parse_model(Some(raw)), Err(PolicyError::ModelNotUtf8));
    }

    #[test]
    fn mode_rules() {
        let cases: &[(Option<&str>, Option<LockMode>)] = &[
            (None, Some(LockMode::Force)),
            (Some(""), Some(LockMode::Force)),
            (Some("force"), Some(LockMode::Force)),
            (Some(" Force "), Some(LockMode::Force)),
            (Some("reject"), Some(LockMode::Reject)),
            (Some("REJECT"), Some(LockMode::Reject)),
            (Some("rejected"), None),
            (Some("forced"), None),
            (Some("off"), None),
            (Some("true"), None),
        ];
        for (input, want) in cases {
            let got = parse_mode(input.map(os).as_deref()).ok();
            assert_eq!(got, *want, "input {input:?}");
        }
    }

    #[test]
    fn allow_list_rules() {
        assert_eq!(parse_allow_unpinnable(None), Ok(vec![]));
        assert_eq!(
            parse_allow_unpinnable(Some(OsStr::new("app-server, debug   app-server"))),
            Ok(vec!["app-server".to_owned(), "debug app-server".to_owned()])
        );
        assert!(matches!(
            parse_allow_unpinnable(Some(OsStr::new("app-server,exec"))),
            Err(PolicyError::AllowListInvalid(v)) if v == "exec"
        ));
    }

    #[test]
    fn errors_name_the_variable() {
        for err in [
            PolicyError::ModelMissing,
            PolicyError::ModelEmpty,
            PolicyError::ModelNotUtf8,
            PolicyError::ModelControlChar,
            PolicyError::ModelLeadingDash("-x".into()),
        ] {
            let text = err.to_string();
            assert!(text.starts_with(MODEL_VAR), "{text}");
            assert!(!text.contains('\n'), "{text}");
        }
        assert!(PolicyError::ModeInvalid("x".into()).to_string().starts_with(MODE_VAR));
    }
}

/// The vectors shared with the Python adapter (`shim-tests/vectors/policy.json`): both layers must
/// read every input the same way.
#[cfg(test)]
mod shared_vectors {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../../shim-tests/vectors/policy.json")).unwrap()
    }

    fn kind(error: &PolicyError) -> &'static str {
        match error {
            PolicyError::ModelMissing => "missing",
            PolicyError::ModelEmpty => "empty",
            PolicyError::ModelNotUtf8 => "not-utf8",
            PolicyError::ModelControlChar => "control",
            PolicyError::ModelLeadingDash(_) => "leading-dash",
            PolicyError::ModeInvalid(_) => "mode-invalid",
            PolicyError::AllowListInvalid(_) => "allow-list-invalid",
        }
    }

    fn check<T: PartialEq + std::fmt::Debug>(
        section: &str,
        parse: impl Fn(Option<&OsStr>) -> Result<T, PolicyError>,
        expect: impl Fn(&str) -> T,
        field: &str,
    ) {
        let all = vectors();
        let cases = all[section].as_array().unwrap();
        assert!(cases.len() > 10);
        for case in cases {
            let input = case["input"].as_str().map(OsStr::new);
            let got = parse(input);
            match (case.get(field).and_then(Value::as_str), case.get("error").and_then(Value::as_str)) {
                (Some(want), None) => assert_eq!(got.as_ref().ok(), Some(&expect(want)), "{case}"),
                (None, Some(want)) => {
                    assert_eq!(got.as_ref().err().map(kind), Some(want), "{case}")
                }
                _ => panic!("malformed vector {case}"),
            }
        }
    }

    #[test]
    fn models() {
        check("model", parse_model, str::to_owned, "model");
    }

    #[test]
    fn modes() {
        let mode = |m: &str| match m {
            "force" => LockMode::Force,
            "reject" => LockMode::Reject,
            other => panic!("unknown mode {other}"),
        };
        check("mode", parse_mode, mode, "mode");
    }
}
