//! The `codex app-server` guard: which JSON-RPC client messages choose a model or where requests
//! go, and what becomes of them. Pure: one line in, one verdict out (`relay` does the I/O).
//!
//! Argv cannot pin app-server (a root `-m` is ignored there, `-c model` only sets the default that
//! `thread/start.model`, `turn/start.model` and friends override), so the shim relays the stdio
//! stream and inspects every client message by method, whatever its id (a request) or lack of one
//! (a notification). Facts measured on codex 0.163.0 (README, "app-server"):
//! - the wire is one JSON object per line, without `"jsonrpc"`; the server answers errors as
//!   `{"error":{"code":-32600,"message":…},"id":…}`;
//! - precedence, low to high: config.toml, `-c`, the thread request's `config` map, its `model`
//!   field, `turn/start.model` (sticky), experimental `collaborationMode.settings.model` and
//!   `thread/settings/update`.
//!
//! Force mode sets each model field to the pin, clears provider fields, makes the approvals reviewer `user`, and neutralises config keys
//! by the argv rule (`grammar::classify_config_key`): model keys get the pin, sub-agent feature
//! flags `false`, provider/endpoint/profile keys are removed. A configuration write that is nothing
//! but such keys, and any file write into codex's configuration files, cannot be neutralised and is
//! answered with an error in both modes. Reject mode answers every attempt with an error and
//! forwards nothing of that message. Everything else passes byte-exact.

use serde_json::{Map, Value};

use crate::grammar::{self, KeyValue};
use crate::lock::Attempt;
use crate::policy::{LockMode, Policy, ALLOW_UNPINNABLE_VAR};

/// What a client-message field does, and so how it is guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Names a model: forced to the pin; an attempt unless it names the pin (or is null).
    Model,
    /// Names a model provider, i.e. where requests go: cleared; an attempt unless null.
    Provider,
    /// A free-form config map (dotted keys or nested tables, as `-c`): each key by the argv rule.
    ConfigOverrides,
    /// Harmless only with this value (or null): forced to it; an attempt otherwise.
    Only(Harmless),
}

/// The one harmless value of an `Only` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harmless {
    Bool(bool),
    Text(&'static str),
}

impl Harmless {
    fn value(self) -> Value {
        match self {
            Harmless::Bool(b) => Value::Bool(b),
            Harmless::Text(text) => Value::String(text.to_owned()),
        }
    }
}

/// `allowProviderModelFallback`: `true` lets codex fall back to another provider's model.
const NO_PROVIDER_FALLBACK: FieldKind = Only(Harmless::Bool(false));
/// `approvalsReviewer`: anything but the user is a model of the provider's choosing (the argv rule
/// for `approvals_reviewer`).
const USER_REVIEWS: FieldKind = Only(Harmless::Text(grammar::USER_REVIEWER));

/// A guarded field: `path` is the property path inside `params`.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub method: &'static str,
    pub path: &'static [&'static str],
    pub kind: FieldKind,
}

