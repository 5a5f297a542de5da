//! The model lock applied to one codex command line: which options are attempts to choose another
//! model or endpoint, what force and reject do with them, and the rewritten argv.
//!
//! Rewrite rules, each for a measured behaviour of the Codex CLI (see `grammar`):
//! - `-m PIN` goes at the root, where every model-running subcommand inherits it.
//! - `-c`, `--enable` and `--disable` are clap *global* options: a command keeps only the values
//!   given at the deepest level that has any, dropping the root's. So the config pins go to the
//!   deepest level that already has a `-c` (the root if none), and `--disable` likewise.
//! - A caller's `-m`/`-c` attempt keeps its place and spelling and gets the pinned value, so the
//!   rest of argv parses exactly as before. `--enable multi_agent*` becomes `--disable`.
//! - Options with nothing to pin in their place (`-p`, `--oss`, `--local-provider`, `--remote`,
//!   `--ignore-user-config`, `--approve-for-me`) become `-c model="PIN"` in the same spelling and
//!   form, token for token: removing them could change how the tokens around them parse (a
//!   multi-value `-i a b` list would swallow the next argument).
//! - Invariant: the shim never turns an argv codex rejects into one it accepts, and never changes
//!   the role (option, value, subcommand, prompt, foreign command) of a token it does not replace.
//!   Edits are one for one, pins go only right after a command's name, and an argv the grammar
//!   says clap rejects (`argv::Usage`) is refused in both modes rather than rewritten.
//! - Pins already present are not added again, so rewriting is idempotent.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::pin::argv::{self, Form, Occurrence, Parsed};
use crate::pin::attempt::{Attempt, Level};
use crate::pin::config_keys::{self, toml_string, ConfigValue, Judgement};
use crate::pin::grammar::{self, CommandSpec, Meaning, Pinning, ROOT};
use crate::pin::policy::{LockMode, Policy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Run codex with these arguments; `forced` lists the attempts that were overridden.
    Run { args: Vec<OsString>, forced: Vec<Attempt> },
    /// An internal helper form of codex: run it untouched.
    PassThrough { args: Vec<OsString> },
    /// Reject mode and at least one attempt: codex must not run.
    Reject { attempts: Vec<Attempt> },
    /// `codex app-server` on stdio: run codex with these arguments and relay its JSON-RPC stream
    /// through the `app_server` guard; `forced` lists the argv attempts that were overridden.
    Relay { args: Vec<OsString>, forced: Vec<Attempt> },
    /// A subcommand whose model argv cannot pin, not allowed by the operator.
    Refuse { path: String },
    /// An app-server form the guard cannot sit on (another transport, the shared daemon, its proxy),
    /// not allowed by the operator: `form` is the path with the transport, as written.
    RefuseUnguardable { form: String },
    /// An internal helper form of codex that runs other programs: never through the shim.
    RefuseInternal { form: String },
    /// An argv the Codex CLI would reject as a usage error (`argv::Usage`), in either mode: never
    /// rewritten, since a rewrite could make it one codex accepts.
    RefuseUsage { problem: String },
}

/// The pins injected for `policy`, as `(key=value)` strings for `-c`.
struct Pins {
    model: String,
    model_assignment: String,
    /// `KEY="PIN"` for each of `config_keys::JOB_MODEL_KEYS`.
    job_assignments: Vec<String>,
}

const DISABLE_PIN: &str = config_keys::SUBAGENT_DISABLE;

impl Pins {
    fn new(model: &str) -> Pins {
        Pins {
            model: model.to_owned(),
            model_assignment: format!("model={}", toml_string(model)),
            job_assignments: config_keys::JOB_MODEL_KEYS
                .iter()
                .map(|key| format!("{key}={}", toml_string(model)))
                .collect(),
        }
    }
}

fn lossy(value: &OsStr) -> String {
    value.to_string_lossy().into_owned()
}

/// `key` and `value` of a `-c key=value` argument (key trimmed, as codex does).
fn split_config(value: &OsStr) -> (String, String) {
    let text = lossy(value);
    match text.split_once('=') {
        Some((key, value)) => (key.trim().to_owned(), value.to_owned()),
        None => (text.trim().to_owned(), String::new()),
    }
}

/// `None` when the occurrence is harmless, else the attempt it makes.
fn classify(occurrence: &Occurrence, pins: &Pins, level: &str) -> Option<Attempt> {
    let value = occurrence.value.as_deref();
    let attempt =
        |syntax: String, attempted: String| Some(Attempt::new(syntax, attempted, Level::Command(level.to_owned())));
    let shown = || value.map(lossy).unwrap_or_default();
    match occurrence.spec.meaning {
        Meaning::Plain | Meaning::Disable | Meaning::Transport => None,
        Meaning::Model if value.is_some_and(|v| v.as_bytes() == pins.model.as_bytes()) => None,
        Meaning::Model => attempt(occurrence.syntax(None), shown()),
        Meaning::Config => {
            let (key, assigned) = split_config(value?);
            match config_keys::judge(&key, ConfigValue::Toml(&assigned), &pins.model) {
                Judgement::Unrelated | Judgement::Harmless => None,
                Judgement::Force(_) | Judgement::Remove => {
                    attempt(occurrence.syntax(Some(&key)), format!("{key}={assigned}"))
                }
            }
        }
        Meaning::Enable
            if value.is_some_and(|v| v.as_bytes().starts_with(config_keys::SUBAGENT_FEATURE_PREFIX.as_bytes())) =>
        {
            attempt(occurrence.syntax(None), shown())
        }
        Meaning::Enable => None,
        Meaning::Oss => attempt(occurrence.syntax(None), String::from("--oss")),
        Meaning::AutoReview => attempt(occurrence.syntax(None), String::from("--approve-for-me")),
        Meaning::IgnoreUserConfig => attempt(occurrence.syntax(None), String::from("--ignore-user-config")),
        Meaning::Profile | Meaning::LocalProvider | Meaning::Remote => attempt(occurrence.syntax(None), shown()),
    }
}

