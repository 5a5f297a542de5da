//! The model gate's rules on the wire, no I/O: which requests Codex 0.163.0 sends through its
//! provider, how each names its model, and what the gate does with it. `gate::server` runs them;
//! `gate::requirements` makes every codex on the machine send its requests there.
//!
//! Why a gate: a PATH shim sees only the codex calls that look `codex` up on PATH. requirements.toml
//! is Codex's one admin layer that beats argv, config.toml, profiles, `CODEX_HOME` and JSON-RPC for
//! the *provider* (it has no model lock), so the provider is forced to the gate and the gate forces
//! the model of every request: sub-agents, reviewers, memories, programs codex starts, libraries.

use serde_json::Value;

use crate::pin::attempt::{Attempt, Level};
use crate::pin::policy::{LockMode, Policy};

/// Where a request names its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelField {
    /// The top-level `"model"` of a JSON body: required, forced or refused.
    JsonBody,
    /// No model: the request carries none and must carry no body.
    None,
}

/// One request Codex 0.163.0 sends through a custom provider, as `(method, path after /v1/)`.
/// Measured with the real 0.163.0 binary against a listener (API-key and ChatGPT logins) and read
/// from its strings: turns, sub-agents, reviewers, titles and compaction all use `responses`;
/// `models` is fetched with a ChatGPT login; images and search name a model in their body too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub model: ModelField,
    /// What codex uses it for (docs and logs).
    pub purpose: &'static str,
}

/// Every path the gate forwards. Anything else is refused (deny by default): a path codex did not
/// send through a provider in 0.163.0 is not known to be safe. ChatGPT-backend calls
/// (`/backend-api/wham/...`, plugins, analytics) go to `chatgpt_base_url`, never to the provider.
/// Realtime is a WebSocket (`realtime?model=`), refused with every upgrade.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "POST",
        path: "responses",
        model: ModelField::JsonBody,
        purpose: "turns, sub-agents, reviewers, titles, compaction",
    },
    Endpoint { method: "GET", path: "models", model: ModelField::None, purpose: "the model list (ChatGPT login)" },
    Endpoint { method: "POST", path: "images/generations", model: ModelField::JsonBody, purpose: "image generation" },
    Endpoint { method: "POST", path: "images/edits", model: ModelField::JsonBody, purpose: "image edits" },
    Endpoint { method: "POST", path: "alpha/search", model: ModelField::JsonBody, purpose: "standalone web search" },
];

/// Headers codex 0.163.0 puts the model in besides the body: `x-codex-turn-metadata` is a JSON
/// object with a `"model"`; `x-codex-routing-hint` is `model=<slug>` (sent to a provider named
/// "OpenAI"). The same metadata also rides in the body as `client_metadata["x-codex-turn-metadata"]`.
pub const MODEL_HEADERS: &[(&str, HeaderModel)] =
    &[("x-codex-turn-metadata", HeaderModel::JsonObject), ("x-codex-routing-hint", HeaderModel::Assignment)];
const BODY_METADATA: (&str, &str) = ("client_metadata", "x-codex-turn-metadata");

/// How a header carries the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderModel {
    /// A JSON object whose `"model"` names it.
    JsonObject,
    /// `model=<slug>`.
    Assignment,
}

/// What the gate does with one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Forward to the upstream, with this query and (for JSON endpoints) this body; `forced` lists
    /// what was replaced by the pin (force mode).
    Forward { endpoint: &'static Endpoint, query: Option<String>, body: Option<Vec<u8>>, forced: Vec<Attempt> },
    /// Reject mode and a model other than the pin: nothing is forwarded.
    Reject { attempts: Vec<Attempt> },
    /// Not a request the gate forwards at all (unknown path, bad body): nothing is forwarded.
    Refuse { status: u16, reason: String },
}

/// The endpoint a request is for, if the gate forwards it.
pub fn endpoint(method: &str, rest: &str) -> Option<&'static Endpoint> {
    ENDPOINTS.iter().find(|e| e.method == method && e.path == rest)
}