const fn field(method: &'static str, path: &'static [&'static str], kind: FieldKind) -> Field {
    Field { method, path, kind }
}

use FieldKind::*;

/// Every client-message field of codex 0.163.0's protocol (stable and experimental) that can choose
/// a model or provider. `shim-tests/app_server_schema.rs` derives the list from the schema the
/// pinned CLI prints and fails on any model or provider field this table (or `NOT_A_CHOICE`) lacks.
pub const FIELDS: &[Field] = &[
    field("thread/start", &["model"], Model),
    field("thread/start", &["modelProvider"], Provider),
    field("thread/start", &["config"], ConfigOverrides),
    field("thread/start", &["allowProviderModelFallback"], NO_PROVIDER_FALLBACK),
    field("thread/resume", &["model"], Model),
    field("thread/resume", &["modelProvider"], Provider),
    field("thread/resume", &["config"], ConfigOverrides),
    field("thread/fork", &["model"], Model),
    field("thread/fork", &["modelProvider"], Provider),
    field("thread/fork", &["config"], ConfigOverrides),
    field("turn/start", &["model"], Model),
    field("turn/start", &["collaborationMode", "settings", "model"], Model),
    field("thread/settings/update", &["model"], Model),
    field("thread/settings/update", &["collaborationMode", "settings", "model"], Model),
    field("turn/settings/update", &["model"], Model),
    field("thread/realtime/start", &["model"], Model),
    field("thread/start", &["approvalsReviewer"], USER_REVIEWS),
    field("thread/resume", &["approvalsReviewer"], USER_REVIEWS),
    field("thread/fork", &["approvalsReviewer"], USER_REVIEWS),
    field("turn/start", &["approvalsReviewer"], USER_REVIEWS),
    field("thread/settings/update", &["approvalsReviewer"], USER_REVIEWS),
    field("turn/settings/update", &["approvalsReviewer"], USER_REVIEWS),
];

/// Fields whose names mention a model or provider but choose nothing: (method, dotted path, why).
pub const NOT_A_CHOICE: &[(&str, &str, &str)] = &[
    ("thread/list", "modelProviders", "filters the listing"),
    ("externalAgentConfig/import", "providerId", "analytics of an import"),
    ("externalAgentConfig/import/recordHistory", "providerId", "analytics of an import"),
];

/// Requests that write codex configuration: every key written is judged like a `-c` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigWrite {
    /// `{keyPath, value}`
    One,
    /// `{edits: [{keyPath, value}]}`
    Batch,
}

pub const CONFIG_WRITES: &[(&str, ConfigWrite)] =
    &[("config/value/write", ConfigWrite::One), ("config/batchWrite", ConfigWrite::Batch)];

/// File operations that could write codex's configuration files behind the guard's back:
/// (method, the destination path's field).
pub const FILE_WRITES: &[(&str, &str)] = &[("fs/writeFile", "path"), ("fs/copy", "destinationPath")];

/// Requests that open a channel the guard does not sit on, refused in both modes unless the operator
/// allows the subcommand argv refuses for the same reason (`OPENCLAW_ALLOW_UNPINNABLE`):
/// (method, that name). Remote control connects this server to a relay through which paired
/// clients send requests of their own; measured on 0.163.0, `remoteControl/enable` answers
/// `connecting` whether or not the `remote_control` feature was switched on.
pub const UNGUARDED_CHANNELS: &[(&str, &str)] =
    &[("remoteControl/enable", "remote-control"), ("remoteControl/pairing/start", "remote-control")];

/// File names codex reads configuration from (user, profile and admin layers).
fn is_codex_config_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "config.toml" || name.ends_with(".config.toml") || name == "managed_config.toml"
}

/// JSON-RPC error code of a refused message: the code codex itself uses for invalid requests.
pub const REFUSED_CODE: i64 = -32600;
/// JSON-RPC 2.0's parse-error code, for a line that is not JSON (reject mode).
pub const PARSE_ERROR_CODE: i64 = -32700;

/// Whether a (method, dotted path) the schema names is guarded or known not to be a choice.
pub fn handled(method: &str, path: &str) -> bool {
    FIELDS.iter().any(|f| f.method == method && f.path.join(".") == path)
        || NOT_A_CHOICE.iter().any(|(m, p, _)| *m == method && *p == path)
}

/// What to do with one client line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the line exactly as it came.
    Forward,
    /// Forward this line instead (newline included); the attempts were forced.
    Rewrite { line: Vec<u8>, forced: Vec<Attempt> },
    /// Forward nothing; answer the client with `reply` (newline included) when there is one (a
    /// notification gets none).
    Refuse { reply: Option<Vec<u8>>, attempts: Vec<Attempt> },
}