/// The occurrence's option name as written before its value: `-m`, `-xm` (cluster), `--model`.
fn head(occurrence: &Occurrence, spelling: &str) -> OsString {
    let mut head = occurrence.cluster_prefix.clone().unwrap_or_default();
    if occurrence.cluster_prefix.is_some() {
        head.push(spelling.trim_start_matches('-'));
    } else {
        head.push(spelling);
    }
    head
}

/// The occurrence rewritten with `value` in its value's place, same spelling and form.
fn with_value(occurrence: &Occurrence, spelling: &str, value: &str) -> Vec<OsString> {
    let head = head(occurrence, spelling);
    let joined = |sep: &str| {
        let mut token = head.clone();
        token.push(sep);
        token.push(value);
        vec![token]
    };
    match occurrence.form {
        Form::Separate => vec![head.clone(), OsString::from(value)],
        Form::Equals | Form::Bare => joined("="),
        Form::Attached => joined(""),
    }
}

/// A pin that already holds at a level, so it need not be injected there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Held {
    Model,
    Config(String),
    Disable(String),
}

struct Rewrite {
    pins: Pins,
    /// `(start, end, replacement)` token edits, in argv order.
    edits: Vec<(usize, usize, Vec<OsString>)>,
    /// What each level holds after the edits: (level, option meaning, held value).
    held: Vec<(usize, Held)>,
}

impl Rewrite {
    fn note(&mut self, level: usize, meaning: Meaning, value: Option<&OsStr>) {
        let held = match meaning {
            Meaning::Model => Held::Model,
            Meaning::Config => {
                let (key, value) = split_config(value.unwrap_or_default());
                Held::Config(format!("{key}={}", value.trim()))
            }
            Meaning::Disable => Held::Disable(value.map(lossy).unwrap_or_default()),
            _ => return,
        };
        self.held.push((level, held));
    }

    /// Replaces the occurrence token for token, so that every other token keeps its role: a model
    /// or config value gets the pin, `--enable` becomes `--disable`, and an option with nothing to
    /// pin in its place (`--oss`, `-p X`, `--remote X`, ...) becomes `-c model="PIN"` in the same
    /// spelling and form (`--oss` → `--config=model="PIN"`, `-pX` → `-cmodel="PIN"`).
    fn neutralise(&mut self, occurrence: &Occurrence) {
        let short = !occurrence.spelling.starts_with("--");
        let (spelling, value, meaning) = match occurrence.spec.meaning {
            Meaning::Model => (occurrence.spelling.clone(), self.pins.model.clone(), Meaning::Model),
            Meaning::Enable => {
                ("--disable".to_owned(), lossy(occurrence.value.as_deref().unwrap_or_default()), Meaning::Disable)
            }
            _ => {
                let config = if short { "-c" } else { "--config" };
                (config.to_owned(), self.pins.model_assignment.clone(), Meaning::Config)
            }
        };
        self.note(occurrence.level, meaning, Some(OsStr::new(&value)));
        self.edits.push((occurrence.start, occurrence.end, with_value(occurrence, &spelling, &value)));
    }

    fn holds(&self, level: usize, wanted: &Held) -> bool {
        self.held.iter().any(|(l, h)| *l == level && h == wanted)
    }

    fn deepest(&self, matches: impl Fn(&Held) -> bool) -> usize {
        self.held.iter().filter(|(_, h)| matches(h)).map(|(l, _)| *l).max().unwrap_or(0)
    }

    /// Tokens to insert at each level's start.
    fn injections(&self, inject_model: bool) -> Vec<(usize, Vec<OsString>)> {
        let mut at: Vec<(usize, Vec<OsString>)> = Vec::new();
        let mut push = |level: usize, tokens: [&str; 2]| match at.iter_mut().find(|(l, _)| *l == level) {
            Some((_, list)) => list.extend(tokens.map(OsString::from)),
            None => at.push((level, tokens.map(OsString::from).to_vec())),
        };
        if inject_model && !self.holds(0, &Held::Model) {
            push(0, ["-m", &self.pins.model]);
        }
        let config_level = self.deepest(|h| matches!(h, Held::Config(_)));
        let mut config_pins: Vec<&str> = self.pins.job_assignments.iter().map(String::as_str).collect();
        config_pins.extend(config_keys::SUBAGENT_PINS);
        if inject_model {
            config_pins.insert(0, &self.pins.model_assignment);
        }
        for pin in config_pins {
            if !self.holds(config_level, &Held::Config(pin.to_owned())) {
                push(config_level, ["-c", pin]);
            }
        }
        let disable_level = self.deepest(|h| matches!(h, Held::Disable(_)));
        if !self.holds(disable_level, &Held::Disable(DISABLE_PIN.to_owned())) {
            push(disable_level, ["--disable", DISABLE_PIN]);
        }
        at
    }
}