/// Judges one request: `rest` is the path after `/v1/`, `query` the raw query string, `body` the
/// request body already decoded (no content encoding), `header_attempts` what `pin_header` found in
/// its headers (already rewritten by the caller).
pub fn judge(
    policy: &Policy,
    method: &str,
    rest: &str,
    query: Option<&str>,
    body: &[u8],
    header_attempts: Vec<Attempt>,
) -> Verdict {
    let Some(endpoint) = endpoint(method, rest) else {
        return Verdict::Refuse {
            status: 403,
            reason: format!(
                "{method} /v1/{rest} is not a request Codex sends through its provider; the gate forwards only {}",
                known_paths()
            ),
        };
    };
    let mut attempts = header_attempts;
    let query = query.map(|q| pin_query(q, &policy.model, &mut attempts));
    let body = match endpoint.model {
        ModelField::None if !body.is_empty() => {
            return Verdict::Refuse {
                status: 400,
                reason: format!("{method} /v1/{rest} carries a body; codex sends none"),
            };
        }
        ModelField::None => None,
        ModelField::JsonBody => match pin_body(body, &policy.model, &mut attempts) {
            Ok(body) => Some(body),
            Err(reason) => return Verdict::Refuse { status: 400, reason },
        },
    };
    match policy.mode {
        LockMode::Reject if !attempts.is_empty() => Verdict::Reject { attempts },
        _ => Verdict::Forward { endpoint, query, body, forced: attempts },
    }
}

fn known_paths() -> String {
    let list: Vec<String> = ENDPOINTS.iter().map(|e| format!("{} /v1/{}", e.method, e.path)).collect();
    list.join(", ")
}

/// The body with its top-level `model` set to the pin, serialised anew: what goes upstream is the
/// gate's own reading, so a body a server could read differently (duplicate keys) cannot pass.
fn pin_body(body: &[u8], pin: &str, attempts: &mut Vec<Attempt>) -> Result<Vec<u8>, String> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| format!("the request body is not JSON ({e})"))?;
    let Value::Object(object) = &mut value else {
        return Err("the request body is not a JSON object".into());
    };
    match object.get("model") {
        Some(Value::String(model)) if model == pin => {}
        Some(Value::String(model)) => attempts.push(Attempt::new("body model", model.clone(), Level::Gate)),
        Some(other) => attempts.push(Attempt::new("body model", other.to_string(), Level::Gate)),
        None => attempts.push(Attempt::new("body model", String::new(), Level::Gate)),
    }
    object.insert("model".into(), Value::String(pin.to_owned()));
    let (table, key) = BODY_METADATA;
    if let Some(Value::String(metadata)) = object.get_mut(table).and_then(|t| t.get_mut(key)) {
        *metadata = pin_metadata(metadata, pin, "body client_metadata", attempts);
    }
    Ok(serde_json::to_vec(&value).expect("a JSON value serialises"))
}

/// Turn metadata (a JSON object as text) with its `"model"` set to the pin; text that is not such an
/// object is replaced by `{}` (the gate cannot vouch for what it cannot read).
fn pin_metadata(text: &str, pin: &str, syntax: &'static str, attempts: &mut Vec<Attempt>) -> String {
    let mut value = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        _ => {
            attempts.push(Attempt::new(syntax, text.chars().take(80).collect::<String>(), Level::Gate));
            return "{}".to_owned();
        }
    };
    match value.get("model") {
        None => {}
        Some(Value::String(model)) if model == pin => {}
        Some(other) => {
            let attempted = other.as_str().map_or_else(|| other.to_string(), str::to_owned);
            attempts.push(Attempt::new(syntax, attempted, Level::Gate));
            value.insert("model".into(), Value::String(pin.to_owned()));
        }
    }
    Value::Object(value).to_string()
}

