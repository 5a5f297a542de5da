//! Protocol drift check for the app-server guard. This is the `codex app-server` counterpart of the
//! grammar drift check in conformance.rs. It compares the guard's table of model-bearing fields
//! (`openclaw_codex::pin::app_server`) with the protocol that the pinned real CLI describes and accepts.
//!
//! - The JSON schema that `codex app-server generate-json-schema --experimental` prints is walked.
//!   It includes the experimental API because any client can opt into that with
//!   `initialize.params.capabilities.experimentalApi: true`. Every client-message field whose
//!   name says model or provider is collected and compared with
//!   `shim-tests/vectors/app-server-model-fields.txt`, and each must be handled by the guard.
//! - The live server's method list is compared with the schema's, so that a method the schema
//!   hides cannot carry a model unseen.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use openclaw_codex::pin::app_server;
use serde_json::{json, Value};

/// The checked-in list, relative to the crate root.
const VECTORS: &str = "shim-tests/vectors/app-server-model-fields.txt";

/// The variable that makes test 1 rewrite `VECTORS` instead of comparing against it.
const UPDATE_VARIABLE: &str = "OPENCLAW_UPDATE_VECTORS";

/// The client→server message unions of the schema bundle. Each is a `oneOf` of `{method, params}`.
const CLIENT_MESSAGES: &[&str] = &["ClientRequest.json", "ClientNotification.json"];

/// Methods that the live server accepts but no generated JSON schema lists (legacy v1 requests),
/// with what their params hold. `generate-ts` still describes their params, and
/// `hidden_methods_carry_no_model` checks from those descriptions that none can name a model.
const HIDDEN_METHODS: &[(&str, &str)] = &[
    ("getConversationSummary", "a rollout path or a conversation id"),
    ("gitDiffToRemote", "a working directory"),
    ("getAuthStatus", "whether to include and refresh the auth token"),
];

/// How long a live `codex app-server` may take to answer before the test gives up on it.
const SERVER_DEADLINE: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------------------------------------
// The schema walk.
// ------------------------------------------------------------------------------------------------

/// A name that could choose a model or where requests go.
fn names_model_or_provider(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("model") || name.contains("provider")
}

/// Keywords whose value is a schema (or a list of schemas) that `collect` does not walk. If one of
/// them appears, a field could hide under it, so the walk fails instead of skipping it silently.
const UNWALKED_KEYWORDS: &[&str] = &[
    "patternProperties",
    "not",
    "if",
    "then",
    "else",
    "dependencies",
    "dependentSchemas",
    "contains",
    "propertyNames",
    "additionalItems",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// One client-message union (`ClientRequest.json` and the like) walked into its fields.
struct SchemaWalk<'a> {
    /// The whole file. `$ref`s are JSON pointers into it (`#/definitions/Name`).
    root: &'a Value,
    /// Which property names to report.
    wanted: fn(&str) -> bool,
    /// `$ref`s expanded on the current path. A recursive type is walked once per path: its second
    /// expansion could only repeat, under a longer path, the fields that the first one found.
    expanding: Vec<&'a str>,
    /// The `(method, dotted path)` pairs found.
    found: BTreeSet<(String, String)>,
}

impl<'a> SchemaWalk<'a> {
    /// Walks every variant of the union in `root` and returns `(method, path)` for each property
    /// whose own name is `wanted`, at any depth of the variant's `params`.
    fn fields(root: &'a Value, wanted: fn(&str) -> bool) -> BTreeSet<(String, String)> {
        let mut walk = SchemaWalk { root, wanted, expanding: Vec::new(), found: BTreeSet::new() };
        for variant in union_variants(root) {
            let method = variant_method(variant);
            // A variant without `params` (e.g. `initialized`) has no fields.
            if let Some(params) = variant.pointer("/properties/params") {
                walk.collect(&method, params, "");
            }
        }
        walk.found
    }