/// Judges one client line (its newline included or not).
pub fn guard_line(line: &[u8], policy: &Policy) -> Verdict {
    let text = trim_line_end(line);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Forward;
    }
    let Ok(mut message) = serde_json::from_slice::<Value>(text) else {
        // codex parses lines with the same JSON grammar: what does not parse here cannot carry a
        // request there (codex logs it and goes on). Force mode keeps the stream as it was.
        return match policy.mode {
            LockMode::Force => Verdict::Forward,
            LockMode::Reject => Verdict::Refuse {
                reply: Some(error_reply(&Value::Null, PARSE_ERROR_CODE, &not_json_message(&policy.model))),
                attempts: vec![attempt("app-server: a line that is not JSON", &String::from_utf8_lossy(text))],
            },
        };
    };
    let Some(method) = message.get("method").and_then(Value::as_str).map(str::to_owned) else {
        return Verdict::Forward; // responses to the server's requests, and anything without a method
    };
    let id = message.get("id").cloned();
    let mut judged = Judged { policy, method: &method, attempts: Vec::new(), unneutralisable: false };
    if let Some((_, allow)) = UNGUARDED_CHANNELS.iter().find(|(m, _)| *m == method) {
        if !policy.allows_unpinnable(allow) {
            let what =
                format!("opens a channel the guard does not sit on; the operator may allow it with {ALLOW_UNPINNABLE_VAR}={allow}");
            judged.attempts.push(attempt(&format!("app-server {method}"), &what));
            judged.unneutralisable = true;
        }
    }
    if let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) {
        judged.params(params);
    }
    if judged.attempts.is_empty() {
        return Verdict::Forward;
    }
    if policy.mode == LockMode::Reject || judged.unneutralisable {
        let text = refusal_message(&policy.model, &judged.attempts);
        let reply = id.map(|id| error_reply(&id, REFUSED_CODE, &text));
        return Verdict::Refuse { reply, attempts: judged.attempts };
    }
    let mut line = serde_json::to_vec(&message).expect("a JSON value serialises");
    line.push(b'\n');
    Verdict::Rewrite { line, forced: judged.attempts }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn attempt(syntax: &str, attempted: &str) -> Attempt {
    Attempt { syntax: syntax.to_owned(), attempted: attempted.to_owned(), level: "app-server".to_owned() }
}

fn error_reply(id: &Value, code: i64, message: &str) -> Vec<u8> {
    let mut reply = serde_json::to_vec(&serde_json::json!({"error": {"code": code, "message": message}, "id": id}))
        .expect("a JSON value serialises");
    reply.push(b'\n');
    reply
}

fn refusal_message(model: &str, attempts: &[Attempt]) -> String {
    let list: Vec<String> = attempts.iter().map(|a| format!("{} {:?}", a.syntax, a.attempted)).collect();
    format!(
        "refused by the OpenClaw model lock: this request chooses the model or where requests go ({}); OpenClaw is pinned to {model:?}: drop those fields (or that request)",
        list.join(", ")
    )
}

fn not_json_message(model: &str) -> String {
    format!("refused by the OpenClaw model lock (pinned to {model:?}): a line that is not JSON; send one JSON object per line")
}

/// The attempts found in one message, neutralising them in place for force mode.
struct Judged<'a> {
    policy: &'a Policy,
    method: &'a str,
    attempts: Vec<Attempt>,
    /// Force mode cannot make this message harmless: it must be refused in both modes.
    unneutralisable: bool,
}

