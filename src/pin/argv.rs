//! Reading codex's argv the way codex's own parser (clap) will, using the grammar table.
//!
//! The walk finds the subcommand path and every occurrence of an option that matters to the model
//! lock. It mirrors the clap rules the shim depends on:
//! - `--` ends option parsing: everything after it is positional text;
//! - `--long=value`, `--long value`, `-svalue`, `-s=value`, `-s value`, and short flag clusters;
//! - an option value never starts with `-` (unless the table says the option allows it); a
//!   multi-value option (`-i a b c`) takes values until the next token that starts with `-`;
//! - a positional that names a subcommand is that subcommand, even after other positionals
//!   (`codex hello exec` runs `exec`: codex lets subcommands win over arguments);
//! - once a command with a trailing foreign command has its leading positionals
//!   (`sandbox CMD…`, `mcp add NAME CMD…`), every later token belongs to that command;
//! - options may follow positionals (`exec hi -m X`);
//! - `--help`/`--version` end what clap checks: nothing after them is an error.
//!
//! It also predicts the usage errors clap reports (exit 2) from the table: an unknown option, a
//! value-taking option without its value, a flag with a value, a single-use option given twice,
//! conflicting options (`Usage`). Where the walk and clap could disagree, codex rejects the argv,
//! so the shim refuses it instead of rewriting it into one codex might accept.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::pin::grammar::{self, Arity, CommandSpec, Meaning, OptSpec, Trailing};

/// How an option and its value were written, which the audit trail reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `--model X`, `-m X`
    Separate,
    /// `--model=X`, `-m=X`
    Equals,
    /// `-mX`
    Attached,
    /// A flag, or a value-taking option with its value missing.
    Bare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Depth of the command the option was given to: 0 is the root.
    pub level: usize,
    /// Token range `[start, end)` in the arguments (argv without argv[0]).
    pub start: usize,
    pub end: usize,
    /// Flags of a short cluster written before this option (`-x` of `-xmVALUE`), kept on rewrite.
    pub cluster_prefix: Option<OsString>,
    pub spec: &'static OptSpec,
    /// The spelling used, `-m` or `--model`.
    pub spelling: String,
    pub form: Form,
    pub value: Option<OsString>,
}

impl Occurrence {
    /// `--model=`, `-m`, `-c model`, … : how the caller wrote it, without the value.
    pub fn syntax(&self, config_key: Option<&str>) -> String {
        let sep = match self.form {
            Form::Equals => "=",
            Form::Separate if config_key.is_some() => " ",
            _ => "",
        };
        match (config_key, self.form) {
            (Some(key), _) => format!("{}{sep}{key}", self.spelling),
            (None, Form::Attached) => format!("{}<value>", self.spelling),
            (None, _) => format!("{}{sep}", self.spelling),
        }
    }
}

