//! Reading codex's argv the way codex's own parser (clap) will, using the grammar table.
//!
//! The walk finds the subcommand path and every occurrence of an option that matters to the model
//! lock. It mirrors the clap rules the shim depends on:
//! - `--` ends option parsing: everything after it is positional text;
//! - `--long=value`, `--long value`, `-svalue`, `-s=value`, `-s value`, and short flag clusters;
//! - an option value never starts with `-`; a multi-value option (`-i a b c`) takes values until the
//!   next token that starts with `-`;
//! - a positional that names a subcommand is that subcommand, even after other positionals
//!   (`codex hello exec` runs `exec`: codex lets subcommands win over arguments);
//! - once a command with a trailing foreign command has its leading positionals
//!   (`sandbox CMD…`, `mcp add NAME CMD…`), every later token belongs to that command;
//! - options may follow positionals (`exec hi -m X`), and unknown options pass through.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::grammar::{Arity, CommandSpec, Meaning, OptSpec, Trailing};

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
    /// Token indices at which a multi-value option's value list ends (the list would absorb the
    /// token there if the token before it were removed).
    pub list_ends: Vec<usize>,
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
    let mut parsed =
        Parsed { path: Vec::new(), command, level_starts: vec![0], occurrences: Vec::new(), list_ends: Vec::new() };
    let mut positionals = 0;
    let mut i = 0;
    while i < args.len() {
        let token = args[i].as_bytes();
        if token == b"--" {
            break;
        }
        let level = parsed.path.len();
        if token.starts_with(b"--") {
            let body = &token[2..];
            let (name, attached) = match body.iter().position(|b| *b == b'=') {
                Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
                None => (body, None),
            };
            let name = String::from_utf8_lossy(name);
            let Some(spec) = command.find_long(&name) else {
                i += 1;
                continue;
            };
            let (form, value, end) = take_values(args, i + 1, spec.arity, attached, Form::Equals);
            parsed.note_option(spec, end, args.len());
            parsed.record(Occurrence {
                level,
                start: i,
                end,
                cluster_prefix: None,
                spec,
                spelling: format!("--{name}"),
                form,
                value,
            });
            i = end;
            continue;
        }
        if starts_with_dash(&args[i]) {
            i = walk_short_cluster(args, i, command, &mut parsed);
            continue;
        }
        if let Some(sub) = command.find_subcommand(&String::from_utf8_lossy(token)) {
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
        i += 1;
    }
    parsed
}

impl Parsed {
    fn record(&mut self, occurrence: Occurrence) {
        if occurrence.spec.meaning != Meaning::Plain {
            self.occurrences.push(occurrence);
        }
    }

    fn note_option(&mut self, spec: &OptSpec, end: usize, len: usize) {
        if spec.arity == Arity::Many && end < len {
            self.list_ends.push(end);
        }
    }
}

/// Handles `-abc`, `-mVALUE`, `-m=VALUE`, `-m VALUE`; returns the index of the next token.
fn walk_short_cluster(args: &[OsString], i: usize, command: &'static CommandSpec, parsed: &mut Parsed) -> usize {
    let token = args[i].as_bytes();
    let level = parsed.path.len();
    let prefix_before = |pos: usize| (pos > 1).then(|| OsString::from(OsStr::from_bytes(&token[..pos])));
    let mut pos = 1;
    while pos < token.len() {
        let ch = token[pos] as char;
        let Some(spec) = command.find_short(ch) else {
            return i + 1; // unknown: clap will complain; nothing of ours to find in it
        };
        if spec.arity == Arity::Flag {
            let cluster_prefix = prefix_before(pos);
            parsed.record(Occurrence {
                level,
                start: i,
                end: i + 1,
                cluster_prefix,
                spec,
                spelling: format!("-{ch}"),
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
        let (form, value, end) = take_values(args, i + 1, spec.arity, attached, attached_form);
        parsed.note_option(spec, end, args.len());
        let cluster_prefix = prefix_before(pos);
        parsed.record(Occurrence {
            level,
            start: i,
            end,
            cluster_prefix,
            spec,
            spelling: format!("-{ch}"),
            form,
            value,
        });
        return end;
    }
    i + 1
}

/// The value(s) of an option whose name ends at token `next - 1`.
fn take_values(
    args: &[OsString],
    next: usize,
    arity: Arity,
    attached: Option<&[u8]>,
    attached_form: Form,
) -> (Form, Option<OsString>, usize) {
    let mut end = next;
    let (form, value) = match (arity, attached) {
        (Arity::Flag, _) => (Form::Bare, None),
        (_, Some(value)) => (attached_form, Some(OsString::from(OsStr::from_bytes(value)))),
        (_, None) => match args.get(next) {
            Some(value) if !starts_with_dash(value) && value.as_bytes() != b"--" => {
                end += 1;
                (Form::Separate, Some(value.clone()))
            }
            _ => (Form::Bare, None),
        },
    };
    // clap keeps taking values only after a separate first value: `--image=a b` has one image.
    if arity == Arity::Many && form == Form::Separate {
        while end < args.len() && !starts_with_dash(&args[end]) && args[end].as_bytes() != b"--" {
            end += 1;
        }
    }
    (form, value, end)
}