impl Judged<'_> {
    fn syntax(&self, path: &str) -> String {
        format!("app-server {} {path}", self.method)
    }

    fn params(&mut self, params: &mut Map<String, Value>) {
        let method = self.method;
        for field in FIELDS.iter().filter(|f| f.method == method) {
            let syntax = self.syntax(&field.path.join("."));
            let Some(value) = lookup_mut(params, field.path) else { continue };
            match field.kind {
                Model => self.model_value(value, &syntax),
                Provider => {
                    if !value.is_null() {
                        self.attempts.push(attempt(&syntax, &value_text(value)));
                        *value = Value::Null;
                    }
                }
                Only(harmless) => {
                    let harmless = harmless.value();
                    if !value.is_null() && *value != harmless {
                        self.attempts.push(attempt(&syntax, &value_text(value)));
                        *value = harmless;
                    }
                }
                ConfigOverrides => {
                    if let Value::Object(map) = value {
                        self.config_map(map, "", &syntax);
                    } else if !value.is_null() {
                        // Not a map: codex refuses it; nothing to neutralise, so refuse it here too.
                        self.attempts.push(attempt(&syntax, &value_text(value)));
                        self.unneutralisable = true;
                    }
                }
            }
        }
        if let Some((_, write)) = CONFIG_WRITES.iter().find(|(m, _)| *m == self.method) {
            match write {
                ConfigWrite::One => {
                    if !self.config_edit(params) {
                        self.unneutralisable = true;
                    }
                }
                ConfigWrite::Batch => {
                    if let Some(Value::Array(edits)) = params.get_mut("edits") {
                        let before = edits.len();
                        edits.retain_mut(|edit| edit.as_object_mut().is_none_or(|e| self.config_edit(e)));
                        if before > 0 && edits.is_empty() {
                            self.unneutralisable = true;
                        }
                    }
                }
            }
        }
        if let Some((_, key)) = FILE_WRITES.iter().find(|(m, _)| *m == self.method) {
            if let Some(path) = params.get(*key).and_then(Value::as_str).filter(|p| is_codex_config_file(p)) {
                self.attempts.push(attempt(&self.syntax(key), path));
                self.unneutralisable = true;
            }
        }
    }

    fn model_value(&mut self, value: &mut Value, syntax: &str) {
        if value.is_null() || value.as_str() == Some(self.policy.model.as_str()) {
            return;
        }
        self.attempts.push(attempt(syntax, &value_text(value)));
        *value = Value::String(self.policy.model.clone());
    }

    /// One `{keyPath, value}` write. False when nothing of it may be written (force mode drops it).
    fn config_edit(&mut self, edit: &mut Map<String, Value>) -> bool {
        let Some(key_path) = edit.get("keyPath").and_then(Value::as_str).map(str::to_owned) else {
            return true;
        };
        let syntax = self.syntax(&format!("keyPath {key_path}"));
        let Some(value) = edit.get_mut("value") else { return true };
        self.config_value(&key_path, value, &syntax)
    }

    /// A config map's keys, each judged with its dotted prefix; removes what must go.
    fn config_map(&mut self, map: &mut Map<String, Value>, prefix: &str, syntax: &str) {
        map.retain(|key, value| {
            let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            self.config_value(&full, value, syntax)
        });
    }

    /// One config key and its value; false when the key must be removed.
    fn config_value(&mut self, key: &str, value: &mut Value, syntax: &str) -> bool {
        if let Value::Object(inner) = value {
            if grammar::is_table_above_config_keys(key) {
                self.config_map(inner, key, syntax); // `features`, `memories`, `apps.x`: key by key
                return true;
            }
        }
        let described = || format!("{key}={}", value_text(value));
        match grammar::classify_config_key(key) {
            None => {
                if let Value::Object(inner) = value {
                    self.config_map(inner, key, syntax);
                }
                true
            }
            Some(KeyValue::ModelName) => {
                if value.as_str() != Some(self.policy.model.as_str()) {
                    self.attempts.push(attempt(syntax, &described()));
                    *value = Value::String(self.policy.model.clone());
                }
                true
            }
            Some(KeyValue::FeatureOff) => {
                if *value != Value::Bool(false) {
                    self.attempts.push(attempt(syntax, &described()));
                    *value = Value::Bool(false);
                }
                true
            }
            Some(KeyValue::Never) => {
                self.attempts.push(attempt(syntax, &described()));
                false
            }
            Some(KeyValue::Only(harmless)) => {
                if value.as_str() != Some(harmless) {
                    self.attempts.push(attempt(syntax, &described()));
                    *value = Value::String(harmless.to_owned());
                }
                true
            }
        }
    }
}

fn lookup_mut<'v>(params: &'v mut Map<String, Value>, path: &[&str]) -> Option<&'v mut Value> {
    let (first, rest) = path.split_first()?;
    let mut value = params.get_mut(*first)?;
    for key in rest {
        value = value.as_object_mut()?.get_mut(*key)?;
    }
    Some(value)
}