/// The spec of each command on the path, root first.
fn specs_on_path(parsed: &Parsed) -> Vec<&'static CommandSpec> {
    let mut specs = vec![&ROOT];
    for name in &parsed.path {
        let parent = specs[specs.len() - 1];
        specs.push(parent.find_subcommand(name).expect("parsed path follows the grammar"));
    }
    specs
}

/// codex's other personalities (argv[0]) and internal helper forms (argv[1]): `Some((true, _))` to
/// run untouched, `Some((false, form))` to refuse, `None` for an ordinary command line.
fn internal_form(argv0: &OsStr, args: &[OsString]) -> Option<(bool, String)> {
    let name = std::path::Path::new(argv0).file_name().unwrap_or_default();
    let named = |list: &[&str]| list.iter().any(|p| name == OsStr::new(p));
    if named(grammar::PATCH_PERSONALITIES) {
        return Some((true, lossy(name)));
    }
    if named(grammar::RUNNER_PERSONALITIES) {
        return Some((false, lossy(name)));
    }
    let first = args.first().filter(|a| a.as_bytes().starts_with(grammar::INTERNAL_ARG_PREFIX.as_bytes()))?;
    Some((grammar::INTERNAL_PASS_THROUGH.iter().any(|f| first.as_os_str() == OsStr::new(f)), lossy(first)))
}

/// Where a token of a rewritten argv comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The caller's token at this index, untouched.
    Kept(usize),
    /// Replaces the caller's token at this index, in the same role (an option, its value).
    Replaced(usize),
    /// A pin the shim adds.
    Injected,
}

/// Applies `policy` to one codex invocation.
pub fn apply(policy: &Policy, argv0: &OsStr, args: &[OsString]) -> Outcome {
    apply_traced(policy, argv0, args).0
}

/// `apply`, with the origin of every token of the argv it runs (empty when it runs none): what
/// the property tests check the invariant on.
pub fn apply_traced(policy: &Policy, argv0: &OsStr, args: &[OsString]) -> (Outcome, Vec<Origin>) {
    let untraced = |outcome| (outcome, Vec::new());
    match internal_form(argv0, args) {
        Some((true, _)) => {
            return (Outcome::PassThrough { args: args.to_vec() }, (0..args.len()).map(Origin::Kept).collect())
        }
        Some((false, form)) => return untraced(Outcome::RefuseInternal { form }),
        None => {}
    }
    let parsed = argv::parse(args, &ROOT);
    // An argv codex rejects is never rewritten, in either mode: a rewrite could make it one codex
    // accepts (`--add-dir --oss sandbox exec -m X` without `--oss` runs exec on model X).
    if let Some(usage) = &parsed.usage {
        return untraced(Outcome::RefuseUsage { problem: usage.to_string() });
    }
    let specs = specs_on_path(&parsed);
    if let Some(depth) = specs.iter().position(|s| s.pinning == Pinning::Unpinnable) {
        let path = parsed.path[..depth].join(" ");
        if !policy.allows_unpinnable(&path) {
            return untraced(Outcome::Refuse { path });
        }
    }
    let relay = match guarded_stream(&parsed, &specs) {
        Guarded::No => false,
        Guarded::Stdio => true,
        Guarded::Unguardable { allow, form } if !policy.allows_unpinnable(&allow) => {
            return untraced(Outcome::RefuseUnguardable { form });
        }
        Guarded::Unguardable { .. } => false,
    };

    let mut rewrite = Rewrite { pins: Pins::new(&policy.model), edits: Vec::new(), held: Vec::new() };
    let mut attempts = Vec::new();
    for occurrence in &parsed.occurrences {
        let level = parsed.path[..occurrence.level].join(" ");
        match classify(occurrence, &rewrite.pins, &level) {
            Some(attempt) => {
                attempts.push(attempt);
                rewrite.neutralise(occurrence);
            }
            None => rewrite.note(occurrence.level, occurrence.spec.meaning, occurrence.value.as_deref()),
        }
    }
    if policy.mode == LockMode::Reject && !attempts.is_empty() {
        return untraced(Outcome::Reject { attempts });
    }

    let inject_model = specs.iter().all(|s| s.pinning != Pinning::NoModelInjection);
    let injections = rewrite.injections(inject_model);
    let mut out = Vec::with_capacity(args.len() + 24);
    let mut origins = Vec::with_capacity(args.len() + 24);
    let mut edits = rewrite.edits.iter().peekable();
    let mut i = 0;
    loop {
        for (level, tokens) in &injections {
            if parsed.level_starts[*level] == i {
                out.extend(tokens.iter().cloned());
                origins.extend(tokens.iter().map(|_| Origin::Injected));
            }
        }
        if i >= args.len() {
            break;
        }
        match edits.next_if(|(start, _, _)| *start == i) {
            Some((start, end, replacement)) => {
                // One for one (`neutralise`): the replacement's tokens stand where the caller's did.
                debug_assert_eq!(replacement.len(), end - start);
                out.extend(replacement.iter().cloned());
                origins.extend((*start..*end).map(Origin::Replaced));
                i = *end;
            }
            None => {
                out.push(args[i].clone());
                origins.push(Origin::Kept(i));
                i += 1;
            }
        }
    }
    let outcome = if relay {
        Outcome::Relay { args: out, forced: attempts }
    } else {
        Outcome::Run { args: out, forced: attempts }
    };
    (outcome, origins)
}

