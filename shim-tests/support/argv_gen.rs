//! Codex command lines generated from the grammar table, for the property tests of the rewrite and
//! the differential run against the real CLI. A generated argv is a pure function of a list of
//! numbers (`build`), so proptest shrinks that list and a failing argv prints in full.
#![allow(dead_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use openclaw_codex::pin::grammar::{Arity, CommandSpec, OptSpec, Trailing, ROOT};

/// The pinned model the tests configure.
pub const PIN: &str = crate::support::PIN;

/// Command paths the differential run may reach: each either fails fast, answers from the mock or
/// prints, and none writes outside its temporary CODEX_HOME or reaches the network.
pub const SAFE_PATHS: &[&str] = &[
    "exec",
    "exec resume",
    "exec fork",
    "exec review",
    "review",
    "resume",
    "fork",
    "mcp",
    "mcp list",
    "features",
    "features list",
    "completion",
    "sandbox",
    "help",
];

/// Values an option may get: models, profiles, providers, option-like and subcommand-like tokens,
/// `--`, empty and non-UTF-8 text.
const VALUES: &[&[u8]] = &[
    b"gpt-evil",
    PIN.as_bytes(),
    b"work",
    b"ollama",
    b"ws://127.0.0.1:9",
    b"a.png",
    b"read-only",
    b"never",
    b"--oss",
    b"-p",
    b"-m",
    b"-h",
    b"--",
    b"-",
    b"sandbox",
    b"exec",
    b"hi",
    b"",
    b"caf\xe9",
];

/// `-c` values: model-bearing and provider keys, the shim's own pins, harmless keys.
const CONFIG_VALUES: &[&str] = &[
    "model=\"gpt-evil\"",
    "model=\"gpt-pin\"",
    "model_provider=other",
    "model_providers.mock.base_url=\"{MOCK2}\"",
    "review_model=gpt-evil",
    "features.multi_agent=true",
    "features.multi_agent_v2=false",
    "approvals_reviewer=user",
    "x=1",
    "model_reasoning_effort=\"low\"",
];

/// Value-taking options a clean argv may use (`value_for` gives each a value it accepts).
const CLEAN_VALUED: &[&str] =
    &["config", "enable", "disable", "image", "sandbox", "color", "profile", "model", "add-dir"];

const FEATURES: &[&str] = &["multi_agent", "multi_agent_v2", "goals", "memories"];

/// Options no command has, and forms clap rejects.
const UNKNOWN: &[&str] = &["--bogus", "-Z", "-1", "--mod", "--oss=1", "---", "--=x"];

/// Positional words: prompts, other commands' names, text that looks like an option to a person.
const WORDS: &[&[u8]] = &[b"hi", b"", b"two words", b"caf\xe9", b"exec", b"sandbox", b"-", b"resume", b"status"];

/// Foreign commands for `sandbox`: harmless programs, then arguments codex must not read.
const FOREIGN: &[&[&str]] = &[&["true"], &["echo", "-m", "gpt-evil"], &["echo", "--oss", "-c", "model=x"]];

/// Numbers in, choices out; past the end of the list every choice is the first.
struct Draw<'a> {
    numbers: &'a [u32],
    next: usize,
    /// Only well-formed options with values they mean something for: argvs that codex runs.
    clean: bool,
}

