//! What a Codex `auth.json` holds. `codex login status` exits 0 for `{}` ("Logged in using
//! ChatGPT"), so exit 0 alone is no proof of a credential; this reads the file itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// `OPENAI_API_KEY`: copies safely between volumes.
    ApiKey,
    /// ChatGPT login tokens: a copy leaves two holders of one rotating refresh token.
    ChatGpt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    NotJson(String),
    NoCredential,
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::NotJson(e) => write!(f, "auth.json is not valid JSON ({e})"),
            AuthError::NoCredential => write!(f, "auth.json holds no credential (no OPENAI_API_KEY, no tokens)"),
        }
    }
}

fn non_empty(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.trim().is_empty())
}

/// The credential in an `auth.json`; an API key wins when both are present.
pub fn credential(auth_json: &str) -> Result<Credential, AuthError> {
    let auth: Value = serde_json::from_str(auth_json).map_err(|e| AuthError::NotJson(e.to_string()))?;
    if non_empty(&auth["OPENAI_API_KEY"]) {
        return Ok(Credential::ApiKey);
    }
    let tokens = &auth["tokens"];
    if non_empty(&tokens["access_token"]) || non_empty(&tokens["refresh_token"]) {
        return Ok(Credential::ChatGpt);
    }
    Err(AuthError::NoCredential)
}

/// What an `auth.json` holds, as reported to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Login {
    Absent,
    ApiKey,
    Chatgpt,
    /// Present, but no credential in it (`{}`, not JSON, truncated).
    NoCredential,
}

impl Login {
    pub fn of(auth: Option<&[u8]>) -> Login {
        let Some(bytes) = auth else {
            return Login::Absent;
        };
        match std::str::from_utf8(bytes).map(credential) {
            Ok(Ok(Credential::ApiKey)) => Login::ApiKey,
            Ok(Ok(Credential::ChatGpt)) => Login::Chatgpt,
            _ => Login::NoCredential,
        }
    }

    pub fn has_credential(self) -> bool {
        matches!(self, Login::ApiKey | Login::Chatgpt)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Login::Absent => "no auth.json",
            Login::ApiKey => "an API-key login",
            Login::Chatgpt => "a ChatGPT login",
            Login::NoCredential => "an auth.json without a credential",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let cases: &[(&str, Result<Credential, AuthError>)] = &[
            (r#"{"auth_mode":"apikey","OPENAI_API_KEY":"sk-test-1"}"#, Ok(Credential::ApiKey)),
            (r#"{"tokens":{"access_token":"a","refresh_token":"r"},"last_refresh":"x"}"#, Ok(Credential::ChatGpt)),
            (r#"{"OPENAI_API_KEY":"sk-1","tokens":{"refresh_token":"r"}}"#, Ok(Credential::ApiKey)),
            ("{}", Err(AuthError::NoCredential)),
            (r#"{"OPENAI_API_KEY":"  ","tokens":null}"#, Err(AuthError::NoCredential)),
            (r#"{"OPENAI_API_KEY":null,"tokens":{"access_token":""}}"#, Err(AuthError::NoCredential)),
            ("[]", Err(AuthError::NoCredential)),
        ];
        for (text, want) in cases {
            assert_eq!(&credential(text), want, "{text}");
        }
        assert!(matches!(credential("{\"OPENAI_API_KEY\": \"sk-"), Err(AuthError::NotJson(_))));
    }
}