/// What a token is to codex's parser, as far as the grammar table tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An option name (the first option of a short cluster), by its long name; `None` if unknown.
    Option(Option<&'static str>),
    /// A separate value of the named option.
    Value(&'static str),
    Subcommand(&'static str),
    /// A positional argument of the command (a prompt, a session id).
    Positional,
    /// `--`, and the text after it.
    Escape,
    /// A token of a trailing foreign command (`sandbox CMD…`).
    Foreign,
}

/// Why clap will reject the argv (exit 2), as the grammar table predicts: the shim refuses these
/// rather than rewrite them, since a rewrite could turn them into an argv codex accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// An option the command does not have, as written.
    Unknown(String),
    /// A value-taking option at the end, before `--`, or before a token starting with `-`.
    MissingValue(String),
    /// A flag given a value (`--oss=1`).
    UnexpectedValue(String),
    /// A single-use option given twice to one command.
    Repeated(String),
    /// Two options of one command that exclude each other.
    Conflict(String, String),
    /// A value that is not UTF-8 for an option codex reads as text (every option that chooses a
    /// model or an endpoint: `String` in codex-rs).
    NotUtf8(String),
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Usage::Unknown(option) => write!(f, "{option:?} is not an option of this codex command"),
            Usage::MissingValue(option) => write!(f, "{option} has no value (the next argument is not one)"),
            Usage::UnexpectedValue(option) => write!(f, "{option} takes no value"),
            Usage::Repeated(option) => write!(f, "--{option} is given twice"),
            Usage::Conflict(a, b) => write!(f, "--{a} cannot be used with --{b}"),
            Usage::NotUtf8(option) => write!(f, "the value of {option} is not UTF-8"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Subcommand path below the root, canonical names (`["exec", "resume"]`); empty for the TUI.
    pub path: Vec<&'static str>,
    /// Spec of the innermost command.
    pub command: &'static CommandSpec,
    /// For each level (0 = root), the index of the first token after the command's name: where
    /// options for that level can be inserted without changing how anything else parses.
    pub level_starts: Vec<usize>,
    /// Occurrences of options whose meaning is not `Plain`, in argv order.
    pub occurrences: Vec<Occurrence>,
    /// The first usage error clap will report, if any; none once `--help`/`--version` is read.
    pub usage: Option<Usage>,
    /// The level (depth) and role of every token.
    pub roles: Vec<(usize, Role)>,
    /// Every known option given, with its level: the input of the repeat and conflict rules.
    given: Vec<(usize, &'static OptSpec)>,
    /// `--help` or `--version` was read: clap prints and exits there, checking nothing after it.
    short_circuit: bool,
}

impl Parsed {
    pub fn path_string(&self) -> String {
        self.path.join(" ")
    }
}

fn starts_with_dash(token: &OsStr) -> bool {
    let bytes = token.as_bytes();
    bytes.len() > 1 && bytes[0] == b'-'
}

/// Walks `args` (argv without argv[0]) against the grammar rooted at `root`.
pub fn parse(args: &[OsString], root: &'static CommandSpec) -> Parsed {
    let mut command = root;
    let mut parsed = Parsed {
        path: Vec::new(),
        command,
        level_starts: vec![0],
        occurrences: Vec::new(),
        usage: None,
        roles: Vec::with_capacity(args.len()),
        given: Vec::new(),
        short_circuit: false,
    };
    let mut positionals = 0;
    let mut i = 0;
    while i < args.len() {
        let token = args[i].as_bytes();
        let level = parsed.path.len();
        if token == b"--" {
            break;
        }
        if token.starts_with(b"--") {
            let body = &token[2..];
            let (name, attached) = match body.iter().position(|b| *b == b'=') {
                Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
                None => (body, None),
            };
            let name = String::from_utf8_lossy(name);
            let Some(spec) = command.find_long_or_alias(&name) else {
                parsed.usage_error(Usage::Unknown(format!("--{name}")));
                parsed.roles.push((level, Role::Option(None)));
                i += 1;
                continue;
            };
            if spec.arity == Arity::Flag && attached.is_some() {
                parsed.usage_error(Usage::UnexpectedValue(format!("--{name}")));
            }
            let spelling = format!("--{name}");
            let (form, value, end) = take_values(args, i + 1, spec, attached, Form::Equals);
            parsed.given_option(level, spec, &spelling, form);
            parsed.roles.push((level, Role::Option(Some(spec.long))));
            parsed.roles.extend((i + 1..end).map(|_| (level, Role::Value(spec.long))));
            parsed.record(Occurrence { level, start: i, end, cluster_prefix: None, spec, spelling, form, value });
            i = end;
            continue;
        }
        if starts_with_dash(&args[i]) {
            i = walk_short_cluster(args, i, command, &mut parsed);
            continue;
        }
        if let Some(sub) = command.find_subcommand(&String::from_utf8_lossy(token)) {
            parsed.roles.push((level, Role::Subcommand(sub.name)));
            parsed.path.push(sub.name);
            parsed.level_starts.push(i + 1);
            command = sub;
            parsed.command = sub;
            positionals = 0;
            i += 1;
            continue;
        }
        positionals += 1;
        if let Trailing::ForeignAfter(leading) = command.trailing {
            if positionals > leading {
                break;
            }
        }
        parsed.roles.push((level, Role::Positional));
        i += 1;
    }
    let rest = if args.get(i).is_some_and(|t| t.as_bytes() == b"--") { Role::Escape } else { Role::Foreign };
    parsed.roles.extend((i..args.len()).map(|_| (parsed.path.len(), rest)));
    parsed.check_conflicts();
    parsed
}

impl Parsed {
    fn record(&mut self, occurrence: Occurrence) {
        if occurrence.spec.meaning != Meaning::Plain {
            if occurrence.value.as_deref().is_some_and(|v| v.to_str().is_none()) {
                self.usage_error(Usage::NotUtf8(occurrence.spelling.clone()));
            }
            self.occurrences.push(occurrence);
        }
    }

    /// clap reports the first error it meets and checks nothing after `--help`.
    fn usage_error(&mut self, usage: Usage) {
        if self.usage.is_none() && !self.short_circuit {
            self.usage = Some(usage);
        }
    }

    fn given_option(&mut self, level: usize, spec: &'static OptSpec, spelling: &str, form: Form) {
        if spec.arity != Arity::Flag && form == Form::Bare {
            self.usage_error(Usage::MissingValue(spelling.to_owned()));
        }
        if !spec.repeats && self.given.iter().any(|(l, s)| *l == level && s.long == spec.long) {
            self.usage_error(Usage::Repeated(spec.long.to_owned()));
        }
        self.given.push((level, spec));
        if grammar::SHORT_CIRCUIT.contains(&spec.long) {
            self.short_circuit = true;
        }
    }

    /// Conflicts are checked after the whole argv is read, so `--help` anywhere wins over them.
    fn check_conflicts(&mut self) {
        for (level, spec) in &self.given {
            let other = spec.conflicts.iter().find(|c| self.given.iter().any(|(l, s)| l == level && s.long == **c));
            if let Some(other) = other {
                let conflict = Usage::Conflict(spec.long.to_owned(), (*other).to_owned());
                self.usage_error(conflict);
                return;
            }
        }
    }
}

/// Handles `-abc`, `-mVALUE`, `-m=VALUE`, `-m VALUE`; returns the index of the next token.
fn walk_short_cluster(args: &[OsString], i: usize, command: &'static CommandSpec, parsed: &mut Parsed) -> usize {
    let token = args[i].as_bytes();
    let level = parsed.path.len();
    let prefix_before = |pos: usize| (pos > 1).then(|| OsString::from(OsStr::from_bytes(&token[..pos])));
    let mut pos = 1;
    let mut first = None;
    let mut end = i + 1;
    while pos < token.len() {
        let ch = token[pos] as char;
        let Some(spec) = command.find_short(ch) else {
            // clap stops at the letter it does not know: nothing after it is read.
            parsed.usage_error(Usage::Unknown(format!("-{}", String::from_utf8_lossy(&token[pos..pos + 1]))));
            break;
        };
        first.get_or_insert(spec.long);
        let spelling = format!("-{ch}");
        if spec.arity == Arity::Flag {
            parsed.given_option(level, spec, &spelling, Form::Bare);
            let cluster_prefix = prefix_before(pos);
            parsed.record(Occurrence {
                level,
                start: i,
                end: i + 1,
                cluster_prefix,
                spec,
                spelling,
                form: Form::Bare,
                value: None,
            });
            pos += 1;
            continue;
        }
        let (attached, attached_form) = match &token[pos + 1..] {
            [] => (None, Form::Separate),
            [b'=', value @ ..] => (Some(value), Form::Equals),
            value => (Some(value), Form::Attached),
        };
        let (form, value, value_end) = take_values(args, i + 1, spec, attached, attached_form);
        parsed.given_option(level, spec, &spelling, form);
        let cluster_prefix = prefix_before(pos);
        parsed.record(Occurrence { level, start: i, end: value_end, cluster_prefix, spec, spelling, form, value });
        end = value_end;
        break;
    }
    parsed.roles.push((level, Role::Option(first)));
    let value_of = first.unwrap_or_default();
    parsed.roles.extend((i + 1..end).map(|_| (level, Role::Value(value_of))));
    end
}

/// The value(s) of an option whose name ends at token `next - 1`.
fn take_values(
    args: &[OsString],
    next: usize,
    spec: &OptSpec,
    attached: Option<&[u8]>,
    attached_form: Form,
) -> (Form, Option<OsString>, usize) {
    // Without `allow_hyphen_values`, clap reads a token starting with `-` (and `--`) as the next
    // option, never as a value.
    let is_value = |token: &OsString| spec.hyphen_values || (!starts_with_dash(token) && token.as_bytes() != b"--");
    let mut end = next;
    let (form, value) = match (spec.arity, attached) {
        (Arity::Flag, _) => (Form::Bare, None),
        (_, Some(value)) => (attached_form, Some(OsString::from(OsStr::from_bytes(value)))),
        (_, None) => match args.get(next) {
            Some(value) if is_value(value) => {
                end += 1;
                (Form::Separate, Some(value.clone()))
            }
            _ => (Form::Bare, None),
        },
    };
    // clap keeps taking values only after a separate first value: `--image=a b` has one image.
    if spec.arity == Arity::Many && form == Form::Separate {
        while end < args.len() && is_value(&args[end]) {
            end += 1;
        }
    }
    (form, value, end)
}