    /// Collects the wanted properties under `schema`, which sits at `path` inside `params`.
    fn collect(&mut self, method: &str, schema: &'a Value, path: &str) {
        // `true`/`false` schemas and the like have no properties.
        let Some(object) = schema.as_object() else { return };
        if let Some(keyword) = UNWALKED_KEYWORDS.iter().find(|k| object.contains_key(**k)) {
            panic!("{method} {path:?}: the schema walk does not understand `{keyword}`; teach it, or a field could hide there");
        }
        if let Some(reference) = object.get("$ref") {
            self.follow(method, reference, path);
        }
        for keyword in ["anyOf", "oneOf", "allOf"] {
            for alternative in object.get(keyword).and_then(Value::as_array).into_iter().flatten() {
                self.collect(method, alternative, path);
            }
        }
        match object.get("items") {
            Some(Value::Array(tuple)) => tuple.iter().for_each(|item| self.collect(method, item, &format!("{path}[]"))),
            Some(item) => self.collect(method, item, &format!("{path}[]")),
            None => {}
        }
        // `additionalProperties` is a schema for the values of a map, or a boolean (no fields).
        if let Some(values) = object.get("additionalProperties").filter(|v| v.is_object()) {
            self.collect(method, values, &join(path, "*"));
        }
        for (name, property) in object.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let deeper = join(path, name);
            if (self.wanted)(name) {
                self.found.insert((method.to_owned(), deeper.clone()));
            }
            self.collect(method, property, &deeper);
        }
    }

    /// Walks the definition a `$ref` names, unless it is already being expanded on this path.
    fn follow(&mut self, method: &str, reference: &'a Value, path: &str) {
        let reference =
            reference.as_str().unwrap_or_else(|| panic!("{method} {path:?}: $ref {reference} is not a string"));
        if self.expanding.contains(&reference) {
            return;
        }
        let target = reference
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer))
            .unwrap_or_else(|| panic!("{method} {path:?}: $ref {reference:?} does not resolve inside the file"));
        self.expanding.push(reference);
        self.collect(method, target, path);
        self.expanding.pop();
    }
}

/// `path.name`, or just `name` at the top of `params`.
fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// The variants of a client-message union: `{"oneOf": [{properties: {method, params}}, …]}`.
fn union_variants(root: &Value) -> &[Value] {
    root.get("oneOf").and_then(Value::as_array).map(Vec::as_slice).expect("a client-message union is a `oneOf`")
}

/// A variant's method name: `properties.method` is `{"enum": [name]}`.
fn variant_method(variant: &Value) -> String {
    match variant.pointer("/properties/method/enum").and_then(Value::as_array).map(Vec::as_slice) {
        Some([Value::String(name)]) => name.clone(),
        _ => panic!("a variant whose method is not a one-name enum: {variant}"),
    }
}

/// The `METHOD PATH` lines of every model- or provider-named field of the client messages, sorted.
fn model_field_lines(schema_dir: &Path) -> Vec<String> {
    let mut lines = BTreeSet::new();
    for file in CLIENT_MESSAGES {
        let root = read_json(&schema_dir.join(file));
        for (method, path) in SchemaWalk::fields(&root, names_model_or_provider) {
            lines.insert(format!("{method} {path}"));
        }
    }
    lines.into_iter().collect()
}

/// The method names of `ClientRequest.json`.
fn schema_request_methods(schema_dir: &Path) -> BTreeSet<String> {
    union_variants(&read_json(&schema_dir.join("ClientRequest.json"))).iter().map(variant_method).collect()
}

// ------------------------------------------------------------------------------------------------
// Running the real CLI.
// ------------------------------------------------------------------------------------------------

/// A throwaway CODEX_HOME with an empty config.toml. It lives under cargo's target directory,
/// because codex warns about (and skips its helper binaries for) a home under /tmp.
fn codex_home() -> tempfile::TempDir {
    let home = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    fs::write(home.path().join("config.toml"), "").unwrap();
    home
}

/// `codex ARGS` run directly (no shim), with the throwaway `home` as HOME and CODEX_HOME.
fn real_codex(home: &Path) -> Command {
    let mut command = Command::new(support::real_codex_binary());
    command.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", home).env("CODEX_HOME", home);
    command
}