/// A model-carrying header's value with the model pinned (`MODEL_HEADERS`), noting any attempt.
pub fn pin_header(kind: HeaderModel, value: &str, pin: &str, attempts: &mut Vec<Attempt>) -> String {
    match kind {
        HeaderModel::JsonObject => pin_metadata(value, pin, "header x-codex-turn-metadata", attempts),
        HeaderModel::Assignment => {
            let asked = value.trim().strip_prefix("model=").unwrap_or(value.trim());
            if asked != pin {
                attempts.push(Attempt::new("header x-codex-routing-hint", asked.to_owned(), Level::Gate));
            }
            format!("model={pin}")
        }
    }
}

/// The query with every `model` parameter set to the pin (realtime names its model there).
fn pin_query(query: &str, pin: &str, attempts: &mut Vec<Attempt>) -> String {
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if name != "model" {
                return pair.to_owned();
            }
            let asked = percent_decode(value);
            if asked != pin {
                attempts.push(Attempt::new("query model", asked, Level::Gate));
            }
            format!("model={}", percent_encode(pin))
        })
        .collect();
    pairs.join("&")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped =
            (bytes[i] == b'%').then(|| Some(hex(*bytes.get(i + 1)?)? * 16 + hex(*bytes.get(i + 2)?)?)).flatten();
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: LockMode) -> Policy {
        Policy { model: "gpt-pin".into(), mode, allow_unpinnable: vec![] }
    }

    fn judge_body(policy: &Policy, method: &str, rest: &str, query: Option<&str>, body: &[u8]) -> Verdict {
        judge(policy, method, rest, query, body, Vec::new())
    }

    fn forwarded_model(verdict: &Verdict) -> String {
        let Verdict::Forward { body: Some(body), .. } = verdict else { panic!("not forwarded: {verdict:?}") };
        let value: Value = serde_json::from_slice(body).unwrap();
        value["model"].as_str().unwrap().to_owned()
    }

    #[test]
    fn force_pins_every_model_endpoint() {
        for endpoint in ENDPOINTS.iter().filter(|e| e.model == ModelField::JsonBody) {
            let verdict =
                judge_body(&policy(LockMode::Force), "POST", endpoint.path, None, br#"{"model":"gpt-4o","input":[]}"#);
            assert_eq!(forwarded_model(&verdict), "gpt-pin", "{}", endpoint.path);
            let Verdict::Forward { forced, .. } = verdict else { unreachable!() };
            assert_eq!(forced, [Attempt::new("body model", "gpt-4o", Level::Gate)]);
        }
    }

    #[test]
    fn the_pin_passes_in_both_modes() {
        for mode in [LockMode::Force, LockMode::Reject] {
            let verdict = judge_body(&policy(mode), "POST", "responses", None, br#"{"model":"gpt-pin","stream":true}"#);
            assert_eq!(forwarded_model(&verdict), "gpt-pin");
            let Verdict::Forward { forced, .. } = verdict else { unreachable!() };
            assert!(forced.is_empty());
        }
    }

    #[test]
    fn reject_refuses_another_model_a_missing_one_and_a_non_string() {
        for body in
            [&br#"{"model":"gpt-4o"}"#[..], br#"{"input":[]}"#, br#"{"model":["gpt-4o"]}"#, br#"{"model":null}"#]
        {
            let verdict = judge_body(&policy(LockMode::Reject), "POST", "responses", None, body);
            assert!(matches!(verdict, Verdict::Reject { .. }), "{}: {verdict:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn duplicate_keys_leave_one_reading() {
        // serde_json keeps the last; what goes upstream has one key, the pin.
        let body = br#"{"model":"gpt-pin","model":"gpt-4o"}"#;
        let verdict = judge_body(&policy(LockMode::Force), "POST", "responses", None, body);
        let Verdict::Forward { body: Some(sent), forced, .. } = verdict else { panic!() };
        assert_eq!(String::from_utf8(sent).unwrap(), r#"{"model":"gpt-pin"}"#);
        assert_eq!(forced.len(), 1);
        let verdict = judge_body(&policy(LockMode::Reject), "POST", "responses", None, body);
        assert!(matches!(verdict, Verdict::Reject { .. }));
    }

    #[test]
    fn unknown_paths_and_methods_are_refused() {
        for (method, path) in [
            ("POST", "chat/completions"),
            ("GET", "responses"),
            ("POST", "responses/../files"),
            ("DELETE", "models"),
            ("POST", "Responses"),
        ] {
            let verdict = judge_body(&policy(LockMode::Force), method, path, None, b"{}");
            assert!(matches!(verdict, Verdict::Refuse { status: 403, .. }), "{method} {path}: {verdict:?}");
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        for body in [&b""[..], b"[]", b"\"x\"", b"{", b"\xff"] {
            let verdict = judge_body(&policy(LockMode::Force), "POST", "responses", None, body);
            assert!(matches!(verdict, Verdict::Refuse { status: 400, .. }), "{body:?}");
        }
        let verdict = judge_body(&policy(LockMode::Force), "GET", "models", None, b"{}");
        assert!(matches!(verdict, Verdict::Refuse { status: 400, .. }));
    }

    #[test]
    fn query_models_are_pinned_or_rejected() {
        let verdict =
            judge_body(&policy(LockMode::Force), "GET", "models", Some("client_version=0.163.0&model=gpt%2D4o"), b"");
        let Verdict::Forward { query, forced, .. } = verdict else { panic!() };
        assert_eq!(query.as_deref(), Some("client_version=0.163.0&model=gpt-pin"));
        assert_eq!(forced, [Attempt::new("query model", "gpt-4o", Level::Gate)]);
        let verdict = judge_body(&policy(LockMode::Reject), "GET", "models", Some("model=gpt-4o"), b"");
        assert!(matches!(verdict, Verdict::Reject { .. }));
        let verdict = judge_body(&policy(LockMode::Reject), "GET", "models", Some("client_version=0.163.0"), b"");
        assert!(matches!(verdict, Verdict::Forward { .. }));
    }

    #[test]
    fn turn_metadata_names_the_pin_in_headers_and_body() {
        let mut attempts = Vec::new();
        let header =
            pin_header(HeaderModel::JsonObject, r#"{"model":"gpt-4o","session_id":"s"}"#, "gpt-pin", &mut attempts);
        assert_eq!(
            serde_json::from_str::<Value>(&header).unwrap(),
            serde_json::json!({"model": "gpt-pin", "session_id": "s"})
        );
        assert_eq!(pin_header(HeaderModel::JsonObject, "not json", "gpt-pin", &mut attempts), "{}");
        assert_eq!(pin_header(HeaderModel::Assignment, "model=gpt-4o", "gpt-pin", &mut attempts), "model=gpt-pin");
        assert_eq!(attempts.len(), 3);
        let mut none = Vec::new();
        pin_header(HeaderModel::JsonObject, r#"{"model":"gpt-pin"}"#, "gpt-pin", &mut none);
        pin_header(HeaderModel::Assignment, "model=gpt-pin", "gpt-pin", &mut none);
        assert!(none.is_empty());
        let body = br#"{"model":"gpt-pin","client_metadata":{"x-codex-turn-metadata":"{\"model\":\"gpt-4o\"}"}}"#;
        let verdict = judge_body(&policy(LockMode::Force), "POST", "responses", None, body);
        let Verdict::Forward { body: Some(sent), forced, .. } = verdict else { panic!() };
        let sent: Value = serde_json::from_slice(&sent).unwrap();
        assert_eq!(sent["client_metadata"]["x-codex-turn-metadata"], r#"{"model":"gpt-pin"}"#);
        assert_eq!(forced, [Attempt::new("body client_metadata", "gpt-4o", Level::Gate)]);
        assert!(matches!(
            judge_body(&policy(LockMode::Reject), "POST", "responses", None, body),
            Verdict::Reject { .. }
        ));
        let header_attempt = vec![Attempt::new("header x-codex-turn-metadata", "gpt-4o", Level::Gate)];
        let verdict =
            judge(&policy(LockMode::Reject), "POST", "responses", None, br#"{"model":"gpt-pin"}"#, header_attempt);
        assert!(matches!(verdict, Verdict::Reject { .. }));
    }
}
