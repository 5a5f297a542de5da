//! The app-server judgement: which JSON-RPC client messages choose a model or where requests
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
//! by the argv rule (`config_keys::classify_config_key`): model keys get the pin, sub-agent feature
//! flags `false`, provider/endpoint/profile keys are removed. A configuration write that is nothing
//! but such keys, and any file write into codex's configuration files, cannot be neutralised and is
//! answered with an error in both modes. Reject mode answers every attempt with an error and
//! forwards nothing of that message. Everything else passes byte-exact.
//!
//! Beyond single fields (issue 16): a request that loads a stored thread always carries the pin
//! (codex otherwise restores the model and provider the rollout recorded); file operations are
//! judged on the path codex will touch (normalised as codex does, symlinks resolved), not on its
//! last component; a line with a duplicate key is refused (the guard must never read a line
//! differently from codex); and the approvals reviewer is left to the model gate when it is
//! deployed (`gate::deployed`), else kept from running on another model without dropping the review
//! the caller asked for (`Verdict::Rewrite::deny_approvals`).

use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::pin::attempt::{self, Attempt, Level};
use crate::pin::config_keys::{self, ConfigValue, Forced, Judgement, USER_REVIEWER};
use crate::pin::policy::{LockMode, Policy, ALLOW_UNPINNABLE_VAR};

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
    /// `approvalsReviewer`: anything but the user is an automatic reviewer on a model of the
    /// provider's choosing — left alone when the model gate pins the reviewer's requests on the
    /// wire; without the gate forced to the user (force mode, the escalations then denied by the
    /// relay, never handed to the client) or an attempt (reject mode).
    Reviewer,
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
/// for `approvals_reviewer`), unless the model gate is deployed.
const USER_REVIEWS: FieldKind = Reviewer;

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

/// Requests that load a stored thread: codex restores the model *and provider* its rollout recorded
/// unless the request names a model (measured on 0.163.0: `thread/resume` of a thread recorded on
/// another model and provider ran there; with `model` set it ran on the pin and the configured
/// provider). So the guard inserts the pin when the client names none — in both modes, and not an
/// attempt. No other method loads a stored thread: `turn/start`, `review/start`,
/// `thread/compact/start`, `thread/shellCommand`, `thread/inject_items`, `thread/realtime/start`,
/// `thread/revert`, `thread/settings/update` answer "thread not found", `thread/queue/start`
/// "resume the thread before starting a queued message" (shim-tests/app_server.rs measures it).
pub const PIN_WHEN_ABSENT: &[&str] = &["thread/resume", "thread/fork"];

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

/// What a file operation does to the path in one of its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathEffect {
    /// Creates or replaces the file at the path (through a symlink, measured).
    Replaces,
    /// Removes the path and, for a directory, everything under it.
    Removes,
    /// A copy's source: a directory copied recursively brings every config file under it to the
    /// destination (measured: `fs/copy` of a tree holding `config.toml` creates it there).
    CopiedFrom,
}

/// Every file operation of the 0.163.0 schema that can create, replace, move or delete a file:
/// (method, the path's field, its effect). The schema has no rename; `fs/readFile`,
/// `fs/getMetadata`, `fs/readDirectory`, `fs/watch` only read.
pub const FILE_OPERATIONS: &[(&str, &str, PathEffect)] = &[
    ("fs/writeFile", "path", PathEffect::Replaces),
    ("fs/copy", "destinationPath", PathEffect::Replaces),
    ("fs/copy", "sourcePath", PathEffect::CopiedFrom),
    ("fs/remove", "path", PathEffect::Removes),
    // A directory where a config file belongs hides it (or replaces one just removed).
    ("fs/createDirectory", "path", PathEffect::Replaces),
];

/// The destination fields of `FILE_OPERATIONS` that replace a file (kept for the schema check and
/// older callers).
pub const FILE_WRITES: &[(&str, &str)] = &[("fs/writeFile", "path"), ("fs/copy", "destinationPath")];

/// `externalAgentConfig/import` migration items that write codex's `config.toml` from another
/// agent's settings: refused in both modes (a migrated file is nothing the guard can judge key by
/// key). Other items (skills, AGENTS.md, sessions, …) pass; imported sessions resume pinned.
pub const IMPORTS_REFUSED: &[&str] = &["CONFIG"];