/// `codex app-server GENERATOR --experimental --out DIR` (`generate-json-schema` or
/// `generate-ts`). Returns the directory, which `home` owns.
fn generate(home: &tempfile::TempDir, generator: &str) -> PathBuf {
    let out = home.path().join(generator);
    let output = real_codex(home.path())
        .args(["app-server", generator, "--experimental", "--out"])
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`codex app-server {generator}` exited {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    out
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A live `codex app-server` over stdio. It is killed if the test ends without closing it.
struct AppServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl AppServer {
    fn start(home: &Path) -> AppServer {
        let stderr = home.join("app-server.stderr");
        let mut child = real_codex(home)
            .arg("app-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        // A reader thread, so that a silent server costs a timeout and not a hang.
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        AppServer { child, stdin, lines, stderr }
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    /// The server's reply to request `id`. Notifications and other replies are skipped.
    fn reply(&self, id: u64) -> Value {
        let deadline = Instant::now() + SERVER_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no reply to request {id} within {SERVER_DEADLINE:?}; stderr:\n{}", self.stderr_text())
            });
            let message: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
            if message.get("method").is_none() && message.get("id") == Some(&json!(id)) {
                return message;
            }
        }
    }

    /// Closes stdin and waits for the exit that EOF brings about.
    fn close(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + SERVER_DEADLINE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "app-server exited with {status} at EOF; stderr:\n{}", self.stderr_text());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("app-server still runs {SERVER_DEADLINE:?} after EOF on stdin");
    }

    fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        // Harmless after a clean exit; stops the server when a panic skipped `close`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The methods listed in serde's "unknown variant `x`, expected one of `a`, `b`, …" message.
fn methods_in_unknown_variant_error(message: &str) -> BTreeSet<String> {
    let (_, list) = message
        .split_once("expected one of ")
        .unwrap_or_else(|| panic!("not an \"unknown variant\" error listing the methods: {message}"));
    list.split(", ")
        .map(|quoted| {
            let name = quoted.trim().strip_prefix('`').and_then(|q| q.strip_suffix('`'));
            name.unwrap_or_else(|| panic!("{quoted:?} in the method list is not `quoted`")).to_owned()
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// The TypeScript description of the hidden methods' params.
// ------------------------------------------------------------------------------------------------

/// The params type of `method` in the generated `ClientRequest.ts`, where each variant reads
/// `{ "method": "NAME", id: RequestId, params: TYPE, }`.
fn ts_params_type(client_request: &str, method: &str) -> String {
    let marker = format!("\"method\": \"{method}\", id: RequestId, params: ");
    let (_, rest) = client_request.split_once(&marker).unwrap_or_else(|| panic!("ClientRequest.ts lacks {method}"));
    rest.split(',').next().unwrap().trim().to_owned()
}

/// The file that `import type { NAME } from "./path"` names in `text`, a file of `dir`.
fn ts_import(dir: &Path, text: &str, name: &str) -> Option<PathBuf> {
    let marker = format!("import type {{ {name} }} from \"");
    let (_, rest) = text.split_once(&marker)?;
    Some(dir.join(format!("{}.ts", rest.split('"').next()?)))
}

/// `text` without its `//` and `/* */` comments: doc comments may well mention a model.
fn ts_code(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let line_comment = rest.find("//").unwrap_or(rest.len());
        let block_comment = rest.find("/*").unwrap_or(rest.len());
        let (start, end) = if line_comment < block_comment {
            (line_comment, rest[line_comment..].find('\n').map_or(rest.len(), |n| line_comment + n))
        } else if block_comment < rest.len() {
            (block_comment, rest[block_comment + 2..].find("*/").map_or(rest.len(), |n| block_comment + 2 + n + 2))
        } else {
            (rest.len(), rest.len())
        };
        code.push_str(&rest[..start]);
        rest = &rest[end..];
    }
    code
}

/// The words of the type in `file` and of every type it imports, transitively, that name a model
/// or provider.
fn ts_model_words(file: &Path, seen: &mut BTreeSet<PathBuf>, words: &mut BTreeSet<String>) {
    let file = &fs::canonicalize(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    if !seen.insert(file.clone()) {
        return;
    }
    let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let code = ts_code(&text);
    let dir = file.parent().unwrap();
    for line in code.lines() {
        if let Some(imported) = line.strip_prefix("import type { ").and_then(|l| l.split(' ').next()) {
            let path = ts_import(dir, line, imported).unwrap_or_else(|| panic!("unreadable import: {line}"));
            ts_model_words(&path, seen, words);
            continue;
        }
        let identifiers = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        words.extend(identifiers.filter(|w| names_model_or_provider(w)).map(str::to_owned));
    }
}

/// The model- or provider-named words of `method`'s params type in the generated TypeScript.
fn ts_params_model_words(dir: &Path, client_request: &str, method: &str) -> BTreeSet<String> {
    let params = ts_params_type(client_request, method);
    let mut words = BTreeSet::new();
    if params != "undefined" {
        let file = ts_import(dir, client_request, &params)
            .unwrap_or_else(|| panic!("ClientRequest.ts does not import {method}'s params type {params}"));
        ts_model_words(&file, &mut BTreeSet::new(), &mut words);
    }
    words
}

// ------------------------------------------------------------------------------------------------
// The checked-in list.
// ------------------------------------------------------------------------------------------------

fn vectors_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(VECTORS)
}

/// The list's lines, without its `#` comments and blank lines.
fn checked_in_lines() -> Vec<String> {
    let text = fs::read_to_string(vectors_path()).unwrap_or_default();
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

fn write_vectors(lines: &[String]) {
    let header = format!(
        "# Client-message fields of `codex app-server` whose name says model or provider: one\n\
         # `METHOD PATH` a line, where PATH is the dotted property path inside `params`, `[]` stands\n\
         # for array items and `*` for the values of a map.\n\
         # Derived by shim-tests/app_server_schema.rs from the JSON schema that the pinned codex prints\n\
         # (`codex app-server generate-json-schema --experimental`: ClientRequest.json and\n\
         # ClientNotification.json). The guard (src/pin/app_server.rs) must handle every line, either in\n\
         # FIELDS or in NOT_A_CHOICE.\n\
         # After updating the guard, regenerate this file with:\n\
         #   {UPDATE_VARIABLE}=1 cargo test --test app_server_schema\n"
    );
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(vectors_path(), header + &body).unwrap();
}

/// A diff of two sorted line lists: `+` lines only in `now`, `-` lines only in `before`.
fn line_diff(before: &[String], now: &[String]) -> String {
    let before_set: BTreeSet<&String> = before.iter().collect();
    let now_set: BTreeSet<&String> = now.iter().collect();
    let added = now_set.difference(&before_set).map(|l| format!("+ {l}"));
    let removed = before_set.difference(&now_set).map(|l| format!("- {l}"));
    let diff: Vec<String> = added.chain(removed).collect();
    if diff.is_empty() {
        return "  (the same lines, but unsorted or repeated)".to_owned();
    }
    diff.join("\n")
}

/// The lines of `lines` that the guard neither guards nor lists as no choice.
fn unhandled(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|line| {
            let (method, path) = line.split_once(' ').expect("a `METHOD PATH` line");
            !app_server::handled(method, path)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Tests.
// ------------------------------------------------------------------------------------------------

#[test]
fn schema_model_fields_match_the_checked_in_list_and_the_guard() {
    let home = codex_home();
    let lines = model_field_lines(&generate(&home, "generate-json-schema"));
    assert!(!lines.is_empty(), "the schema walk found no model field at all: has the schema layout changed?");

    let mut failures = Vec::new();
    if std::env::var_os(UPDATE_VARIABLE).is_some_and(|v| v == "1") {
        write_vectors(&lines);
    } else {
        let checked_in = checked_in_lines();
        if checked_in != lines {
            failures.push(format!(
                "the model and provider fields of the app-server schema differ from {VECTORS}\n\
                 (+ in the schema only, - in the file only):\n{}\n\
                 Update the guard (src/pin/app_server.rs) for them, then rewrite the file with \
                 {UPDATE_VARIABLE}=1 cargo test --test app_server_schema",
                line_diff(&checked_in, &lines)
            ));
        }
    }
    let unhandled = unhandled(&lines);
    if !unhandled.is_empty() {
        let list: Vec<String> = unhandled.iter().map(|l| format!("  {l}")).collect();
        failures.push(format!(
            "the app-server guard does not handle these schema fields:\n{}\n\
             Add each to app_server::FIELDS (guard it) or to app_server::NOT_A_CHOICE (with the reason it chooses nothing).",
            list.join("\n")
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The other direction: an entry of the guard's tables that names no field of the schema is a typo
/// or a leftover, and it guards nothing.
#[test]
fn every_guard_entry_names_a_field_of_the_schema() {
    let home = codex_home();
    let dir = generate(&home, "generate-json-schema");
    let mut fields = BTreeSet::new();
    for file in CLIENT_MESSAGES {
        fields.extend(SchemaWalk::fields(&read_json(&dir.join(file)), |_| true));
    }
    let methods: BTreeSet<&str> = fields.iter().map(|(method, _)| method.as_str()).collect();
    let has = |method: &str, path: &str| fields.contains(&(method.to_owned(), path.to_owned()));

    let mut missing = Vec::new();
    let guarded = app_server::FIELDS.iter().map(|f| (f.method, f.path.join(".")));
    let not_a_choice = app_server::NOT_A_CHOICE.iter().map(|(m, p, _)| (*m, p.to_string()));
    let file_writes = app_server::FILE_WRITES.iter().map(|(m, p)| (*m, p.to_string()));
    for (method, path) in guarded.chain(not_a_choice).chain(file_writes) {
        if !has(method, &path) {
            missing.push(format!("  {method} {path}"));
        }
    }
    for (method, _) in app_server::CONFIG_WRITES {
        if !methods.contains(method) {
            missing.push(format!("  {method} (a configuration write)"));
        }
    }
    assert!(missing.is_empty(), "the guard names fields that the app-server schema lacks:\n{}", missing.join("\n"));
}

#[test]
fn every_method_the_server_accepts_is_in_the_schema() {
    let home = codex_home();
    let in_schema = schema_request_methods(&generate(&home, "generate-json-schema"));

    let mut server = AppServer::start(home.path());
    server.send(&json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "t", "version": "1"}}}));
    let initialized = server.reply(1);
    assert!(initialized.get("result").is_some(), "initialize failed: {initialized}");
    server.send(&json!({"id": 2, "method": "no/suchMethod", "params": {}}));
    let refused = server.reply(2);
    server.close();

    let message = refused.pointer("/error/message").and_then(Value::as_str).unwrap_or_else(|| panic!("{refused}"));
    assert!(message.contains("unknown variant `no/suchMethod`"), "{message}");
    let accepted = methods_in_unknown_variant_error(message);
    let hidden: BTreeSet<String> = accepted.difference(&in_schema).cloned().collect();
    let known: BTreeSet<String> = HIDDEN_METHODS.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(
        hidden, known,
        "the methods the server accepts but the schema hides changed. A new one could carry a model that \
         the schema walk cannot see: check its params, guard it if it chooses a model, and list it in HIDDEN_METHODS"
    );
    let unknown_to_server: Vec<&String> = in_schema.difference(&accepted).collect();
    assert!(unknown_to_server.is_empty(), "schema methods the server does not accept: {unknown_to_server:?}");
}

/// The hidden methods escape the schema walk, so their params are checked in the TypeScript that
/// `generate-ts` still prints for them.
#[test]
fn hidden_methods_carry_no_model() {
    let home = codex_home();
    let dir = generate(&home, "generate-ts");
    let client_request = fs::read_to_string(dir.join("ClientRequest.ts")).unwrap();
    // The control: a method known to take a model must show it, or the reading below is broken.
    let control = ts_params_model_words(&dir, &client_request, "thread/start");
    assert!(control.contains("model") && control.contains("modelProvider"), "thread/start shows {control:?}");
    for (method, holds) in HIDDEN_METHODS {
        let words = ts_params_model_words(&dir, &client_request, method);
        assert!(
            words.is_empty(),
            "{method} was thought to hold only {holds}, but names a model or provider: {words:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// The walk on hand-written schemas: a new field must not escape it.
// ------------------------------------------------------------------------------------------------

fn walk_lines(root: &Value) -> Vec<String> {
    SchemaWalk::fields(root, names_model_or_provider).into_iter().map(|(m, p)| format!("{m} {p}")).collect()
}

#[test]
fn the_walk_finds_fields_behind_refs_unions_arrays_and_maps() {
    let root = json!({
        "oneOf": [
            {"properties": {"method": {"enum": ["a/start"]}, "params": {"$ref": "#/definitions/StartParams"}}},
            {"properties": {"method": {"enum": ["a/none"]}, "params": {"type": "null"}}},
            {"properties": {"method": {"enum": ["a/bare"]}}},
            {"properties": {"method": {"enum": ["a/optional"]},
                            "params": {"anyOf": [{"$ref": "#/definitions/Leaf"}, {"type": "null"}]}}}
        ],
        "definitions": {
            "StartParams": {"properties": {
                "threadId": {"type": "string"},
                "newModel": {"type": ["string", "null"]},
                "mode": {"anyOf": [{"$ref": "#/definitions/Mode"}, {"type": "null"}]},
                "items": {"type": "array", "items": {"allOf": [{"$ref": "#/definitions/Leaf"}]}},
                "byName": {"type": "object", "additionalProperties": {"$ref": "#/definitions/Leaf"}},
                "free": {"type": "object", "additionalProperties": true},
                "tree": {"$ref": "#/definitions/Tree"}
            }},
            "Mode": {"oneOf": [{"properties": {"settings": {"$ref": "#/definitions/Leaf"}}}, {"enum": ["off"]}]},
            "Leaf": {"properties": {"PROVIDER_ID": {"type": "string"}, "name": {"type": "string"}}},
            "Tree": {"properties": {"children": {"items": {"$ref": "#/definitions/Tree"}}, "modelHint": {}}}
        }
    });
    assert_eq!(
        walk_lines(&root),
        [
            "a/optional PROVIDER_ID",
            "a/start byName.*.PROVIDER_ID",
            "a/start items[].PROVIDER_ID",
            "a/start mode.settings.PROVIDER_ID",
            "a/start newModel",
            // Once: the recursive `children` would repeat it as `tree.children[].modelHint`.
            "a/start tree.modelHint",
        ]
    );
}

#[test]
#[should_panic(expected = "does not understand `patternProperties`")]
fn the_walk_refuses_a_keyword_it_cannot_see_into() {
    let root = json!({"oneOf": [{"properties": {"method": {"enum": ["a/b"]},
        "params": {"patternProperties": {"^x": {"properties": {"model": {}}}}}}}]});
    walk_lines(&root);
}

#[test]
#[should_panic(expected = "does not resolve")]
fn the_walk_refuses_a_dangling_ref() {
    let root =
        json!({"oneOf": [{"properties": {"method": {"enum": ["a/b"]}, "params": {"$ref": "#/definitions/Gone"}}}]});
    walk_lines(&root);
}

#[test]
fn the_unknown_variant_error_parses_into_its_methods() {
    let message =
        "Invalid request: unknown variant `no/such`, expected one of `initialize`, `thread/start`, `getAuthStatus`";
    let methods: Vec<String> = methods_in_unknown_variant_error(message).into_iter().collect();
    assert_eq!(methods, ["getAuthStatus", "initialize", "thread/start"]);
}

#[test]
fn typescript_comments_are_not_code() {
    let text =
        "/**\n * Overrides the model.\n */\nexport type A = { cwd: string, }; // the model\n/* model */ type B = C;";
    assert_eq!(ts_code(text), "\nexport type A = { cwd: string, }; \n type B = C;");
}