enum Guarded {
    /// Not a guarded stream command (or one of its harmless subcommands).
    No,
    /// The guarded command on the stdio transport.
    Stdio,
    /// The guarded command elsewhere; `allow` is the `OPENCLAW_ALLOW_UNPINNABLE` name for it.
    Unguardable { allow: String, form: String },
}

/// Where `codex app-server` takes its clients: only stdio can be relayed through the guard.
fn guarded_stream(parsed: &Parsed, specs: &[&'static CommandSpec]) -> Guarded {
    let Some(depth) = specs.iter().position(|s| s.pinning == Pinning::GuardedStream) else {
        return Guarded::No;
    };
    let allow = parsed.path[..depth].join(" ");
    if let Some(sub) = parsed.path.get(depth) {
        return if grammar::GUARDED_STREAM_PASS_THROUGH.contains(sub) {
            Guarded::No
        } else {
            Guarded::Unguardable { form: parsed.path_string(), allow }
        };
    }
    let listen = parsed.occurrences.iter().filter(|o| o.level == depth && o.spec.meaning == Meaning::Transport);
    match listen.filter_map(|o| o.value.as_deref()).find(|v| v.as_bytes() != grammar::STDIO_TRANSPORT.as_bytes()) {
        Some(other) => Guarded::Unguardable { form: format!("{allow} --listen {}", lossy(other)), allow },
        None => Guarded::Stdio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIN: &str = "gpt-pin";
    const M: &str = "-m gpt-pin";
    const C_MODEL: &str = "-c model=\"gpt-pin\"";
    const C_OTHER_JOBS: &str = "-c memories.extract_model=\"gpt-pin\" -c memories.consolidation_model=\"gpt-pin\" \
        -c experimental_realtime_ws_model=\"gpt-pin\"";
    const C_JOBS: &str = "-c review_model=\"gpt-pin\" \
        -c memories.extract_model=\"gpt-pin\" \
        -c memories.consolidation_model=\"gpt-pin\" \
        -c experimental_realtime_ws_model=\"gpt-pin\"";
    const C_FEATURE: &str = "-c features.multi_agent_v2=false \
        -c features.multi_agent_v2.disable_native_tools=true \
        -c features.multi_agent_v2.max_concurrent_threads_per_session=1 \
        -c features.multi_agent_v2.root_agent_usage_hint_text=\"\" \
        -c agents.max_depth=0 \
        -c approvals_reviewer=\"user\"";
    const DISABLE: &str = "--disable multi_agent";

    fn policy(mode: LockMode) -> Policy {
        Policy { model: PIN.to_owned(), mode, allow_unpinnable: vec![] }
    }

    fn words(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn apply_words(mode: LockMode, args: &str) -> Outcome {
        apply(&policy(mode), OsStr::new("codex"), &words(args))
    }

    /// Force mode: the rewritten argv (joined by spaces) and the syntaxes reported as forced.
    fn force(args: &str) -> (String, Vec<String>) {
        match apply_words(LockMode::Force, args) {
            Outcome::Run { args, forced } => (
                args.iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>().join(" "),
                forced.into_iter().map(|a| a.syntax).collect(),
            ),
            other => panic!("{args}: expected Run, got {other:?}"),
        }
    }

    fn j(parts: &[&str]) -> String {
        parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
    }

    /// (caller argv, rewritten argv, syntaxes forced)
    fn cases() -> Vec<(&'static str, String, Vec<&'static str>)> {
        let p = j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE]);
        vec![
            // Benign calls get the pins at the root.
            ("exec hi", j(&[&p, "exec hi"]), vec![]),
            ("", p.clone(), vec![]),
            ("login status", j(&[&p, "login status"]), vec![]),
            ("--version", j(&[&p, "--version"]), vec![]),
            ("mcp list", j(&[&p, "mcp list"]), vec![]),
            // Every spelling of -m, at every level, keeps its place and gets the pin.
            ("exec -m other hi", j(&[&p, "exec -m gpt-pin hi"]), vec!["-m"]),
            ("exec --model other hi", j(&[&p, "exec --model gpt-pin hi"]), vec!["--model"]),
            ("exec --model=other hi", j(&[&p, "exec --model=gpt-pin hi"]), vec!["--model="]),
            ("exec -mother hi", j(&[&p, "exec -mgpt-pin hi"]), vec!["-m<value>"]),
            ("exec -m=other hi", j(&[&p, "exec -m=gpt-pin hi"]), vec!["-m="]),
            ("exec hi -m other", j(&[&p, "exec hi -m gpt-pin"]), vec!["-m"]),
            ("e -m other hi", j(&[&p, "e -m gpt-pin hi"]), vec!["-m"]),
            ("exec -hm other", j(&[&p, "exec -hm gpt-pin"]), vec!["-m"]),
            ("exec resume --last -m other hi", j(&[&p, "exec resume --last -m gpt-pin hi"]), vec!["-m"]),
            ("exec review -m other", j(&[&p, "exec review -m gpt-pin"]), vec!["-m"]),
            ("resume --last -m other", j(&[&p, "resume --last -m gpt-pin"]), vec!["-m"]),
            ("fork --last --model=other", j(&[&p, "fork --last --model=gpt-pin"]), vec!["--model="]),
            ("archive -m other s1", j(&[&p, "archive -m gpt-pin s1"]), vec!["-m"]),
            // A root -m: the caller's, pinned, replaces ours; two would be a clap error.
            ("-m other exec hi", j(&[C_MODEL, C_JOBS, C_FEATURE, DISABLE, "-m gpt-pin exec hi"]), vec!["-m"]),
            ("-m gpt-pin exec hi", j(&[C_MODEL, C_JOBS, C_FEATURE, DISABLE, "-m gpt-pin exec hi"]), vec![]),
            ("hi -m other", j(&[C_MODEL, C_JOBS, C_FEATURE, DISABLE, "hi -m gpt-pin"]), vec!["-m"]),
            // -c model keys: value replaced in place.
            ("-c model=\"o3\" exec hi", j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]), vec!["-c model"]),
            (
                "--config=model=o3 exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, "--config=model=\"gpt-pin\" exec hi"]),
                vec!["--config=model"],
            ),
            ("-cmodel=o3 exec hi", j(&[M, C_JOBS, C_FEATURE, DISABLE, "-cmodel=\"gpt-pin\" exec hi"]), vec!["-cmodel"]),
            (
                "-c=review_model=o3 review",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, "-c=model=\"gpt-pin\" review"]),
                vec!["-c=review_model"],
            ),
            // A -c below the root makes codex drop the root's -c values: pins move down to it.
            ("exec -c model=o3 hi", j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, C_MODEL, "hi"]), vec!["-c model"]),
            ("exec -c x=1 hi", j(&[M, DISABLE, "exec", C_MODEL, C_JOBS, C_FEATURE, "-c x=1 hi"]), vec![]),
            (
                "-c y=2 exec resume -c x=1 --last",
                j(&[M, DISABLE, "-c y=2 exec resume", C_MODEL, C_JOBS, C_FEATURE, "-c x=1 --last"]),
                vec![],
            ),
            (
                "exec -c model_provider=evil hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, C_MODEL, "hi"]),
                vec!["-c model_provider"],
            ),
            (
                "-c model_providers.x.base_url=http://evil exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]),
                vec!["-c model_providers.x.base_url"],
            ),
            (
                "-c openai_base_url=http://evil exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]),
                vec!["-c openai_base_url"],
            ),
            ("-c profile=work exec hi", j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]), vec!["-c profile"]),
            (
                "-c agents.default_subagent_model=o3 exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]),
                vec!["-c agents.default_subagent_model"],
            ),
            (
                "-c memories.extract_model=o3 exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]),
                vec!["-c memories.extract_model"],
            ),
            (
                "-c experimental_realtime_ws_model=o3",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL]),
                vec!["-c experimental_realtime_ws_model"],
            ),
            (
                "-c model_catalog_json=/tmp/c.json",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL]),
                vec!["-c model_catalog_json"],
            ),
            (
                "-c features.multi_agent=true",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL]),
                vec!["-c features.multi_agent"],
            ),
            (
                "-c features.multi_agent=false",
                j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE, "-c features.multi_agent=false"]),
                vec![],
            ),
            (
                "-c review_model=\"gpt-pin\"",
                j(&[M, C_MODEL, C_OTHER_JOBS, C_FEATURE, DISABLE, "-c review_model=\"gpt-pin\""]),
                vec![],
            ),
            // An approvals reviewer other than the user is a model other than the pin.
            (
                "exec -c approvals_reviewer=auto_review hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, C_MODEL, "hi"]),
                vec!["-c approvals_reviewer"],
            ),
            (
                "-c apps.github.approvals_reviewer='guardian_subagent'",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL]),
                vec!["-c apps.github.approvals_reviewer"],
            ),
            (
                "-c approvals_reviewer=user exec hi",
                j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE, "-c approvals_reviewer=user exec hi"]),
                vec![],
            ),
            (
                "exec --approve-for-me hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "--config=model=\"gpt-pin\" hi"]),
                vec!["--approve-for-me"],
            ),
            // Options with nothing to pin in their place become `-c model="PIN"`, token for token,
            // in the same spelling and form: every other token keeps its role.
            ("-p work exec hi", j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]), vec!["-p"]),
            (
                "exec --profile=work hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "--config=model=\"gpt-pin\" hi"]),
                vec!["--profile="],
            ),
            (
                "exec --oss hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "--config=model=\"gpt-pin\" hi"]),
                vec!["--oss"],
            ),
            (
                "--local-provider ollama exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, "--config model=\"gpt-pin\" exec hi"]),
                vec!["--local-provider"],
            ),
            (
                "--remote ws://evil:1 hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, "--config model=\"gpt-pin\" hi"]),
                vec!["--remote"],
            ),
            ("exec -hp work hi", j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "-hc model=\"gpt-pin\" hi"]), vec!["-p"]),
            (
                "exec -pwork hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "-cmodel=\"gpt-pin\" hi"]),
                vec!["-p<value>"],
            ),
            // A multi-value list before them stays closed.
            (
                "exec -i a.png --oss hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "-i a.png --config=model=\"gpt-pin\" hi"]),
                vec!["--oss"],
            ),
            ("exec -i a.png b.png -m other hi", j(&[&p, "exec -i a.png b.png -m gpt-pin hi"]), vec!["-m"]),
            (
                "exec -i a.png -p work -s read-only",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "-i a.png", C_MODEL, "-s read-only"]),
                vec!["-p"],
            ),
            ("-i a.png exec", j(&[&p, "-i a.png exec"]), vec![]),
            // Sub-agents stay off.
            ("--enable multi_agent exec hi", j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE, "exec hi"]), vec!["--enable"]),
            (
                "exec --enable=multi_agent_v2 hi",
                j(&[M, C_MODEL, C_JOBS, C_FEATURE, "exec", DISABLE, "--disable=multi_agent_v2 hi"]),
                vec!["--enable="],
            ),
            ("--enable goals exec hi", j(&[&p, "--enable goals exec hi"]), vec![]),
            (
                "--disable goals exec hi",
                j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE, "--disable goals exec hi"]),
                vec![],
            ),
            // Foreign arguments and text after `--` are never touched.
            ("exec -- -m other", j(&[&p, "exec -- -m other"]), vec![]),
            ("sandbox echo -m hi -c model=x", j(&[&p, "sandbox echo -m hi -c model=x"]), vec![]),
            ("sandbox -C /tmp echo -m hi", j(&[&p, "sandbox -C /tmp echo -m hi"]), vec![]),
            ("mcp add srv -- python3 -m mod", j(&[&p, "mcp add srv -- python3 -m mod"]), vec![]),
            ("mcp add srv python3 -m mod", j(&[&p, "mcp add srv python3 -m mod"]), vec![]),
            ("execpolicy check -r r.rules echo -m x", j(&[&p, "execpolicy check -r r.rules echo -m x"]), vec![]),
            // Options whose letters mean something else in that command.
            ("plugin add -m market foo", j(&[&p, "plugin add -m market foo"]), vec![]),
            ("sandbox -p perms echo", j(&[&p, "sandbox -p perms echo"]), vec![]),
            // A value that looks like a subcommand is a value.
            ("exec -C exec hi", j(&[&p, "exec -C exec hi"]), vec![]),
            // Subcommands win over an earlier prompt, as in codex.
            ("hello exec -m other", j(&[&p, "hello exec -m gpt-pin"]), vec!["-m"]),
            // queue: no model injected; its own choices are still neutralised.
            (
                "queue --thread t --message hi",
                j(&[C_JOBS, C_FEATURE, DISABLE, "queue --thread t --message hi"]),
                vec![],
            ),
            ("queue -m other --thread t", j(&[C_JOBS, C_FEATURE, DISABLE, "queue -m gpt-pin --thread t"]), vec!["-m"]),
            // Dropping the operator's config.toml would drop its provider: removed.
            (
                "exec --ignore-user-config hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, "--config=model=\"gpt-pin\" hi"]),
                vec!["--ignore-user-config"],
            ),
            (
                "exec resume --last --ignore-user-config",
                j(&[M, DISABLE, "exec resume", C_JOBS, C_FEATURE, "--last --config=model=\"gpt-pin\""]),
                vec!["--ignore-user-config"],
            ),
            (
                "-c chatgpt_base_url=http://evil exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]),
                vec!["-c chatgpt_base_url"],
            ),
            // Sub-agent limits: the caller's are neutralised, the shim's own are not attempts.
            (
                "-c agents.max_depth=3 exec hi",
                j(&[M, C_JOBS, C_FEATURE, DISABLE, C_MODEL, "exec hi"]),
                vec!["-c agents.max_depth"],
            ),
            (
                "exec -c features.multi_agent_v2.disable_native_tools=false hi",
                j(&[M, DISABLE, "exec", C_JOBS, C_FEATURE, C_MODEL, "hi"]),
                vec!["-c features.multi_agent_v2.disable_native_tools"],
            ),
            (
                "-c agents.max_depth=0 exec hi",
                j(&[
                    M,
                    C_MODEL,
                    C_JOBS,
                    &C_FEATURE.replace(" -c agents.max_depth=0", ""),
                    DISABLE,
                    "-c agents.max_depth=0 exec hi",
                ]),
                vec![],
            ),
        ]
    }

    #[test]
    fn force_rewrites() {
        let mut wrong = Vec::new();
        for (input, want, forced) in cases() {
            let (got, got_forced) = force(input);
            if (&got, &got_forced) != (&want, &forced.iter().map(|s| s.to_string()).collect()) {
                wrong.push(format!("input: {input}\n  got:  {got} {got_forced:?}\n  want: {want} {forced:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn rewriting_is_idempotent() {
        for (input, _, _) in cases() {
            let (once, _) = force(input);
            let (twice, forced_again) = force(&once);
            assert_eq!(twice, once, "input: {input}");
            assert!(forced_again.is_empty(), "second pass forced {forced_again:?} for {input}");
        }
    }

    #[test]
    fn reject_refuses_every_attempt_and_runs_the_rest_like_force() {
        for (input, want, forced) in cases() {
            match apply_words(LockMode::Reject, input) {
                Outcome::Reject { attempts } => {
                    assert!(!forced.is_empty(), "{input}: rejected {attempts:?}");
                    let syntaxes: Vec<_> = attempts.iter().map(|a| a.syntax.as_str()).collect();
                    assert_eq!(syntaxes, forced, "input: {input}");
                }
                Outcome::Run { args, forced: none } => {
                    assert!(forced.is_empty(), "{input}: should be rejected");
                    assert!(none.is_empty());
                    let got = args.iter().map(|a| a.to_str().unwrap()).collect::<Vec<_>>().join(" ");
                    assert_eq!(got, want, "input: {input}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn argvs_codex_rejects_are_refused_in_both_modes_never_rewritten() {
        let refused = [
            // issue 15: without `--oss`, `sandbox` would become --add-dir's value and exec would run.
            ("--add-dir --oss sandbox exec -m other hi", "--add-dir has no value"),
            ("--add-dir -p work sandbox exec -m other hi", "--add-dir has no value"),
            ("--add-dir --remote ws://x sandbox exec -m other hi", "--add-dir has no value"),
            ("--add-dir --local-provider ollama sandbox exec -m other hi", "--add-dir has no value"),
            ("exec -c --oss model_provider=x hi", "-c has no value"),
            ("exec -m -- hi", "-m has no value"),
            ("exec hi --model", "--model has no value"),
            ("exec -i -p work", "-i has no value"),
            ("--oss --oss exec hi", "--oss is given twice"),
            ("exec -p a -p b hi", "--profile is given twice"),
            ("exec --oss=1 hi", "--oss takes no value"),
            ("exec --bogus --oss hi", "\"--bogus\" is not an option"),
            ("exec -Zp work hi", "\"-Z\" is not an option"),
            ("exec -1 hi", "\"-1\" is not an option"),
            ("exec -s read-only --approve-for-me hi", "--approve-for-me cannot be used with --sandbox"),
            ("--yolo --approve-for-me", "cannot be used with --dangerously-bypass-approvals-and-sandbox"),
        ];
        // Found by the differential run (#2424 of seed 0): clap rejects a non-UTF-8 model-choosing
        // value; replacing it made an argv clap accepts.
        use std::os::unix::ffi::OsStrExt;
        let mut args = words("--local-provider x exec --skip-git-repo-check hi");
        args[1] = OsStr::from_bytes(b"caf\xe9").to_owned();
        for mode in [LockMode::Force, LockMode::Reject] {
            let outcome = apply(&policy(mode), OsStr::new("codex"), &args);
            assert!(matches!(outcome, Outcome::RefuseUsage { .. }), "{outcome:?}");
            for (input, why) in refused {
                match apply_words(mode, input) {
                    Outcome::RefuseUsage { problem } => assert!(problem.contains(why), "{input}: {problem}"),
                    other => panic!("{input}: {other:?}"),
                }
            }
        }
        // clap accepts these: `--help` stops it first, `-` is a value, repeatable options, levels,
        // the hidden alias `--yolo`.
        for input in [
            "exec --help --bogus",
            "exec -h -m",
            "exec --oss --help --oss",
            "exec -m - hi",
            "exec --add-dir a --add-dir b -i a.png -i b.png hi",
            "-m gpt-pin exec -m gpt-pin hi",
            "--yolo exec hi",
            "exec --experimental-json hi",
            "-s read-only exec --approve-for-me hi",
        ] {
            assert!(matches!(apply_words(LockMode::Force, input), Outcome::Run { .. }), "{input}");
        }
    }

    #[test]
    fn attempts_name_what_was_asked() {
        let Outcome::Reject { attempts } =
            apply_words(LockMode::Reject, "exec resume --model=o3 -c model_provider=evil")
        else {
            panic!()
        };
        assert_eq!(
            attempts,
            [
                Attempt::new("--model=", "o3", Level::Command("exec resume".into())),
                Attempt::new("-c model_provider", "model_provider=evil", Level::Command("exec resume".into())),
            ]
        );
    }

    #[test]
    fn unpinnable_subcommands_are_refused_in_both_modes() {
        let cases = [
            ("debug app-server send-message-v2 hi", "debug app-server"),
            ("cloud list", "cloud"),
            ("cloud-tasks", "cloud"),
            ("agents", "agents"),
            ("remote-control start", "remote-control"),
            ("responses-api-proxy --port 1", "responses-api-proxy"),
        ];
        for mode in [LockMode::Force, LockMode::Reject] {
            for (input, path) in cases {
                assert_eq!(apply_words(mode, input), Outcome::Refuse { path: path.to_owned() }, "{input}");
            }
        }
        assert!(matches!(apply_words(LockMode::Force, "debug models"), Outcome::Run { .. }));
    }

    #[test]
    fn app_server_on_stdio_is_relayed_through_the_guard_with_the_root_pins() {
        let pins = j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE]);
        for input in
            ["app-server", "app-server --listen stdio://", "app-server --listen=stdio://", "app-server --stdio"]
        {
            for mode in [LockMode::Force, LockMode::Reject] {
                let want = Outcome::Relay { args: words(&j(&[&pins, input])), forced: vec![] };
                assert_eq!(apply_words(mode, input), want, "{input}");
            }
        }
        // Argv attempts are judged as for any command, then the stream is guarded.
        match apply_words(LockMode::Force, "-c model=x app-server") {
            Outcome::Relay { args, forced } => {
                assert_eq!(args[args.len() - 3..], words("-c model=\"gpt-pin\" app-server")[..]);
                assert!(!args.contains(&OsString::from("model=x")));
                assert_eq!(forced.len(), 1);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(apply_words(LockMode::Reject, "-c model=x app-server"), Outcome::Reject { .. }));
        // Printing the protocol chooses nothing: it runs as any command.
        assert!(matches!(
            apply_words(LockMode::Reject, "app-server generate-json-schema --out d"),
            Outcome::Run { .. }
        ));
    }

    #[test]
    fn app_server_elsewhere_than_stdio_is_refused_unless_allowed() {
        let cases = [
            ("app-server --listen ws://127.0.0.1:1", "app-server --listen ws://127.0.0.1:1"),
            ("app-server --listen=unix:// ", "app-server --listen unix://"),
            ("app-server --listen off", "app-server --listen off"),
            ("app-server daemon start", "app-server daemon start"),
            ("app-server proxy", "app-server proxy"),
        ];
        for mode in [LockMode::Force, LockMode::Reject] {
            for (input, form) in cases {
                assert_eq!(apply_words(mode, input), Outcome::RefuseUnguardable { form: form.to_owned() }, "{input}");
            }
        }
        let mut allowing = policy(LockMode::Reject);
        allowing.allow_unpinnable = vec!["app-server".into()];
        let outcome = apply(&allowing, OsStr::new("codex"), &words("app-server --listen ws://127.0.0.1:1"));
        let want = j(&[M, C_MODEL, C_JOBS, C_FEATURE, DISABLE, "app-server --listen ws://127.0.0.1:1"]);
        assert_eq!(outcome, Outcome::Run { args: words(&want), forced: vec![] });
    }

    #[test]
    fn operator_can_allow_an_unpinnable_subcommand() {
        let mut allowing = policy(LockMode::Reject);
        allowing.allow_unpinnable = vec!["cloud".into()];
        assert!(matches!(apply(&allowing, OsStr::new("codex"), &words("cloud list")), Outcome::Run { .. }));
        assert!(matches!(apply(&allowing, OsStr::new("codex"), &words("agents")), Outcome::Refuse { .. }));
    }

    #[test]
    fn harmless_internal_forms_pass_through_untouched() {
        for first in ["--codex-run-as-apply-patch", "--codex-run-as-fs-helper"] {
            let args = words(&format!("{first} -m x"));
            assert_eq!(
                apply(&policy(LockMode::Reject), OsStr::new("codex"), &args),
                Outcome::PassThrough { args: args.clone() }
            );
        }
        let args = words("-m x");
        for argv0 in ["apply_patch", "/usr/bin/applypatch"] {
            assert_eq!(
                apply(&policy(LockMode::Reject), OsStr::new(argv0), &args),
                Outcome::PassThrough { args: args.clone() }
            );
        }
    }

    #[test]
    fn internal_forms_that_run_programs_are_refused_in_both_modes() {
        for mode in [LockMode::Force, LockMode::Reject] {
            let args = words("--codex-run-as-arg0-exec-helper codex /proc/self/exe exec -m x");
            let want = Outcome::RefuseInternal { form: "--codex-run-as-arg0-exec-helper".into() };
            assert_eq!(apply(&policy(mode), OsStr::new("codex"), &args), want);
            let args = words("--codex-run-as-process-setup x");
            assert!(matches!(apply(&policy(mode), OsStr::new("codex"), &args), Outcome::RefuseInternal { .. }));
            let want = Outcome::RefuseInternal { form: "codex-linux-sandbox".into() };
            assert_eq!(apply(&policy(mode), OsStr::new("/x/codex-linux-sandbox"), &words("-- /proc/self/exe")), want);
        }
    }

    #[test]
    fn arguments_stay_byte_exact() {
        use std::os::unix::ffi::OsStrExt;
        let odd = [OsStr::from_bytes(b"caf\xe9 \xff"), OsStr::new(""), OsStr::new("two words"), OsStr::new("-")];
        let mut args = vec![OsString::from("exec")];
        args.extend(odd.iter().map(|a| a.to_os_string()));
        let Outcome::Run { args: out, .. } = apply(&policy(LockMode::Force), OsStr::new("codex"), &args) else {
            panic!()
        };
        assert_eq!(&out[out.len() - 5..], &args[..]);
    }

    #[test]
    fn pin_is_toml_escaped() {
        let odd = Policy { model: "a\"b\\c".to_owned(), mode: LockMode::Force, allow_unpinnable: vec![] };
        let Outcome::Run { args, .. } = apply(&odd, OsStr::new("codex"), &words("exec")) else { panic!() };
        assert!(args.contains(&OsString::from(r#"model="a\"b\\c""#)), "{args:?}");
        assert_eq!(toml_string("é\u{7f}"), "\"é\\u007F\"");
    }
}