/// Server→client requests that put an escalation to the client, and the answer that denies it:
/// (method, the response's `result`). The relay answers them itself when a review the caller asked
/// for could not run (no model gate): a client may approve everything (the Python SDK's default
/// handler does).
pub const APPROVAL_REQUESTS: &[(&str, &str)] = &[
    ("item/commandExecution/requestApproval", r#"{"decision":"decline"}"#),
    ("item/fileChange/requestApproval", r#"{"decision":"decline"}"#),
    ("item/permissions/requestApproval", r#"{"permissions":{}}"#),
    ("execCommandApproval", r#"{"decision":"denied"}"#),
    ("applyPatchApproval", r#"{"decision":"denied"}"#),
];

/// Requests that open a channel the guard does not sit on, refused in both modes unless the operator
/// allows the subcommand argv refuses for the same reason (`OPENCLAW_ALLOW_UNPINNABLE`):
/// (method, that name). Remote control connects this server to a relay through which paired
/// clients send requests of their own; measured on 0.163.0, `remoteControl/enable` answers
/// `connecting` whether or not the `remote_control` feature was switched on.
pub const UNGUARDED_CHANNELS: &[(&str, &str)] =
    &[("remoteControl/enable", "remote-control"), ("remoteControl/pairing/start", "remote-control")];

/// File names codex reads configuration from (user, profile and admin layers, and the requirements
/// the model gate is deployed with).
fn is_codex_config_name(name: &str) -> bool {
    name == "config.toml"
        || name.ends_with(".config.toml")
        || name == "managed_config.toml"
        || name == "requirements.toml"
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
    /// Forward this line instead (newline included). `forced` lists the attempts forced (empty when
    /// the guard only added the pin, e.g. to a `thread/resume` that named no model);
    /// `deny_approvals`: an automatic review the caller asked for cannot run (no model gate), so
    /// escalations must be denied from now on rather than handed to the client.
    Rewrite { line: Vec<u8>, forced: Vec<Attempt>, deny_approvals: bool },
    /// Forward nothing; answer the client with `reply` (newline included) when there is one (a
    /// notification gets none).
    Refuse { reply: Option<Vec<u8>>, attempts: Vec<Attempt> },
}

/// What the guard knows beyond the policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The model gate is deployed (`gate::deployed`): it pins the automatic
    /// reviewer's requests on the wire, so the reviewer the caller asked for can stay.
    pub gate_deployed: bool,
}

/// Judges one client line (its newline included or not), without the model gate.
pub fn judge_line(line: &[u8], policy: &Policy) -> Verdict {
    judge_line_in(line, policy, Context::default())
}

/// Judges one client line (its newline included or not).
pub fn judge_line_in(line: &[u8], policy: &Policy, context: Context) -> Verdict {
    let text = trim_line_end(line);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Forward;
    }
    let mut message = match parse_strict(text) {
        Ok(message) => message,
        Err(Unreadable::Duplicate { key, id }) => {
            // Measured on 0.163.0: codex drops a line with a duplicate top-level key unanswered and
            // reads a duplicate inside `params` last-wins, but serde's flattened and typed fields
            // may read another one. One rule keeps the guard from ever judging a reading codex
            // does not act on: such a line is refused, in both modes.
            let what = format!("a duplicate key {key:?}");
            return Verdict::Refuse {
                reply: id.map(|id| error_reply(&id, REFUSED_CODE, &duplicate_message(&policy.model, &key))),
                attempts: vec![attempt("app-server: a line with a duplicate key", &what)],
            };
        }
        // codex parses lines with the same JSON grammar: what does not parse here cannot carry a
        // request there (codex logs it and goes on). Force mode keeps the stream as it was.
        Err(Unreadable::NotJson) => {
            return match policy.mode {
                LockMode::Force => Verdict::Forward,
                LockMode::Reject => Verdict::Refuse {
                    reply: Some(error_reply(&Value::Null, PARSE_ERROR_CODE, &not_json_message(&policy.model))),
                    attempts: vec![attempt("app-server: a line that is not JSON", &String::from_utf8_lossy(text))],
                },
            };
        }
    };
    let Some(method) = message.get("method").and_then(Value::as_str).map(str::to_owned) else {
        return Verdict::Forward; // responses to the server's requests, and anything without a method
    };
    let id = message.get("id").cloned();
    let mut judged = Judged {
        policy,
        context,
        method: &method,
        attempts: Vec::new(),
        unneutralisable: false,
        pinned: false,
        review_lost: false,
        hint: None,
    };
    if let Some((_, allow)) = UNGUARDED_CHANNELS.iter().find(|(m, _)| *m == method) {
        if !policy.allows_unpinnable(allow) {
            let what =
                format!("opens a channel the guard does not sit on; the operator may allow it with {ALLOW_UNPINNABLE_VAR}={allow}");
            judged.attempts.push(attempt(&format!("app-server {method}"), &what));
            judged.unneutralisable = true;
        }
    }
    if PIN_WHEN_ABSENT.contains(&method.as_str()) {
        if let Some(Value::Object(params)) = message.get_mut("params") {
            judged.pin_when_absent(params);
        }
    }
    if let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) {
        judged.params(params);
    }
    if judged.attempts.is_empty() && !judged.pinned {
        return Verdict::Forward;
    }
    if !judged.attempts.is_empty() && (policy.mode == LockMode::Reject || judged.unneutralisable) {
        let mut text = refusal_message(&policy.model, &judged.attempts);
        if let Some(hint) = judged.hint {
            text.push_str(hint);
        }
        let reply = id.map(|id| error_reply(&id, REFUSED_CODE, &text));
        return Verdict::Refuse { reply, attempts: judged.attempts };
    }
    let mut line = serde_json::to_vec(&message).expect("a JSON value serialises");
    line.push(b'\n');
    Verdict::Rewrite { line, forced: judged.attempts, deny_approvals: judged.review_lost }
}

/// Why a line has no single reading.
#[derive(Debug)]
enum Unreadable {
    NotJson,
    /// A key twice in one object (`key`); `id`: the request's, when the line has exactly one.
    Duplicate {
        key: String,
        id: Option<Value>,
    },
}

/// The prefix of the deserialisation error `Strict` raises on a duplicate key.
const DUPLICATE: &str = "duplicate key ";

/// Parses one line as serde_json does, failing on a key that appears twice in one object.
fn parse_strict(text: &[u8]) -> Result<Value, Unreadable> {
    match serde_json::from_slice::<Strict>(text) {
        Ok(Strict(value)) => Ok(value),
        Err(error) => {
            let message = error.to_string();
            let Some(rest) = message.strip_prefix(DUPLICATE) else { return Err(Unreadable::NotJson) };
            let key = serde_json::Deserializer::from_str(rest).into_iter::<String>().next().and_then(Result::ok);
            let key = key.unwrap_or_default();
            // A line broken further on is no JSON at all, as for codex. The reply keeps the id:
            // last-wins finds it, unless `id` itself is the duplicate (then null, as for a parse
            // error); a notification gets none.
            let id = match serde_json::from_slice::<Value>(text) {
                Err(_) => return Err(Unreadable::NotJson),
                Ok(Value::Object(map)) if key != "id" => map.get("id").cloned(),
                Ok(_) => Some(Value::Null),
            };
            Err(Unreadable::Duplicate { key, id })
        }
    }
}

/// A JSON value built as `serde_json::Value` builds it, except that a duplicate key is an error.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let quoted = Value::String(key).to_string();
                return Err(serde::de::Error::custom(format!("{DUPLICATE}{quoted}")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn attempt(syntax: &str, attempted: &str) -> Attempt {
    Attempt::new(syntax, attempted, Level::AppServer)
}

fn error_reply(id: &Value, code: i64, message: &str) -> Vec<u8> {
    let mut reply = serde_json::to_vec(&serde_json::json!({"error": {"code": code, "message": message}, "id": id}))
        .expect("a JSON value serialises");
    reply.push(b'\n');
    reply
}

fn refusal_message(model: &str, attempts: &[Attempt]) -> String {
    format!(
        "refused by the OpenClaw model lock: this request chooses the model or where requests go ({}); OpenClaw is pinned to {model:?}: drop those fields (or that request)",
        attempt::list(attempts)
    )
}

/// Appended to a refusal of `auto_review` (no model gate): what the caller can pass instead.
const REVIEWER_HINT: &str = "; without the OpenClaw model gate the automatic reviewer (auto_review) would run on a model of the provider's choosing: pass approvalsReviewer \"user\" (or none), or with the Python SDK approval_mode=ApprovalMode.deny_all";

fn duplicate_message(model: &str, key: &str) -> String {
    format!("refused by the OpenClaw model lock (pinned to {model:?}): the key {key:?} appears twice in one object, which codex and the lock could read differently; send each key once")
}

fn not_json_message(model: &str) -> String {
    format!("refused by the OpenClaw model lock (pinned to {model:?}): a line that is not JSON; send one JSON object per line")
}

/// The attempts found in one message, neutralising them in place for force mode.
struct Judged<'a> {
    policy: &'a Policy,
    context: Context,
    method: &'a str,
    attempts: Vec<Attempt>,
    /// Force mode cannot make this message harmless: it must be refused in both modes.
    unneutralisable: bool,
    /// The pin was added where the client named no model (not an attempt).
    pinned: bool,
    /// An automatic reviewer the caller asked for was turned into the user (no model gate).
    review_lost: bool,
    /// Appended to a refusal: what to pass instead.
    hint: Option<&'static str>,
}

impl Judged<'_> {
    fn syntax(&self, path: &str) -> String {
        format!("app-server {} {path}", self.method)
    }

    /// A request that loads a stored thread names the pin when it names no model.
    fn pin_when_absent(&mut self, params: &mut Map<String, Value>) {
        if params.get("model").is_none_or(Value::is_null) {
            params.insert("model".to_owned(), Value::String(self.policy.model.clone()));
            self.pinned = true;
        }
    }

    /// An automatic reviewer asked for (`value`, not the user): left alone with the gate; without
    /// it an attempt, forced to the user with the escalations denied. False when left alone.
    fn reviewer(&mut self, value: &Value, syntax: &str, described: impl FnOnce() -> String) -> bool {
        if value.is_null() || value.as_str() == Some(USER_REVIEWER) || self.context.gate_deployed {
            return false;
        }
        self.attempts.push(attempt(syntax, &described()));
        self.review_lost = true;
        self.hint = Some(REVIEWER_HINT);
        true
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
                Reviewer => {
                    if self.reviewer(value, &syntax, || value_text(value)) {
                        *value = Value::String(USER_REVIEWER.to_owned());
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
        for (_, key, effect) in FILE_OPERATIONS.iter().filter(|(m, _, _)| *m == self.method) {
            if let Some(path) = params.get(*key).and_then(Value::as_str) {
                if let Some(config) = touched_config_file(Path::new(path), *effect) {
                    let what = if Path::new(path) == config {
                        path.to_owned()
                    } else {
                        format!("{path} ({})", config.display())
                    };
                    self.attempts.push(attempt(&self.syntax(key), &what));
                    self.unneutralisable = true;
                }
            }
        }
        if self.method == "externalAgentConfig/import" {
            let items = params.get("migrationItems").and_then(Value::as_array).into_iter().flatten();
            for kind in items.filter_map(|item| item.get("itemType").and_then(Value::as_str)) {
                if IMPORTS_REFUSED.contains(&kind) {
                    self.attempts.push(attempt(&self.syntax("migrationItems.itemType"), kind));
                    self.unneutralisable = true;
                }
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
            if config_keys::is_table_above_config_keys(key) {
                self.config_map(inner, key, syntax); // `features`, `memories`, `apps.x`: key by key
                return true;
            }
        }
        let described = || format!("{key}={}", value_text(value));
        match config_keys::judge(key, ConfigValue::Json(value), &self.policy.model) {
            Judgement::Unrelated => {
                if let Value::Object(inner) = value {
                    self.config_map(inner, key, syntax);
                }
                true
            }
            Judgement::Harmless => true,
            Judgement::Remove => {
                self.attempts.push(attempt(syntax, &described()));
                false
            }
            Judgement::Force(Forced::Text(USER_REVIEWER)) => {
                if self.reviewer(value, syntax, described) {
                    *value = Value::String(USER_REVIEWER.to_owned());
                }
                true
            }
            Judgement::Force(forced) => {
                self.attempts.push(attempt(syntax, &described()));
                *value = forced.json(&self.policy.model);
                true
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Paths of file operations: the one part of the guard that reads the filesystem (codex's, the
// guard being its parent in the same mount namespace and working directory).
// ------------------------------------------------------------------------------------------------

/// How many entries of a directory tree the guard looks through for config files before it gives
/// up and refuses the operation (a tree it cannot judge is treated as holding one).
const TREE_LIMIT: usize = 20_000;
/// Symlinks followed while resolving one path (Linux's own limit is 40).
const SYMLINK_LIMIT: usize = 40;

/// The Codex config file an operation with `effect` on `path` would create, replace or remove, if
/// any: `path` as codex resolves it (lexically, measured: `config.toml/`, `config.toml/.` and
/// `config.toml/x/..` all wrote `config.toml`), then as the kernel does (symlinks, measured: a
/// write to a link, or under a linked parent, lands on the target); for a removal or a copied
/// source, any config file in the tree below.
pub fn touched_config_file(path: &Path, effect: PathEffect) -> Option<PathBuf> {
    let lexical = normalise(path);
    let resolved = resolve(&lexical);
    if effect != PathEffect::CopiedFrom {
        for candidate in [&lexical, &resolved] {
            if candidate.file_name().and_then(|n| n.to_str()).is_some_and(is_codex_config_name) {
                return Some(candidate.clone());
            }
        }
    }
    if effect == PathEffect::Replaces {
        return None;
    }
    config_file_below(&resolved)
}

/// `path` made absolute (against the working directory codex shares) with `.`, `..` and repeated
/// or trailing separators folded away without touching the filesystem, as codex's
/// `AbsolutePathBuf` does.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    let base = if path.is_absolute() { None } else { std::env::current_dir().ok() };
    for component in base.iter().flat_map(|b| b.components()).chain(path.components()) {
        match component {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// A normalised absolute path with every symlink resolved, the last component's too, whether or
/// not the path exists (a dangling link still leads where a write would create the file).
fn resolve(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..SYMLINK_LIMIT {
        if let Ok(real) = std::fs::canonicalize(&path) {
            return real;
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else { return path };
        let parent = resolve(parent);
        let here = parent.join(name);
        match std::fs::read_link(&here) {
            Ok(target) => path = normalise(&parent.join(target)),
            Err(_) => return here,
        }
    }
    path
}

/// A config file anywhere in the tree at `dir` (symlinks inside it are not followed: a removal
/// takes the link, a copy copies it as a link); the directory itself when it is too large to judge.
fn config_file_below(dir: &Path) -> Option<PathBuf> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(next) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&next) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > TREE_LIMIT {
                return Some(dir.to_path_buf());
            }
            let path = entry.path();
            if entry.file_name().to_str().is_some_and(is_codex_config_name) {
                return Some(path);
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            }
        }
    }
    None
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
        match judge_line(&line(value), &policy(LockMode::Force)) {
            Verdict::Rewrite { line, forced, .. } => {
                assert!(line.ends_with(b"\n"));
                (serde_json::from_slice(&line).unwrap(), forced.into_iter().map(|a| a.syntax).collect())
            }
            other => panic!("expected a rewrite, got {other:?}"),
        }
    }

    fn refused(mode: LockMode, value: Value) -> (Option<Value>, Vec<String>) {
        match judge_line(&line(value), &policy(mode)) {
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
                assert_eq!(judge_line(text, &policy(mode)), Verdict::Forward, "{}", String::from_utf8_lossy(text));
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
        assert_eq!(judge_line(&line(user), &policy(LockMode::Reject)), Verdict::Forward);
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
        assert_eq!(judge_line(&line(status), &policy(LockMode::Reject)), Verdict::Forward);
        let allowed = Policy { allow_unpinnable: vec!["remote-control".to_owned()], ..policy(LockMode::Reject) };
        let enable = json!({"id": 9, "method": "remoteControl/enable"});
        assert_eq!(judge_line(&line(enable), &allowed), Verdict::Forward);
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
        assert_eq!(judge_line(&line(write("model", json!(PIN))), &policy(LockMode::Reject)), Verdict::Forward);
        assert_eq!(
            judge_line(&line(write("approval_policy", json!("never"))), &policy(LockMode::Force)),
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
            assert_eq!(judge_line(&line(other), &policy(LockMode::Reject)), Verdict::Forward);
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
            assert_eq!(judge_line(text, &policy(LockMode::Force)), Verdict::Forward);
            match judge_line(text, &policy(LockMode::Reject)) {
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

    fn gated(mode: LockMode, value: Value) -> Verdict {
        judge_line_in(&line(value), &policy(mode), Context { gate_deployed: true })
    }

    #[test]
    fn a_stored_thread_is_always_loaded_on_the_pin() {
        for mode in [LockMode::Force, LockMode::Reject] {
            for method in PIN_WHEN_ABSENT {
                for params in [json!({"threadId": "t"}), json!({"threadId": "t", "model": null, "path": "/r.jsonl"})] {
                    let sent = json!({"id": 1, "method": method, "params": params});
                    match judge_line(&line(sent.clone()), &policy(mode)) {
                        Verdict::Rewrite { line, forced, deny_approvals } => {
                            let got: Value = serde_json::from_slice(&line).unwrap();
                            let mut expected = sent.clone();
                            expected["params"]["model"] = json!(PIN);
                            assert_eq!(got, expected, "{method} {mode:?}");
                            assert!(forced.is_empty() && !deny_approvals, "naming no model is no attempt");
                        }
                        other => panic!("{method} {mode:?}: {other:?}"),
                    }
                }
                let named = json!({"id": 2, "method": method, "params": {"threadId": "t", "model": PIN}});
                assert_eq!(judge_line(&line(named), &policy(mode)), Verdict::Forward);
            }
            // Another model named there is an attempt as before.
            let other = json!({"id": 3, "method": "thread/resume", "params": {"threadId": "t", "model": "o"}});
            assert!(!matches!(judge_line(&line(other), &policy(mode)), Verdict::Forward));
        }
        // Methods that never load a stored thread are left as they are.
        let turn = json!({"id": 4, "method": "turn/start", "params": {"threadId": "t", "input": []}});
        assert_eq!(judge_line(&line(turn), &policy(LockMode::Force)), Verdict::Forward);
    }

    #[test]
    fn a_line_with_a_duplicate_key_is_refused_in_both_modes() {
        for mode in [LockMode::Force, LockMode::Reject] {
            for (text, id, key) in [
                (
                    &br#"{"id":1,"method":"thread/start","params":{"model":"o"},"method":"thread/list"}"#[..],
                    json!(1),
                    "method",
                ),
                (
                    br#"{"id":"a","method":"thread/start","params":{"model":"o","model":"gpt-pin"}}"#,
                    json!("a"),
                    "model",
                ),
                (
                    br#"{"id":2,"method":"thread/start","params":{"config":{"x":[{"model":1,"model":2}]}}}"#,
                    json!(2),
                    "model",
                ),
                (br#"{"id":3,"id":4,"method":"thread/start","params":{}}"#, Value::Null, "id"),
            ] {
                match judge_line(text, &policy(mode)) {
                    Verdict::Refuse { reply: Some(reply), attempts } => {
                        let reply: Value = serde_json::from_slice(&reply).unwrap();
                        assert_eq!(reply["id"], id, "{}", String::from_utf8_lossy(text));
                        assert_eq!(reply["error"]["code"], REFUSED_CODE);
                        let message = reply["error"]["message"].as_str().unwrap();
                        assert!(message.contains(&format!("{key:?} appears twice")), "{message}");
                        assert_eq!(attempts.len(), 1);
                    }
                    other => panic!("{mode:?} {}: {other:?}", String::from_utf8_lossy(text)),
                }
            }
            let notification = br#"{"method":"turn/start","method":"initialized"}"#;
            assert!(matches!(judge_line(notification, &policy(mode)), Verdict::Refuse { reply: None, .. }));
            // The same key in two different objects is no duplicate.
            let fine = br#"{"id":5,"method":"thread/start","params":{"model":"gpt-pin","config":{"model":"gpt-pin"}}}"#;
            assert_eq!(judge_line(fine, &policy(mode)), Verdict::Forward);
        }
    }

    /// A bounded differential run: random JSON texts (escapes, numbers, nesting, whitespace) read
    /// by the guard's strict parser and by serde_json give the same value, or both fail.
    #[test]
    fn the_strict_parser_reads_every_line_as_serde_json_does() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        const ATOMS: &[&str] = &[
            "0",
            "-0",
            "1e400",
            "-1.5E-3",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "1.0",
            "true",
            "null",
            "\"\\u00e9\\ud83d\\ude00\"",
            "\"a\\\"b\\\\\"",
            "\"\\ud800\"",
            "01",
            "1.",
            "\"\u{7f}\"",
            "\"\t\"",
            "nul",
            "[",
            "}",
            "",
        ];
        fn text(next: &mut dyn FnMut(u64) -> u64, depth: u32) -> String {
            let ws = [" ", "", "\t", "\n", "\r"][next(5) as usize];
            match if depth > 4 { 0 } else { next(4) } {
                0 => format!("{ws}{}{ws}", ATOMS[next(ATOMS.len() as u64) as usize]),
                1 => {
                    let items: Vec<String> = (0..next(4)).map(|_| text(next, depth + 1)).collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let keys = ["\"a\"", "\"b\"", "\"model\"", "\"m\\u006fdel\""];
                    let items: Vec<String> = (0..next(4))
                        .map(|i| format!("{ws}{}:{}", keys[(i as usize + next(2) as usize) % 4], text(next, depth + 1)))
                        .collect();
                    format!("{{{}}}", items.join(","))
                }
            }
        }
        let (mut agreed, mut duplicates) = (0, 0);
        for _ in 0..20_000 {
            let line = text(&mut next, 0);
            match (parse_strict(line.as_bytes()), serde_json::from_slice::<Value>(line.as_bytes())) {
                (Ok(strict), Ok(loose)) => {
                    assert_eq!(strict, loose, "{line}");
                    agreed += 1;
                }
                (Err(Unreadable::NotJson), Err(_)) => {}
                (Err(Unreadable::Duplicate { .. }), Ok(_)) => duplicates += 1,
                (strict, loose) => panic!("{line}: strict {strict:?}, serde_json {loose:?}"),
            }
        }
        assert!(agreed > 1000 && duplicates > 100, "the run covers both: {agreed} {duplicates}");
    }

    #[test]
    fn file_operations_are_judged_on_the_path_codex_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join("sessions/2026")).unwrap();
        std::fs::write(home.join("config.toml"), "").unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir_all(work.join("tree/deep")).unwrap();
        std::fs::write(work.join("tree/deep/config.toml"), "").unwrap();
        std::fs::write(work.join("notes.toml"), "").unwrap();
        std::os::unix::fs::symlink(home.join("config.toml"), work.join("alias")).unwrap();
        std::os::unix::fs::symlink(home.join("gone.config.toml"), work.join("dangling")).unwrap();
        std::os::unix::fs::symlink(&home, work.join("homelink")).unwrap();
        let p = |path: &Path| path.to_str().unwrap().to_owned();
        let h = p(&home);
        let w = p(&work);
        let refused = |method: &str, params: Value| {
            for mode in [LockMode::Force, LockMode::Reject] {
                let sent = json!({"id": 9, "method": method, "params": params});
                assert!(
                    matches!(judge_line(&line(sent), &policy(mode)), Verdict::Refuse { reply: Some(_), .. }),
                    "{method} {params}"
                );
            }
        };
        let passed = |method: &str, params: Value| {
            let sent = json!({"id": 9, "method": method, "params": params});
            assert_eq!(judge_line(&line(sent), &policy(LockMode::Reject)), Verdict::Forward, "{method} {params}");
        };
        for path in [
            format!("{h}/config.toml/"),
            format!("{h}/config.toml/."),
            format!("{h}/config.toml/x/.."),
            format!("{h}/nosuch/../config.toml"),
            format!("{h}//config.toml"),
            format!("{w}/alias"),
            format!("{w}/dangling"),
            format!("{w}/homelink/config.toml"),
            format!("{w}/homelink/./sessions/../config.toml"),
        ] {
            refused("fs/writeFile", json!({"path": path, "dataBase64": ""}));
            refused("fs/copy", json!({"sourcePath": format!("{w}/notes.toml"), "destinationPath": path}));
            refused("fs/remove", json!({"path": path}));
            refused("fs/createDirectory", json!({"path": path}));
        }
        // Removing or copying a tree that holds a config file.
        refused("fs/remove", json!({"path": h}));
        refused("fs/remove", json!({"path": format!("{w}/homelink/")}));
        refused("fs/remove", json!({"path": format!("{w}/tree")}));
        refused(
            "fs/copy",
            json!({"sourcePath": format!("{w}/tree"), "destinationPath": format!("{w}/copy"), "recursive": true}),
        );
        // What touches no config file passes.
        passed("fs/writeFile", json!({"path": format!("{w}/notes.toml"), "dataBase64": ""}));
        passed("fs/writeFile", json!({"path": format!("{h}/sessions/2026/rollout.jsonl"), "dataBase64": ""}));
        passed(
            "fs/copy",
            json!({"sourcePath": format!("{h}/config.toml"), "destinationPath": format!("{w}/backup.toml")}),
        );
        passed("fs/remove", json!({"path": format!("{h}/sessions")}));
        passed("fs/createDirectory", json!({"path": format!("{w}/new/dir")}));
        passed("fs/readFile", json!({"path": format!("{h}/config.toml")}));
    }

    #[test]
    fn imports_that_write_codex_configuration_are_refused() {
        let import = |kind: &str| {
            json!({"id": 1, "method": "externalAgentConfig/import",
            "params": {"migrationItems": [{"description": "d", "itemType": kind}]}})
        };
        for mode in [LockMode::Force, LockMode::Reject] {
            let (reply, attempts) = refused(mode, import("CONFIG"));
            assert_eq!(reply.unwrap()["id"], 1);
            assert_eq!(attempts, ["CONFIG"]);
            assert_eq!(judge_line(&line(import("SKILLS")), &policy(mode)), Verdict::Forward);
        }
    }

    #[test]
    fn without_the_gate_a_lost_review_denies_escalations_and_reject_says_what_to_pass() {
        let start = json!({"id": 1, "method": "thread/start", "params": {"approvalPolicy": "on-request", "approvalsReviewer": "auto_review"}});
        match judge_line(&line(start.clone()), &policy(LockMode::Force)) {
            Verdict::Rewrite { deny_approvals, .. } => assert!(deny_approvals),
            other => panic!("{other:?}"),
        }
        let (reply, _) = refused(LockMode::Reject, start);
        let message = reply.unwrap()["error"]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("approval_mode=ApprovalMode.deny_all") && message.contains("approvalsReviewer \"user\""),
            "{message}"
        );
        let model = json!({"id": 2, "method": "thread/start", "params": {"model": "o"}});
        let (reply, _) = refused(LockMode::Reject, model);
        assert!(
            !reply.unwrap()["error"]["message"].as_str().unwrap().contains("approval_mode"),
            "hint only for a reviewer"
        );
        let (_, forced) = forced(json!({"id": 3, "method": "thread/start", "params": {"model": "o"}}));
        assert_eq!(forced.len(), 1);
        match judge_line(
            &line(json!({"id": 3, "method": "thread/start", "params": {"model": "o"}})),
            &policy(LockMode::Force),
        ) {
            Verdict::Rewrite { deny_approvals, .. } => assert!(!deny_approvals, "no review was asked for"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn with_the_gate_the_reviewer_asked_for_stays() {
        for mode in [LockMode::Force, LockMode::Reject] {
            let start = json!({"id": 1, "method": "thread/start", "params": {"approvalPolicy": "on-request",
                "approvalsReviewer": "auto_review", "config": {"approvals_reviewer": "auto_review", "apps": {"x": {"approvals_reviewer": "guardian_subagent"}}}}});
            assert_eq!(gated(mode, start), Verdict::Forward, "{mode:?}");
            // The gate changes nothing else.
            let model =
                json!({"id": 2, "method": "turn/start", "params": {"approvalsReviewer": "auto_review", "model": "o"}});
            match gated(mode, model) {
                Verdict::Rewrite { line, forced, deny_approvals } => {
                    assert_eq!(mode, LockMode::Force);
                    let got: Value = serde_json::from_slice(&line).unwrap();
                    assert_eq!(
                        (got["params"]["approvalsReviewer"].clone(), got["params"]["model"].clone()),
                        (json!("auto_review"), json!(PIN))
                    );
                    assert_eq!((forced.len(), deny_approvals), (1, false));
                }
                Verdict::Refuse { attempts, .. } => assert_eq!((mode, attempts.len()), (LockMode::Reject, 1)),
                Verdict::Forward => panic!("the model is still guarded"),
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