impl Draw<'_> {
    fn below(&mut self, n: usize) -> usize {
        let value = self.numbers.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        if n == 0 {
            0
        } else {
            value as usize % n
        }
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn path_of(path: &[&str]) -> String {
    path.join(" ")
}

fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

/// A value for `spec`: mostly one it means something for, sometimes any token at all.
fn value_for(draw: &mut Draw, spec: &OptSpec) -> OsString {
    if !draw.clean && draw.chance(30) {
        return os(draw.pick(VALUES));
    }
    match spec.long {
        "config" => OsString::from(draw.pick(CONFIG_VALUES)),
        "enable" | "disable" => OsString::from(draw.pick(FEATURES)),
        "image" => OsString::from("a.png"),
        "sandbox" => OsString::from("read-only"),
        "color" => OsString::from("never"),
        "remote" => OsString::from("ws://127.0.0.1:9"),
        "profile" => OsString::from("work"),
        "model" => OsString::from(draw.pick(&["gpt-evil", PIN])),
        _ if draw.clean => OsString::from("x"),
        _ => os(draw.pick(VALUES)),
    }
}

/// One option of `command` in one of the spellings clap accepts (or a broken one).
fn option(draw: &mut Draw, command: &CommandSpec, out: &mut Vec<OsString>, safe: bool) {
    let clean = draw.clean;
    let options: Vec<&OptSpec> = command
        .all_options()
        // Help and version print instead of running: rare, so the rest of the argv counts.
        .filter(|o| !["help", "version"].contains(&o.long) || draw.chance(3))
        // Output files would land in the working directory of the run; a clean argv gets no
        // option whose value `x` is invalid.
        .filter(|o| !safe || !["output-last-message", "cd", "worktree"].contains(&o.long))
        .filter(|o| !clean || o.arity == Arity::Flag || CLEAN_VALUED.contains(&o.long))
        .collect();
    if options.is_empty() {
        return;
    }
    let spec = draw.pick(&options);
    let long = format!("--{}", spec.long);
    let short = spec.short.map(|c| format!("-{c}"));
    if spec.arity == Arity::Flag {
        match (draw.below(4), &short) {
            (0, Some(short)) => out.push(OsString::from(short)),
            // A cluster: a flag of the command first, then this one.
            (1, Some(short)) => {
                let flags: Vec<char> = command
                    .all_options()
                    .filter(|o| o.arity == Arity::Flag && o.long != "help")
                    .filter_map(|o| o.short)
                    .collect();
                let first = if flags.is_empty() { String::new() } else { draw.pick(&flags).to_string() };
                out.push(OsString::from(format!("-{first}{}", &short[1..])));
            }
            _ => out.push(OsString::from(long)),
        }
        return;
    }
    let value = value_for(draw, spec);
    let name = match &short {
        Some(short) if draw.chance(50) => short.clone(),
        _ => long,
    };
    let form = if draw.clean { draw.pick(&[0, 1, 3]) } else { draw.below(6) };
    match form {
        0 => {
            let mut token = OsString::from(format!("{name}="));
            token.push(&value);
            out.push(token);
        }
        1 if name.len() == 2 => {
            let mut token = OsString::from(&name);
            token.push(&value);
            out.push(token);
        }
        // Left without its value: at the end or before another option.
        2 => out.push(OsString::from(&name)),
        _ => {
            out.push(OsString::from(&name));
            out.push(value);
            if spec.arity == Arity::Many && draw.chance(30) {
                out.push(OsString::from("b.png"));
            }
        }
    }
}

/// What the items of one level may be.
fn item(draw: &mut Draw, command: &CommandSpec, out: &mut Vec<OsString>, safe: bool) {
    if draw.clean {
        return option(draw, command, out, safe);
    }
    match draw.below(12) {
        0..=6 => option(draw, command, out, safe),
        7 => out.push(OsString::from(draw.pick(UNKNOWN))),
        8 | 9 => out.push(os(draw.pick(WORDS))),
        // The same option again: single-use ones are a usage error.
        10 => {
            if let Some(start) = out.iter().rposition(|t| t.as_encoded_bytes().starts_with(b"-")) {
                let repeat: Vec<OsString> = out[start..].to_vec();
                out.extend(repeat.into_iter().take(2));
            }
        }
        _ => {
            out.push(OsString::from("--"));
            out.push(os(draw.pick(WORDS)));
            if draw.chance(50) {
                out.push(OsString::from("-m"));
                out.push(OsString::from("gpt-evil"));
            }
        }
    }
}

/// The argv drawn from `numbers`. `safe`: only `SAFE_PATHS` (and the TUI at the root), exec
/// preferred and made cheap (`--skip-git-repo-check --ephemeral`, a short prompt).
pub fn build(numbers: &[u32], safe: bool) -> Vec<OsString> {
    let mut draw = Draw { numbers, next: 0, clean: false };
    draw.clean = safe && draw.chance(50);
    let mut out = Vec::new();
    let mut command: &CommandSpec = &ROOT;
    let mut path: Vec<&str> = Vec::new();
    let max_items = if safe { 3 } else { 4 };
    loop {
        for _ in 0..draw.below(max_items + 1) {
            item(&mut draw, command, &mut out, safe);
            if out.last().is_some_and(|t| t == "--") {
                return out; // text follows `--`; nothing after it is parsed
            }
        }
        let subs: Vec<&CommandSpec> = command
            .subcommands
            .iter()
            .filter(|s| {
                let mut p = path.clone();
                p.push(s.name);
                !safe || SAFE_PATHS.contains(&path_of(&p).as_str())
            })
            .collect();
        // A clean argv is one `exec` with a prompt: most such runs succeed.
        let exec_first = safe && path.is_empty() && (draw.clean || draw.chance(60));
        if subs.is_empty() || draw.clean && !path.is_empty() || (!exec_first && draw.chance(30)) {
            break;
        }
        let sub = if exec_first { ROOT.find_subcommand("exec").unwrap() } else { draw.pick(&subs) };
        let name = if !sub.aliases.is_empty() && draw.chance(20) { sub.aliases[0] } else { sub.name };
        out.push(OsString::from(name));
        path.push(sub.name);
        command = sub;
        if safe && sub.name == "exec" {
            out.extend(["--skip-git-repo-check", "--ephemeral"].map(OsString::from));
        }
        if let Trailing::ForeignAfter(leading) = sub.trailing {
            for _ in 0..draw.below(2) {
                item(&mut draw, command, &mut out, safe);
            }
            out.extend((0..leading).map(|_| OsString::from("srv")));
            out.extend(draw.pick(FOREIGN).iter().map(OsString::from));
            return out;
        }
    }
    if draw.clean || draw.chance(60) {
        out.push(OsString::from("hi"));
    }
    for _ in 0..if draw.clean { 0 } else { draw.below(3) } {
        item(&mut draw, command, &mut out, safe);
    }
    out
}