/// A value as the audit trail shows it: strings bare, anything else as JSON (at most 200 bytes).
fn value_text(value: &Value) -> String {
    let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PIN: &str = "gpt-pin";

    fn policy(mode: LockMode) -> Policy {
        Policy { model: PIN.to_owned(), mode, allow_unpinnable: vec![] }
    }

    fn line(value: Value) -> Vec<u8> {
        let mut line = serde_json::to_vec(&value).unwrap();
        line.push(b'\n');
        line
    }

    fn forced(value: Value) -> (Value, Vec<String>) {
        match guard_line(&line(value), &policy(LockMode::Force)) {
            Verdict::Rewrite { line, forced } => {
                assert!(line.ends_with(b"\n"));
                (serde_json::from_slice(&line).unwrap(), forced.into_iter().map(|a| a.syntax).collect())
            }
            other => panic!("expected a rewrite, got {other:?}"),
        }
    }

    fn refused(mode: LockMode, value: Value) -> (Option<Value>, Vec<String>) {
        match guard_line(&line(value), &policy(mode)) {
            Verdict::Refuse { reply, attempts } => (
                reply.map(|r| serde_json::from_slice(&r).unwrap()),
                attempts.into_iter().map(|a| a.attempted).collect(),
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn messages_without_a_choice_pass_byte_exact() {
        for text in [
            &b"{\"id\":1,\"method\":\"initialize\",\"params\":{\"clientInfo\":{\"name\":\"x\",\"version\":\"1\"}}}\n"[..],
            b"{\"method\":\"initialized\"}\r\n",
            b"{ \"id\" : 2 , \"method\":\"thread/start\",\"params\":{\"model\":\"gpt-pin\",\"cwd\":\"/x\"}}\n",
            b"{\"id\":0,\"result\":{\"decision\":\"accept\"}}\n",
            b"{\"id\":3,\"method\":\"thread/start\",\"params\":{\"model\":null,\"config\":{\"model_reasoning_effort\":\"high\"}}}",
            b"\n",
            b"   \n",
        ] {
            for mode in [LockMode::Force, LockMode::Reject] {
                assert_eq!(guard_line(text, &policy(mode)), Verdict::Forward, "{}", String::from_utf8_lossy(text));
            }
        }
    }

    #[test]
    fn force_pins_every_model_field() {
        let (msg, syntaxes) =
            forced(json!({"id": 2, "method": "thread/start", "params": {"model": "gpt-4o", "cwd": "/w"}}));
        assert_eq!(msg, json!({"id": 2, "method": "thread/start", "params": {"model": PIN, "cwd": "/w"}}));
        assert_eq!(syntaxes, ["app-server thread/start model"]);
        let (msg, _) =
            forced(json!({"id": 3, "method": "turn/start", "params": {"threadId": "t", "input": [], "model": "o",
            "collaborationMode": {"mode": "default", "settings": {"model": "c"}}}}));
        assert_eq!(msg["params"]["model"], PIN);
        assert_eq!(msg["params"]["collaborationMode"]["settings"]["model"], PIN);
        for method in
            ["thread/resume", "thread/fork", "thread/settings/update", "turn/settings/update", "thread/realtime/start"]
        {
            let (msg, _) = forced(json!({"id": "s", "method": method, "params": {"threadId": "t", "model": "o"}}));
            assert_eq!(msg["params"]["model"], PIN, "{method}");
        }
    }

    #[test]
    fn the_approvals_reviewer_stays_the_user() {
        let (msg, syntaxes) =
            forced(json!({"id": 1, "method": "thread/start", "params": {"approvalPolicy": "on-request",
            "approvalsReviewer": "auto_review", "config": {"approvals_reviewer": "guardian_subagent"}}}));
        assert_eq!(msg["params"]["approvalsReviewer"], "user");
        assert_eq!(msg["params"]["config"]["approvals_reviewer"], "user");
        assert_eq!(msg["params"]["approvalPolicy"], "on-request", "the policy itself is the caller's");
        assert_eq!(syntaxes, ["app-server thread/start config", "app-server thread/start approvalsReviewer"]);
        for method in ["thread/resume", "thread/fork", "turn/start", "thread/settings/update", "turn/settings/update"] {
            let (msg, _) = forced(json!({"id": 2, "method": method, "params": {"approvalsReviewer": "auto_review"}}));
            assert_eq!(msg["params"]["approvalsReviewer"], "user", "{method}");
        }
        let (reply, attempts) = refused(
            LockMode::Reject,
            json!({"id": 3, "method": "turn/start", "params": {"approvalsReviewer": "auto_review"}}),
        );
        assert_eq!(reply.unwrap()["error"]["code"], REFUSED_CODE);
        assert_eq!(attempts, ["auto_review"]);
        let user = json!({"id": 4, "method": "thread/start", "params": {"approvalsReviewer": "user"}});
        assert_eq!(guard_line(&line(user), &policy(LockMode::Reject)), Verdict::Forward);
    }

    #[test]
    fn remote_control_is_refused_in_both_modes_unless_allowed() {
        for mode in [LockMode::Force, LockMode::Reject] {
            for method in ["remoteControl/enable", "remoteControl/pairing/start"] {
                let (reply, attempts) = refused(mode, json!({"id": 7, "method": method, "params": {}}));
                let reply = reply.unwrap();
                assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (json!(7), json!(REFUSED_CODE)));
                assert!(attempts[0].contains("OPENCLAW_ALLOW_UNPINNABLE=remote-control"), "{attempts:?}");
            }
        }
        let status = json!({"id": 8, "method": "remoteControl/status/read", "params": {}});
        assert_eq!(guard_line(&line(status), &policy(LockMode::Reject)), Verdict::Forward);
        let allowed = Policy { allow_unpinnable: vec!["remote-control".to_owned()], ..policy(LockMode::Reject) };
        let enable = json!({"id": 9, "method": "remoteControl/enable"});
        assert_eq!(guard_line(&line(enable), &allowed), Verdict::Forward);
    }

    #[test]
    fn notifications_are_guarded_too() {
        let (msg, _) = forced(json!({"method": "turn/start", "params": {"model": "o"}}));
        assert_eq!(msg["params"]["model"], PIN);
        let (reply, attempts) = refused(LockMode::Reject, json!({"method": "turn/start", "params": {"model": "o"}}));
        assert_eq!((reply, attempts), (None, vec!["o".to_owned()]));
    }

    #[test]
    fn force_clears_providers_and_neutralises_config_maps() {
        let (msg, syntaxes) = forced(json!({"id": 1, "method": "thread/start", "params": {
            "modelProvider": "evil", "allowProviderModelFallback": true,
            "config": {"model": "x", "review_model": "y", "model_provider": "evil",
                "model_providers": {"evil": {"base_url": "http://e"}}, "features.multi_agent_v2": true,
                "memories": {"extract_model": "z", "enabled": true}, "model_reasoning_effort": "high",
                "sandbox_workspace_write": {"network_access": true}}}}));
        assert_eq!(
            msg["params"],
            json!({"modelProvider": null, "allowProviderModelFallback": false,
                "config": {"model": PIN, "review_model": PIN, "features.multi_agent_v2": false,
                    "memories": {"extract_model": PIN, "enabled": true},
                    "model_reasoning_effort": "high", "sandbox_workspace_write": {"network_access": true}}})
        );
        assert_eq!(syntaxes.len(), 8, "{syntaxes:?}");
    }

    #[test]
    fn nested_config_tables_are_judged_by_their_dotted_keys() {
        let (msg, _) = forced(
            json!({"id": 1, "method": "thread/fork", "params": {"config": {"agents": {"max_depth": 3}, "tools": {"web_search": true}}}}),
        );
        assert_eq!(msg["params"]["config"], json!({"tools": {"web_search": true}}));
        // A table above guarded keys keeps what it holds besides them.
        let (msg, _) = forced(json!({"id": 2, "method": "thread/start", "params": {"config": {
            "features": {"multi_agent": true, "web_search": true},
            "apps": {"github": {"enabled": true, "approvals_reviewer": "auto_review"}}}}}));
        assert_eq!(
            msg["params"]["config"],
            json!({"features": {"multi_agent": false, "web_search": true},
                "apps": {"github": {"enabled": true, "approvals_reviewer": "user"}}})
        );
    }

    #[test]
    fn config_writes() {
        let write = |key: &str, value: Value| json!({"id": 7, "method": "config/value/write", "params": {"keyPath": key, "value": value, "mergeStrategy": "replace"}});
        let (msg, _) = forced(write("model", json!("gpt-4o")));
        assert_eq!(msg["params"]["value"], PIN);
        assert_eq!(guard_line(&line(write("model", json!(PIN))), &policy(LockMode::Reject)), Verdict::Forward);
        assert_eq!(
            guard_line(&line(write("approval_policy", json!("never"))), &policy(LockMode::Force)),
            Verdict::Forward
        );
        // A provider key cannot be neutralised: refused in both modes, with the codex error shape.
        for mode in [LockMode::Force, LockMode::Reject] {
            let (reply, attempts) = refused(mode, write("model_providers.openai.base_url", json!("http://e")));
            let reply = reply.unwrap();
            assert_eq!(reply["id"], 7);
            assert_eq!(reply["error"]["code"], REFUSED_CODE);
            assert!(reply["error"]["message"].as_str().unwrap().contains(PIN));
            assert_eq!(attempts, ["model_providers.openai.base_url=http://e"]);
        }
        // A table written whole (here the root) is judged key by key.
        let (msg, _) = forced(write("", json!({"model": "o", "approval_policy": "never"})));
        assert_eq!(msg["params"]["value"], json!({"model": PIN, "approval_policy": "never"}));
    }

    #[test]
    fn batch_writes_lose_their_provider_edits_and_an_all_provider_batch_is_refused() {
        let batch = |edits: Value| json!({"id": 8, "method": "config/batchWrite", "params": {"edits": edits}});
        let (msg, _) = forced(batch(json!([{"keyPath": "model", "value": "o", "mergeStrategy": "replace"},
            {"keyPath": "openai_base_url", "value": "http://e", "mergeStrategy": "replace"},
            {"keyPath": "approval_policy", "value": "never", "mergeStrategy": "replace"}])));
        assert_eq!(
            msg["params"]["edits"],
            json!([{"keyPath": "model", "value": PIN, "mergeStrategy": "replace"},
            {"keyPath": "approval_policy", "value": "never", "mergeStrategy": "replace"}])
        );
        let (reply, _) =
            refused(LockMode::Force, batch(json!([{"keyPath": "profile", "value": "p", "mergeStrategy": "replace"}])));
        assert_eq!(reply.unwrap()["id"], 8);
    }

    #[test]
    fn file_writes_into_codex_configuration_are_refused() {
        for (method, key) in FILE_WRITES {
            for path in ["/root/.codex/config.toml", "/h/.codex/work.config.toml", "/etc/codex/managed_config.toml"] {
                let (reply, _) = refused(
                    LockMode::Force,
                    json!({"id": 9, "method": method, "params": {*key: path, "dataBase64": ""}}),
                );
                assert_eq!(reply.unwrap()["id"], 9);
            }
            let other = json!({"id": 9, "method": method, "params": {*key: "/w/notes.toml", "dataBase64": ""}});
            assert_eq!(guard_line(&line(other), &policy(LockMode::Reject)), Verdict::Forward);
        }
    }

    #[test]
    fn reject_answers_with_the_codex_error_shape_and_keeps_the_id_type() {
        let (reply, attempts) =
            refused(LockMode::Reject, json!({"id": "abc", "method": "thread/start", "params": {"model": "o"}}));
        let reply = reply.unwrap();
        assert_eq!(reply["id"], "abc");
        assert_eq!(reply["error"]["code"], -32600);
        assert!(reply.get("jsonrpc").is_none());
        assert_eq!(attempts, ["o"]);
    }

    #[test]
    fn lines_that_are_not_json() {
        for text in
            [&b"not json\n"[..], b"{\"id\":1,\"method\":\"thread/start\",\"params\":{\"model\":\"o\"}\n", b"\xff\xfe\n"]
        {
            assert_eq!(guard_line(text, &policy(LockMode::Force)), Verdict::Forward);
            match guard_line(text, &policy(LockMode::Reject)) {
                Verdict::Refuse { reply: Some(reply), .. } => {
                    let reply: Value = serde_json::from_slice(&reply).unwrap();
                    assert_eq!(
                        (reply["id"].clone(), reply["error"]["code"].clone()),
                        (Value::Null, json!(PARSE_ERROR_CODE))
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn every_guarded_method_and_path_is_handled() {
        assert!(handled("thread/start", "model"));
        assert!(handled("turn/start", "collaborationMode.settings.model"));
        assert!(handled("thread/list", "modelProviders"));
        assert!(!handled("thread/start", "modelx"));
    }
}
