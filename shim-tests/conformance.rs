//! Conformance of the shim against the real Codex CLI: bypass corpus and grammar drift.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use openclaw_codex::pin::grammar::{Arity, CommandSpec, OptSpec, ROOT};
use support::bypass_env::{Script, World};
use support::help_text::{HelpPage, Values};
use support::mock_api::Request;
use support::PIN;

// ------------------------------------------------------------------------------------------------
// Grammar drift: the shim's table against the real CLI's `--help`.
// ------------------------------------------------------------------------------------------------

/// Commands the table knows that their parent's `Commands:` list does not show (clap `hide`).
/// Each is still checked: its own `--help` must exist and match its table entry.
const HIDDEN_COMMANDS: &[&str] = &[
    "execpolicy",
    "responses-api-proxy",
    "stdio-to-uds",
    "tcp-tunnel",
    "debug clear-memories",
    "debug trace-reduce",
    "app-server generate-internal-json-schema",
    "app-server daemon pid-update-loop",
];

/// `(command path, alias)`: aliases the table knows that the help does not show.
const HIDDEN_ALIASES: &[(&str, &str)] = &[("cloud", "cloud-tasks")];

/// Every command path of the table, root (empty) first.
fn table_commands() -> Vec<(Vec<&'static str>, &'static CommandSpec)> {
    fn walk(
        path: &[&'static str],
        spec: &'static CommandSpec,
        out: &mut Vec<(Vec<&'static str>, &'static CommandSpec)>,
    ) {
        out.push((path.to_vec(), spec));
        for sub in spec.subcommands {
            let mut deeper = path.to_vec();
            deeper.push(sub.name);
            walk(&deeper, sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&[], &ROOT, &mut out);
    out
}

/// The real codex run directly (no shim), with a throwaway HOME/CODEX_HOME and stdin closed.
fn real_codex(home: &Path) -> Command {
    let mut command = Command::new(support::real_codex_binary());
    command.env_clear().env("PATH", "/usr/bin:/bin").env("HOME", home).env("CODEX_HOME", home).stdin(Stdio::null());
    command
}

/// `codex ARGS --help`, run by `real_codex`.
fn real_help(home: &Path, args: &[&str]) -> Result<String, String> {
    let output = real_codex(home).args(args).arg("--help").output().map_err(|e| format!("cannot run codex: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`codex {} --help` exited {:?}: {}",
            args.join(" "),
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn arity_name(arity: Arity) -> &'static str {
    match arity {
        Arity::Flag => "no value",
        Arity::One => "one value",
        Arity::Many => "many values",
    }
}

fn values_match(arity: Arity, values: &Values) -> bool {
    matches!((arity, values), (Arity::Flag, Values::Flag) | (Arity::One, Values::One) | (Arity::Many, Values::Many))
}

/// The page is the help of `path` itself: a removed command would be taken for the root's PROMPT
/// and print the root's help instead.
fn usage_names(page: &HelpPage, path: &[&str]) -> bool {
    let mut words = page.usage.split_whitespace();
    words.next() == Some("Usage:")
        && words.next() == Some("codex")
        && path.iter().all(|p| words.next() == Some(p))
        && words.next().is_none_or(|w| w.starts_with(['[', '<', '(', '-']))
}

/// Every difference between the table's entry for `path` and the help page of that command.
fn compare(path: &[&str], spec: &CommandSpec, page: &HelpPage) -> Vec<String> {
    let at = if path.is_empty() { "`codex`".to_owned() } else { format!("`codex {}`", path.join(" ")) };
    let mut problems = Vec::new();
    if !usage_names(page, path) {
        problems.push(format!("{at}: --help is not this command's help (usage line {:?})", page.usage));
        return problems;
    }
    for listed in &page.options {
        let Some(long) = &listed.long else {
            problems
                .push(format!("{at}: the CLI lists {} without a long name; the table cannot hold it", listed.name()));
            continue;
        };
        let Some(known) = spec.find_long(long) else {
            problems.push(format!(
                "{at}: the CLI lists option {} ({:?}), missing from the table",
                listed.name(),
                listed.values
            ));
            continue;
        };
        if known.short != listed.short {
            problems.push(format!(
                "{at}: --{long} has short form {:?} in the CLI, {:?} in the table",
                listed.short, known.short
            ));
        }
        if !values_match(known.arity, &listed.values) {
            problems.push(format!(
                "{at}: --{long} takes {:?} in the CLI, {} in the table",
                listed.values,
                arity_name(known.arity)
            ));
        }
    }
    for known in spec.all_options() {
        if !page.options.iter().any(|o| o.long.as_deref() == Some(known.long)) {
            problems.push(format!("{at}: the table has option --{}, the CLI does not list it", known.long));
        }
    }
    let joined = |name: &str| {
        let mut full = path.to_vec();
        full.push(name);
        full.join(" ")
    };
    for listed in page.commands.iter().filter(|c| c.name != "help") {
        let Some(known) = spec.subcommands.iter().find(|c| c.name == listed.name) else {
            problems.push(format!("{at}: the CLI lists subcommand `{}`, missing from the table", listed.name));
            continue;
        };
        for alias in &listed.aliases {
            if !known.aliases.contains(&alias.as_str()) {
                problems
                    .push(format!("{at}: the CLI lists alias `{alias}` of `{}`, missing from the table", listed.name));
            }
        }
        for alias in known.aliases {
            let hidden = HIDDEN_ALIASES.contains(&(joined(known.name).as_str(), alias));
            if !listed.aliases.iter().any(|a| a == alias) && !hidden {
                problems
                    .push(format!("{at}: the table has alias `{alias}` of `{}`, the CLI does not list it", known.name));
            }
        }
    }
    for known in spec.subcommands {
        let full = joined(known.name);
        let listed = page.commands.iter().any(|c| c.name == known.name);
        let hidden = HIDDEN_COMMANDS.contains(&full.as_str());
        match (listed, hidden) {
            (false, false) => problems.push(format!(
                "{at}: the table has subcommand `{}`, the CLI does not list it (hidden? add it to HIDDEN_COMMANDS)",
                known.name
            )),
            (true, true) => {
                problems.push(format!("{at}: `{}` is listed now; remove it from HIDDEN_COMMANDS", known.name))
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn grammar_table_matches_the_real_cli_help() {
    let home = tempfile::tempdir().unwrap();
    let commands = table_commands();
    // A hidden alias must still reach its command: `codex cloud-tasks --help` prints `cloud`'s
    // help.
    let alias_checks: Vec<(Vec<&str>, Vec<&str>)> = HIDDEN_ALIASES
        .iter()
        .map(|(path, alias)| {
            let path: Vec<&str> = path.split(' ').collect();
            let mut via_alias = path[..path.len() - 1].to_vec();
            via_alias.push(alias);
            (path, via_alias)
        })
        .collect();
    for hidden in HIDDEN_COMMANDS.iter().map(|h| h.split(' ').collect::<Vec<_>>()) {
        assert!(
            commands.iter().any(|(path, _)| *path == hidden),
            "HIDDEN_COMMANDS names `{}`, which the table does not have",
            hidden.join(" ")
        );
    }

    let mut problems: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = commands
            .chunks(commands.len().div_ceil(4))
            .map(|chunk| {
                let home = home.path();
                scope.spawn(move || {
                    let mut problems = Vec::new();
                    for (path, spec) in chunk {
                        match real_help(home, path) {
                            Ok(text) => problems.extend(compare(path, spec, &support::help_text::parse(&text))),
                            Err(error) => problems.push(error),
                        }
                    }
                    problems
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    for (path, via_alias) in &alias_checks {
        match real_help(home.path(), via_alias) {
            Ok(text) if usage_names(&support::help_text::parse(&text), path) => {}
            Ok(_) => problems.push(format!(
                "`codex {}` is no longer an alias of `codex {}`",
                via_alias.join(" "),
                path.join(" ")
            )),
            Err(error) => problems.push(error),
        }
    }
    assert!(
        problems.is_empty(),
        "the grammar table (src/pin/grammar.rs, Codex CLI {}) differs from the real CLI's --help in {} place(s):\n  {}",
        openclaw_codex::pin::grammar::CODEX_VERSION,
        problems.len(),
        problems.join("\n  ")
    );
    assert!(commands.len() > 50, "the walk found only {} commands", commands.len());
}

#[test]
fn the_drift_check_reports_each_kind_of_difference() {
    // Control for the test above: the real `exec` help, edited the ways a new release could
    // change it.
    let home = tempfile::tempdir().unwrap();
    let text = real_help(home.path(), &["exec"]).unwrap();
    let exec = ROOT.find_subcommand("exec").unwrap();
    assert_eq!(compare(&["exec"], exec, &support::help_text::parse(&text)), Vec::<String>::new());
    let edited = text
        .replace("  -i, --image <FILE>...", "  -i, --image <FILE>")
        .replace("      --oss\n", "      --oss-v2\n")
        .replace("  -m, --model <MODEL>", "  -M, --model <MODEL>")
        .replace("      --ephemeral\n", "      --ephemeral <WHEN>\n")
        .replace("  help    Print", "  spawn   Start a sub-agent\n          on any model\n  help    Print")
        .replace("  review  Run a code review", "  reviews  Run a code review");
    let problems = compare(&["exec"], exec, &support::help_text::parse(&edited));
    let expected = [
        "--image takes One in the CLI, many values in the table",
        "option --oss-v2 (Flag), missing from the table",
        "the table has option --oss, the CLI does not list it",
        "--model has short form Some('M') in the CLI, Some('m') in the table",
        "--ephemeral takes One in the CLI, no value in the table",
        "subcommand `spawn`, missing from the table",
        "subcommand `reviews`, missing from the table",
        "the table has subcommand `review`, the CLI does not list it",
    ];
    for needle in expected {
        assert!(problems.iter().any(|p| p.contains(needle)), "no problem mentions {needle:?}: {problems:#?}");
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");

    // The root's alias list: `e` is shown there, not in `exec`'s own help.
    let root_text = real_help(home.path(), &[]).unwrap();
    let root_edited = root_text.replace("[aliases: e]", "[aliases: e, x]");
    let problems = compare(&[], &ROOT, &support::help_text::parse(&root_edited));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("alias `x` of `exec`"), "{problems:#?}");
    let root_edited = root_text.replace(" [aliases: e]", "");
    let problems = compare(&[], &ROOT, &support::help_text::parse(&root_edited));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("the table has alias `e`"), "{problems:#?}");
}

// ------------------------------------------------------------------------------------------------
// Usage rules: what the table says clap rejects (an option given twice, a value starting with `-`)
// against what the real CLI does with each option of each command.
// ------------------------------------------------------------------------------------------------

/// `codex ARGS`, run by `real_codex`: exit code and stderr.
fn real_run(home: &Path, args: &[String]) -> Result<(Option<i32>, String), String> {
    let output = real_codex(home).args(args).output().map_err(|e| format!("cannot run codex: {e}"))?;
    Ok((output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned()))
}

/// Values tried in turn until the option accepts one (`--opt=V --help` exits 0).
const PROBE_VALUES: &[&str] = &[
    "x",
    "1",
    "read-only",
    "x=1",
    "never",
    "stdio://",
    "standard",
    "auto",
    "capability-token",
    "http://127.0.0.1:1",
    "00000000-0000-0000-0000-000000000000",
    "isolate",
    "noise",
    "127.0.0.1:1",
];

/// The differences between `spec`'s usage rules and the real CLI, for one option of `path`. Every
/// probe ends in an error or `--help` (which stops clap where it stands), so nothing runs.
fn probe_option(home: &Path, path: &[&str], spec: &OptSpec) -> Vec<String> {
    let at = format!("`codex {}` --{}", path.join(" "), spec.long);
    let run = |tail: &[String]| {
        let mut args: Vec<String> = path.iter().map(|p| p.to_string()).collect();
        args.extend(tail.iter().cloned());
        real_run(home, &args)
    };
    let long = format!("--{}", spec.long);
    let mut problems = Vec::new();
    let twice = |value: Option<&str>| -> Result<bool, String> {
        let token = value.map_or(long.clone(), |v| format!("{long}={v}"));
        let (code, stderr) = run(&[token.clone(), token, "--help".into()])?;
        match code {
            Some(0) => Ok(true),
            Some(2) if stderr.contains("cannot be used multiple times") => Ok(false),
            _ => Err(format!("given twice: exit {code:?}: {}", stderr.trim())),
        }
    };
    let repeats = if spec.arity == Arity::Flag {
        twice(None)
    } else {
        let accepted = PROBE_VALUES
            .iter()
            .find(|v| run(&[format!("{long}={v}"), "--help".into()]).is_ok_and(|(code, _)| code == Some(0)));
        match accepted {
            Some(value) => twice(Some(value)),
            None => Err("accepts none of the probe values".to_owned()),
        }
    };
    match repeats {
        Ok(repeats) if repeats != spec.repeats => {
            problems.push(format!("{at}: repeats={repeats} in the CLI, {} in the table", spec.repeats))
        }
        Ok(_) => {}
        Err(why) => problems.push(format!("{at}: {why}")),
    }
    if spec.arity != Arity::Flag {
        // `-h` as the value: clap either takes it (hyphen values: the bogus option then fails) or
        // reports the value missing; help printed would mean an optional value the table cannot hold.
        match run(&[long.clone(), "-h".into(), "--zz-probe".into()]) {
            Ok((Some(2), stderr)) if stderr.contains("a value is required for") => {
                if spec.hyphen_values {
                    problems.push(format!("{at}: takes no value starting with `-` in the CLI"));
                }
            }
            Ok((Some(2), stderr)) if stderr.contains("'--zz-probe'") || stderr.contains("invalid value '-h'") => {
                if !spec.hyphen_values {
                    problems.push(format!("{at}: takes a value starting with `-` in the CLI"));
                }
            }
            Ok((code, stderr)) => problems.push(format!("{at} -h: exit {code:?}: {}", stderr.trim())),
            Err(e) => problems.push(e),
        }
    }
    problems
}

#[test]
fn usage_rules_match_the_real_cli() {
    let home = tempfile::tempdir().unwrap();
    let options: Vec<(Vec<&str>, &OptSpec)> = table_commands()
        .into_iter()
        .flat_map(|(path, spec)| {
            spec.all_options().filter(|o| !["help", "version"].contains(&o.long)).map(move |o| (path.clone(), o))
        })
        .collect();
    let problems: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = options
            .chunks(options.len().div_ceil(2))
            .map(|chunk| {
                let home = home.path();
                scope.spawn(move || chunk.iter().flat_map(|(path, spec)| probe_option(home, path, spec)).collect())
            })
            .collect();
        workers.into_iter().flat_map(|w: std::thread::ScopedJoinHandle<Vec<String>>| w.join().unwrap()).collect()
    });
    assert!(options.len() > 300, "only {} options probed", options.len());
    // Control: the probes see a wrong entry of either kind.
    let exec = ROOT.find_subcommand("exec").unwrap();
    let oss = OptSpec { repeats: true, ..*exec.find_long("oss").unwrap() };
    let add_dir = OptSpec { repeats: false, hyphen_values: true, ..*exec.find_long("add-dir").unwrap() };
    assert_eq!(probe_option(home.path(), &["exec"], &oss).len(), 1, "a repeating --oss went unseen");
    assert_eq!(probe_option(home.path(), &["exec"], &add_dir).len(), 2, "a wrong --add-dir went unseen");
    assert!(
        problems.is_empty(),
        "the usage rules of the grammar table differ from the real CLI in {} place(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ------------------------------------------------------------------------------------------------
// Bypass corpus: every way argv can choose a model or an endpoint, through the shim, both modes.
// ------------------------------------------------------------------------------------------------

/// What the shim must make of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// argv tries to choose the model or where requests go. force: exit 0 and every request
    /// carries the pin to the configured mock; reject: exit 77 and no request anywhere.
    Attempt,
    /// Nothing in argv chooses a model (files in CODEX_HOME or the project may): both modes as
    /// force above.
    Benign,
    /// The shim refuses the call in both modes (exit 77) and codex never runs.
    Refused,
    /// The real codex refuses the call itself with this exit code, shim or not: force and (for a
    /// benign argv) reject exit with it and send nothing; reject exits 77 for an attempt.
    CodexFails { code: i32, attempt: bool },
    /// codex rejects the argv as a usage error (exit 2): the shim refuses it in both modes (exit
    /// 64) rather than rewrite it, and nothing is sent.
    Usage,
}

/// Where the case runs: the tree root (holding `a.png`, `b.png`), the trusted project, the git
/// repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cwd {
    Tree,
    Project,
    Repo,
}

/// One argv. `{MOCK2}` (the second mock's base URL), `{PROJECT}`, `{REPO}` and `{SESSION}` (the
/// thread id of a first, saved `exec` run in the same CODEX_HOME) are filled in per run; a case
/// using `{SESSION}` or `--last` gets that first run.
#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    expect: Expect,
    cwd: Cwd,
    script: Script,
    /// `git` on PATH too (codex's memories keep their workspace in a git repository).
    git: bool,
}

const fn attempt(name: &'static str, args: &'static [&'static str]) -> Case {
    Case { name, args, expect: Expect::Attempt, cwd: Cwd::Tree, script: Script::Plain, git: false }
}

const fn refused(name: &'static str, args: &'static [&'static str]) -> Case {
    Case { expect: Expect::Refused, ..attempt(name, args) }
}

const fn usage(name: &'static str, args: &'static [&'static str]) -> Case {
    Case { expect: Expect::Usage, ..attempt(name, args) }
}

const fn benign(name: &'static str, args: &'static [&'static str]) -> Case {
    Case { expect: Expect::Benign, ..attempt(name, args) }
}

impl Case {
    const fn in_dir(self, cwd: Cwd) -> Case {
        Case { cwd, ..self }
    }
    const fn with_git(self) -> Case {
        Case { git: true, ..self }
    }
    const fn answered_by(self, script: Script) -> Case {
        Case { script, ..self }
    }
    const fn codex_fails(self, code: i32) -> Case {
        let attempt = matches!(self.expect, Expect::Attempt);
        Case { expect: Expect::CodexFails { code, attempt }, ..self }
    }
    fn needs_session(&self) -> bool {
        self.args.iter().any(|a| a.contains("{SESSION}") || *a == "--last")
    }
    fn is_attempt(&self) -> bool {
        matches!(self.expect, Expect::Attempt | Expect::Refused | Expect::CodexFails { attempt: true, .. })
    }
}

// The common head of a one-shot exec.
/// `x-openai-subagent` values of jobs that run on the session's pinned model (a review, memory
/// consolidation); any other value is a sub-agent, which must not run at all.
const PINNED_JOBS: &[&str] = &["review", "memory_consolidation"];

macro_rules! exec {
    ($($arg:expr),* $(,)?) => {
        &["exec", "--skip-git-repo-check", "--ephemeral", $($arg),*]
    };
}

// The tables are laid out by hand, one case per line where it fits.

/// `-m/--model` in every syntax clap accepts, at the root and at `exec`, before and after the
/// prompt.
#[rustfmt::skip]
const MODEL_OPTIONS: &[Case] = &[
    attempt("exec -m X", exec!["-m", "gpt-evil", "hi"]),
    attempt("exec -mX", exec!["-mgpt-evil", "hi"]),
    attempt("exec -m=X", exec!["-m=gpt-evil", "hi"]),
    attempt("exec --model X", exec!["--model", "gpt-evil", "hi"]),
    attempt("exec --model=X", exec!["--model=gpt-evil", "hi"]),
    attempt("exec PROMPT -m X", exec!["hi", "-m", "gpt-evil"]),
    attempt("exec PROMPT --model=X", exec!["hi", "--model=gpt-evil"]),
    attempt("e alias, --model after the prompt",
        &["e", "--skip-git-repo-check", "--ephemeral", "hi", "--model", "gpt-evil"]),
    attempt("root -m X exec",
        &["-m", "gpt-evil", "exec", "--skip-git-repo-check", "--ephemeral", "hi"]),
    attempt("root --model=X e",
        &["--model=gpt-evil", "e", "--skip-git-repo-check", "--ephemeral", "hi"]),
    attempt("root -mX and exec -m Y",
        &["-mgpt-evil", "exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil-2", "hi"]),
    attempt("root PROMPT before exec (codex runs exec)",
        &["hello", "exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"]),
];

/// `-c` with a key that names a model, in every syntax and at every level.
#[rustfmt::skip]
const MODEL_CONFIG_KEYS: &[Case] = &[
    attempt("exec -c model=\"X\"", exec!["-c", "model=\"gpt-evil\"", "hi"]),
    attempt("exec -cmodel=X", exec!["-cmodel=gpt-evil", "hi"]),
    attempt("exec -c=model=X", exec!["-c=model=gpt-evil", "hi"]),
    attempt("exec --config=model=X", exec!["--config=model=gpt-evil", "hi"]),
    attempt("exec --config model=X", exec!["--config", "model=gpt-evil", "hi"]),
    attempt("exec --config ' model = 'X' '", exec!["--config", " model = 'gpt-evil' ", "hi"]),
    attempt("exec PROMPT -c model=X", exec!["hi", "-c", "model=gpt-evil"]),
    attempt("root -c model=X exec",
        &["-c", "model=gpt-evil", "exec", "--skip-git-repo-check", "--ephemeral", "hi"]),
    attempt("root -c model=X, exec -c x=1",
        &["-c", "model=gpt-evil", "exec", "--skip-git-repo-check", "--ephemeral", "-c", "x=1", "hi"]),
    attempt("exec -c model=X -c model=Y (last wins)",
        exec!["-c", "model=gpt-evil", "-c", "model=gpt-evil-2", "hi"]),
    attempt("exec -c review_model=X", exec!["-c", "review_model=gpt-evil", "hi"]),
    attempt("exec -c memories.extract_model=X", exec!["-c", "memories.extract_model=gpt-evil", "hi"]),
    attempt("exec -c experimental_realtime_ws_model=X",
        exec!["-c", "experimental_realtime_ws_model=gpt-evil", "hi"]),
    attempt("exec -c model_catalog_json=PATH",
        exec!["-c", "model_catalog_json=\"/nonexistent/catalog.json\"", "hi"]),
    attempt("exec -c profile=work (legacy key)", exec!["-c", "profile=\"work\"", "hi"]),
];

/// Profiles (`$CODEX_HOME/work.config.toml` names another model and provider `other`) and a
/// trusted project whose `.codex/config.toml` names another model (and provider `other`, which
/// codex ignores in project files).
#[rustfmt::skip]
const PROFILES_AND_PROJECTS: &[Case] = &[
    attempt("exec -p work", exec!["-p", "work", "hi"]),
    attempt("exec -pwork", exec!["-pwork", "hi"]),
    attempt("exec --profile work", exec!["--profile", "work", "hi"]),
    attempt("exec --profile=work", exec!["--profile=work", "hi"]),
    attempt("exec PROMPT --profile work", exec!["hi", "--profile", "work"]),
    attempt("root --profile work exec",
        &["--profile", "work", "exec", "--skip-git-repo-check", "--ephemeral", "hi"]),
    benign("trusted project as cwd", exec!["hi"]).in_dir(Cwd::Project),
    benign("trusted project via -C", exec!["-C", "{PROJECT}", "hi"]),
    benign("trusted project via --cd=", exec!["--cd={PROJECT}", "hi"]),
    attempt("trusted project and -m X", exec!["-m", "gpt-evil", "hi"]).in_dir(Cwd::Project),
    attempt("trusted project and -p work", exec!["-C", "{PROJECT}", "-p", "work", "hi"]),
];

/// Redirects: another provider (`other` points at the second mock), another base URL, local
/// providers.
#[rustfmt::skip]
const PROVIDERS: &[Case] = &[
    attempt("exec -c model_provider=other", exec!["-c", "model_provider=other", "hi"]),
    attempt("root -c model_provider=\"other\" exec",
        &["-c", "model_provider=\"other\"", "exec", "--skip-git-repo-check", "--ephemeral", "hi"]),
    attempt("exec -c model_providers.mock.base_url=MOCK2",
        exec!["-c", "model_providers.mock.base_url=\"{MOCK2}\"", "hi"]),
    attempt("exec --config=model_providers.mock={...MOCK2}",
        exec!["--config=model_providers.mock={name=\"mock\", base_url=\"{MOCK2}\", wire_api=\"responses\"}", "hi"]),
    attempt("exec -c model_providers={...} (parent table)",
        exec!["-c", "model_providers={mock={name=\"mock\", base_url=\"{MOCK2}\", wire_api=\"responses\"}}", "hi"]),
    attempt("exec -c openai_base_url=MOCK2", exec!["-c", "openai_base_url={MOCK2}", "hi"]),
    attempt("exec -c model_provider=openai -c openai_base_url=MOCK2",
        exec!["-c", "model_provider=openai", "-c", "openai_base_url=\"{MOCK2}\"", "hi"]),
    attempt("exec --oss", exec!["--oss", "hi"]),
    attempt("exec --local-provider ollama", exec!["--local-provider", "ollama", "hi"]),
    attempt("exec --oss --local-provider=lmstudio", exec!["--oss", "--local-provider=lmstudio", "hi"]),
    attempt("root --oss exec", &["--oss", "exec", "--skip-git-repo-check", "--ephemeral", "hi"]),
];

/// Multi-value `-i/--image` lists in front of an attempt: removing or rewriting the attempt must
/// not let the list swallow the prompt.
#[rustfmt::skip]
const IMAGE_LISTS: &[Case] = &[
    attempt("exec --image a b --model X",
        exec!["--image", "a.png", "b.png", "--model", "gpt-evil", "hi"]),
    attempt("exec -i a b -m X", exec!["-i", "a.png", "b.png", "-m", "gpt-evil", "hi"]),
    attempt("exec -i a b --oss PROMPT", exec!["-i", "a.png", "b.png", "--oss", "hi"]),
    attempt("exec --image a b -p work PROMPT", exec!["--image", "a.png", "b.png", "-p", "work", "hi"]),
    attempt("exec -i a b --local-provider ollama PROMPT",
        exec!["-i", "a.png", "b.png", "--local-provider", "ollama", "hi"]),
    attempt("exec -i a b -c model_provider=other PROMPT",
        exec!["-i", "a.png", "b.png", "-c", "model_provider=other", "hi"]),
];

/// Issue 15: an option the shim neutralises stands where codex reads the value of the option
/// before it. codex rejects each (exit 2, the controls); removing the option made an argv codex
/// accepts, with everything after `sandbox` (taken for a foreign command) unpinned. The last cases
/// are what such a removal made, run through the shim and, as controls, without it.
#[rustfmt::skip]
const VALUE_SLOTS: &[Case] = &[
    usage("issue 15: --add-dir --oss sandbox exec -m X",
        &["--add-dir", "--oss", "sandbox", "exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"]),
    usage("issue 15: --add-dir -p work sandbox exec -m X",
        &["--add-dir", "-p", "work", "sandbox", "exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"]),
    usage("issue 15: --add-dir --remote URL sandbox exec -m X",
        &["--add-dir", "--remote", "ws://127.0.0.1:9", "sandbox", "exec", "--skip-git-repo-check", "--ephemeral",
          "-m", "gpt-evil", "hi"]),
    usage("issue 15: --add-dir --local-provider ollama sandbox exec -m X",
        &["--add-dir", "--local-provider", "ollama", "sandbox", "exec", "--skip-git-repo-check", "--ephemeral",
          "-m", "gpt-evil", "hi"]),
    usage("issue 15: exec -c --oss model_provider=other", exec!["-c", "--oss", "model_provider=other", "hi"]),
    usage("issue 15: exec -C --oss PROMPT", exec!["-C", "--oss", "hi"]),
    usage("exec PROMPT --model (no value)", exec!["hi", "--model"]),
    usage("--oss twice", &["--oss", "--oss", "exec", "--skip-git-repo-check", "--ephemeral", "hi"]),
    usage("exec --oss=1", exec!["--oss=1", "hi"]),
    usage("exec -s read-only --approve-for-me", exec!["-s", "read-only", "--approve-for-me", "hi"]),
    usage("exec --bogus --oss", exec!["--bogus", "--oss", "hi"]),
    attempt("issue 15, what removing --oss made: --add-dir sandbox exec -m X",
        &["--add-dir", "sandbox", "exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"]),
    attempt("issue 15, what removing --oss made: exec -c model_provider=other",
        exec!["-c", "model_provider=other", "-s", "read-only", "hi"]),
];

/// Attempts hidden from the outer shim: the foreign command of `sandbox` is codex again, which
/// reaches the shim through PATH. (The default sandbox has neither network nor a writable
/// CODEX_HOME, so the sandboxed codex could not run at all.)
#[rustfmt::skip]
const NESTED: &[Case] = &[
    attempt("sandbox codex exec -m X",
        &["sandbox", "-c", "sandbox_mode=\"danger-full-access\"", "codex", "exec",
          "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"]),
    attempt("sandbox -- codex exec -c model_provider=other",
        &["sandbox", "-c", "sandbox_mode=\"danger-full-access\"", "--", "codex", "exec",
          "--skip-git-repo-check", "--ephemeral", "-c", "model_provider=other", "hi"]),
];

/// Ways around codex's own configuration: its internal helper forms (codex runs them through its own
/// executable, never through PATH) and dropping the operator's config.toml with its provider.
#[rustfmt::skip]
const ESCAPES: &[Case] = &[
    // `--codex-run-as-arg0-exec-helper NAME PROGRAM ARGS` execs PROGRAM; `/proc/self/exe` is then
    // the real codex, running ARGS the shim never saw.
    refused("--codex-run-as-arg0-exec-helper codex /proc/self/exe exec -m X",
        &["--codex-run-as-arg0-exec-helper", "codex", "/proc/self/exe",
          "exec", "--skip-git-repo-check", "--ephemeral", "-m", "gpt-evil", "hi"]),
    refused("--codex-run-as-arg0-exec-helper codex /proc/self/exe exec -c model_provider=other",
        &["--codex-run-as-arg0-exec-helper", "codex", "/proc/self/exe",
          "exec", "--skip-git-repo-check", "--ephemeral", "-c", "model_provider=other", "hi"]),
    // Drops the operator's config.toml and with it the configured provider: requests would go to
    // the built-in `openai` provider (wss/https://api.openai.com), not the operator's endpoint.
    attempt("exec --ignore-user-config", exec!["--ignore-user-config", "hi"]),
];

/// Sub-agents: the mock answers with `spawn_agent` on a catalog model.
#[rustfmt::skip]
const SUBAGENTS: &[Case] = &[
    benign("spawn_agent answer (v1 namespace)", exec!["hi"]).answered_by(Script::SpawnV1),
    benign("spawn_agent answer (collaboration namespace)", exec!["hi"]).answered_by(Script::SpawnV2),
    attempt("exec --enable multi_agent", exec!["--enable", "multi_agent", "hi"])
        .answered_by(Script::SpawnV1),
    attempt("exec --enable=multi_agent_v2", exec!["--enable=multi_agent_v2", "hi"])
        .answered_by(Script::SpawnV2),
    attempt("root --enable multi_agent_v2 exec",
        &["--enable", "multi_agent_v2", "exec", "--skip-git-repo-check", "--ephemeral", "hi"])
        .answered_by(Script::SpawnV2),
    attempt("exec -c features.multi_agent=true", exec!["-c", "features.multi_agent=true", "hi"])
        .answered_by(Script::SpawnV1),
    attempt("exec -c features.multi_agent_v2=true", exec!["-c", "features.multi_agent_v2=true", "hi"])
        .answered_by(Script::SpawnV2),
    attempt("exec -c features={multi_agent=true} (parent table)",
        exec!["-c", "features={multi_agent=true}", "hi"])
        .answered_by(Script::SpawnV1),
    attempt("exec -c agents.default_subagent_model=X",
        exec!["-c", "agents.default_subagent_model=\"gpt-6-luna\"", "hi"])
        .answered_by(Script::SpawnDefaultModel),
    // Approval auto-review: a `guardian` sub-agent on the provider's review model.
    attempt("exec -c approvals_reviewer=auto_review, an approval asked",
        exec!["-c", "approval_policy=\"on-request\"", "-c", "approvals_reviewer=\"auto_review\"", "hi"])
        .answered_by(Script::Escalate),
    attempt("exec --approve-for-me, an approval asked", exec!["--approve-for-me", "hi"])
        .answered_by(Script::Escalate),
    benign("exec -c approval_policy=on-request, an approval asked",
        exec!["-c", "approval_policy=\"on-request\"", "hi"])
        .answered_by(Script::Escalate),
    attempt("exec --enable multi_agent -c agents={default_subagent_model=X}",
        exec!["--enable", "multi_agent", "-c", "agents={default_subagent_model=\"gpt-6-luna\"}", "hi"])
        .answered_by(Script::SpawnDefaultModel),
];

/// Saved sessions (`exec resume`, `exec fork`) and reviews of the git repo's uncommitted changes
/// (the user config sets `review_model` to another model).
#[rustfmt::skip]
const SESSIONS_AND_REVIEWS: &[Case] = &[
    attempt("exec resume --last -m X",
        &["exec", "resume", "--last", "--skip-git-repo-check", "-m", "gpt-evil", "hi"]),
    attempt("exec resume --last PROMPT --model=X",
        &["exec", "resume", "--last", "--skip-git-repo-check", "hi", "--model=gpt-evil"]),
    attempt("exec resume --last -c model=X",
        &["exec", "resume", "--last", "--skip-git-repo-check", "-c", "model=gpt-evil", "hi"]),
    attempt("exec -m X resume --last",
        &["exec", "-m", "gpt-evil", "resume", "--last", "--skip-git-repo-check", "hi"]),
    attempt("exec resume SESSION --model X",
        &["exec", "resume", "{SESSION}", "--skip-git-repo-check", "--model", "gpt-evil", "hi"]),
    attempt("exec fork SESSION -m X",
        &["exec", "fork", "{SESSION}", "--skip-git-repo-check", "-m", "gpt-evil", "hi"]),
    attempt("exec review --uncommitted -c review_model=X",
        &["exec", "review", "--ephemeral", "--uncommitted", "-c", "review_model=gpt-evil"])
        .in_dir(Cwd::Repo),
    attempt("exec -c review_model=X review --uncommitted",
        &["exec", "-c", "review_model=gpt-evil", "review", "--ephemeral", "--uncommitted"])
        .in_dir(Cwd::Repo),
    attempt("root -c review_model=X exec review --uncommitted",
        &["-c", "review_model=\"gpt-evil\"", "exec", "review", "--ephemeral", "--uncommitted"])
        .in_dir(Cwd::Repo),
    attempt("exec -c review_model=X review --uncommitted -c x=1 (codex drops the exec -c)",
        &["exec", "-c", "review_model=gpt-evil", "review", "--ephemeral", "--uncommitted", "-c", "x=1"])
        .in_dir(Cwd::Repo),
    attempt("exec review --uncommitted -m X",
        &["exec", "review", "--ephemeral", "--uncommitted", "-m", "gpt-evil"])
        .in_dir(Cwd::Repo),
    attempt("review --uncommitted -c review_model=X",
        &["review", "--uncommitted", "-c", "review_model=gpt-evil"])
        .in_dir(Cwd::Repo),
    attempt("root -m X review --uncommitted", &["-m", "gpt-evil", "review", "--uncommitted"])
        .in_dir(Cwd::Repo),
];

/// OpenClaw's codex-cli backend: `args`, `resumeArgs`, `modelArg: --model`, `imageArg: --image`.
#[rustfmt::skip]
const OPENCLAW: &[Case] = &[
    benign("openclaw exec",
        &["exec", "--json", "--color", "never", "--sandbox", "read-only", "--skip-git-repo-check",
          "hi"]),
    attempt("openclaw exec --model X",
        &["exec", "--json", "--color", "never", "--sandbox", "read-only", "--skip-git-repo-check",
          "--model", "gpt-evil", "hi"]),
    benign("openclaw exec --model PIN",
        &["exec", "--json", "--color", "never", "--sandbox", "read-only", "--skip-git-repo-check",
          "--model", "gpt-pin", "hi"]),
    attempt("openclaw exec --image a --model X (image first)",
        &["exec", "--json", "--color", "never", "--sandbox", "read-only", "--skip-git-repo-check",
          "--image", "a.png", "--model", "gpt-evil", "hi"]),
    // `--image` takes several values: the prompt becomes an image, codex finds no prompt on stdin.
    attempt("openclaw exec --model X --image a b PROMPT (prompt swallowed)",
        &["exec", "--json", "--color", "never", "--sandbox", "read-only", "--skip-git-repo-check",
          "--model", "gpt-evil", "--image", "a.png", "b.png", "hi"])
        .codex_fails(1),
    // `exec resume` has neither `--color` nor `--sandbox`: clap usage error, refused by the shim.
    usage("openclaw exec resume SESSION --model X (usage error)",
        &["exec", "resume", "{SESSION}", "--color", "never", "--sandbox", "read-only",
          "--skip-git-repo-check", "--model", "gpt-evil", "hi"]),
    usage("openclaw exec resume SESSION (usage error)",
        &["exec", "resume", "{SESSION}", "--color", "never", "--sandbox", "read-only",
          "--skip-git-repo-check", "hi"]),
    attempt("openclaw resume with its options before `resume`, --model X",
        &["exec", "--color", "never", "--sandbox", "read-only", "--skip-git-repo-check",
          "resume", "{SESSION}", "--model", "gpt-evil", "hi"]),
];

/// Calls without an attempt: both modes run them on the pin.
#[rustfmt::skip]
const BENIGN: &[Case] = &[
    benign("plain exec", exec!["hi"]),
    benign("exec -c x=1", exec!["-c", "x=1", "hi"]),
    benign("exec -c model_reasoning_effort=high", exec!["-c", "model_reasoning_effort=high", "hi"]),
    benign("exec -m PIN", exec!["-m", "gpt-pin", "hi"]),
    benign("exec --model=PIN -c model=\"PIN\" -c review_model='PIN'",
        exec!["--model=gpt-pin", "-c", "model=\"gpt-pin\"", "-c", "review_model='gpt-pin'", "hi"]),
    benign("exec --disable multi_agent -c features.multi_agent_v2=false",
        exec!["--disable", "multi_agent", "-c", "features.multi_agent_v2=false", "hi"]),
    benign("exec -- '-m X' (prompt text)", exec!["--", "-m gpt-evil"]),
    benign("exec -i a b -- PROMPT", exec!["-i", "a.png", "b.png", "--", "hi"]),
    // The caller's -c/--disable at `exec` make codex drop the root's: the pins must follow them.
    benign("exec -c x=1, spawn_agent answer", exec!["-c", "x=1", "hi"])
        .answered_by(Script::SpawnV1),
    benign("exec --disable goals, spawn_agent answer", exec!["--disable", "goals", "hi"])
        .answered_by(Script::SpawnV1),
    // Memories run their extraction and consolidation on models of their own unless pinned.
    benign("exec --enable memories", &["exec", "--skip-git-repo-check", "--enable", "memories", "hi"])
        .with_git()
        .answered_by(Script::Slow),
    benign("exec review --uncommitted -c x=1 (deepest -c)",
        &["exec", "review", "--ephemeral", "--uncommitted", "-c", "x=1"])
        .in_dir(Cwd::Repo),
    benign("review --uncommitted -c x=1", &["review", "--uncommitted", "-c", "x=1"])
        .in_dir(Cwd::Repo),
    benign("exec resume --last", &["exec", "resume", "--last", "--skip-git-repo-check", "hi"]),
    benign("exec review --uncommitted (user config names a review model)",
        &["exec", "review", "--ephemeral", "--uncommitted"])
        .in_dir(Cwd::Repo),
];

/// The CODEX_HOME a case runs in, with the session it needs.
fn prepare(case: &Case, mode: &str) -> Result<(World, Option<String>), String> {
    let world = World::new(case.script);
    if !case.needs_session() {
        return Ok((world, None));
    }
    // A first, saved run (no --ephemeral), as OpenClaw's first turn.
    let output = world
        .setup
        .codex(&["exec", "--json", "--skip-git-repo-check", "first turn"])
        .env("OPENCLAW_MODEL_LOCK_MODE", mode)
        .output()
        .map_err(|e| format!("first run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let session = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["type"] == "thread.started")
        .and_then(|e| e["thread_id"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            format!(
                "first run: no thread.started event (exit {:?}): {stdout}{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok((world, Some(session)))
}

fn describe(requests: &[Request]) -> String {
    let list: Vec<String> =
        requests.iter().map(|r| format!("{} model={:?} subagent={:?}", r.path, r.model, r.subagent)).collect();
    format!("[{}]", list.join(", "))
}

/// What one run of a case produced: codex's output and the requests each mock received during it.
struct Ran {
    args: Vec<String>,
    output: std::process::Output,
    requests: Vec<Request>,
    redirected: Vec<Request>,
}

/// Runs `case` (prepared for `mode`) with `path_dirs` on PATH (the shim's setup, or the real codex
/// alone) and collects what reached the mocks.
fn launch(case: &Case, mode: &str, path_dirs: &[&str]) -> Result<Ran, String> {
    let (world, session) = prepare(case, mode)?;
    let before = world.setup.mock.requests().len();
    let args: Vec<String> = case.args.iter().map(|a| world.expand(a, session.as_deref())).collect();
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut path_dirs = path_dirs.to_vec();
    if case.git {
        path_dirs.push(world.setup.tree.link_git().ok_or_else(|| format!("{}: needs git on PATH", case.name))?);
    }
    let mut command = world.setup.codex_on(&path_dirs, &arg_refs);
    // A passing run takes a second or two; a redirect to an unreachable endpoint retries for ever.
    command.env("OPENCLAW_MODEL_LOCK_MODE", mode).timeout(std::time::Duration::from_secs(30));
    match case.cwd {
        Cwd::Tree => {}
        Cwd::Project => {
            command.current_dir(&world.project);
        }
        Cwd::Repo => {
            command.current_dir(&world.repo);
        }
    }
    let output = command.output().map_err(|e| format!("cannot run: {e}"))?;
    let requests = world.setup.mock.requests().split_off(before);
    Ok(Ran { args, output, requests, redirected: world.other.requests() })
}

/// Runs `case` in `mode` (`force` or `reject`) and checks the outcome; `Err` describes the failure.
fn run_case(case: &Case, mode: &str) -> Result<(), String> {
    let Ran { args, output, requests, redirected } = launch(case, mode, &["shim", "real"])?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr_tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    let context = || {
        format!(
            "codex {args:?} (cwd {:?}, script {:?}): exit {:?}; requests at the mock {}; at the second mock {}; stderr ends {:?}",
            case.cwd,
            case.script,
            output.status.code(),
            describe(&requests),
            describe(&redirected),
            stderr_tail.iter().rev().collect::<Vec<_>>()
        )
    };
    let fail = |why: &str| Err(format!("{why}: {}", context()));

    let rejecting = mode == "reject" && case.is_attempt();
    let expected_code = match case.expect {
        Expect::Usage => 64,
        _ if rejecting => 77,
        Expect::Refused => 77,
        Expect::Attempt | Expect::Benign => 0,
        Expect::CodexFails { code, .. } => code,
    };
    if output.status.code() != Some(expected_code) {
        return fail(&format!("expected exit {expected_code}"));
    }
    if !redirected.is_empty() {
        return fail("requests reached the second mock");
    }
    if rejecting || matches!(case.expect, Expect::Refused | Expect::CodexFails { .. } | Expect::Usage) {
        if !requests.is_empty() {
            return fail("expected no request");
        }
        return Ok(());
    }
    if requests.is_empty() {
        return fail("no request reached the mock");
    }
    for request in &requests {
        if request.model.as_deref() != Some(PIN) || request.path != "/v1/responses" {
            return fail(&format!("a request left without the pin {PIN:?}"));
        }
        if request.subagent.as_deref().is_some_and(|job| !PINNED_JOBS.contains(&job)) {
            return fail("a sub-agent ran");
        }
    }
    if case.args.contains(&"review") && !requests.iter().any(|r| r.subagent.as_deref() == Some("review")) {
        return fail("no review request: the case did not test the review model");
    }
    if case.script != Script::Plain && requests.len() < 2 {
        return fail("the scripted spawn_agent call was never answered");
    }
    Ok(())
}

/// Runs every case in both modes, two at a time, and fails once listing every failure.
fn run_corpus(cases: &[Case]) {
    let runs: Vec<(&Case, &str)> = cases.iter().flat_map(|c| [(c, "force"), (c, "reject")]).collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = runs
            .chunks(runs.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(case, mode)| {
                            run_case(case, mode).err().map(|e| format!("[{mode}] {}: {e}", case.name))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{} of {} runs failed:\n{}", failures.len(), runs.len(), failures.join("\n"));
}

const CORPUS: &[&[Case]] = &[
    MODEL_OPTIONS,
    MODEL_CONFIG_KEYS,
    PROFILES_AND_PROJECTS,
    PROVIDERS,
    IMAGE_LISTS,
    NESTED,
    SUBAGENTS,
    SESSIONS_AND_REVIEWS,
    OPENCLAW,
    BENIGN,
    ESCAPES,
    VALUE_SLOTS,
];

#[test]
fn the_corpus_is_large_and_well_formed() {
    let all: Vec<&Case> = CORPUS.iter().flat_map(|c| c.iter()).collect();
    let attempts = all.iter().filter(|c| c.is_attempt()).count();
    let benign = all.len() - attempts;
    assert!(attempts >= 40, "only {attempts} attempts");
    assert!(benign >= 5, "only {benign} benign calls");
    let mut names: Vec<&str> = all.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "case names must be unique");
    for case in &all {
        // The first run of a session would eat the scripted replies.
        assert!(
            !(case.needs_session() && case.script != Script::Plain),
            "{}: a session case must use the plain script",
            case.name
        );
    }
}

#[test]
fn corpus_model_options() {
    run_corpus(MODEL_OPTIONS);
}

#[test]
fn corpus_model_config_keys() {
    run_corpus(MODEL_CONFIG_KEYS);
}

#[test]
fn corpus_profiles_and_projects() {
    run_corpus(PROFILES_AND_PROJECTS);
}

#[test]
fn corpus_providers() {
    run_corpus(PROVIDERS);
}

#[test]
fn corpus_image_lists() {
    run_corpus(IMAGE_LISTS);
}

#[test]
fn corpus_value_slots() {
    run_corpus(VALUE_SLOTS);
}

#[test]
fn corpus_escapes() {
    run_corpus(ESCAPES);
}

#[test]
fn corpus_nested_codex() {
    run_corpus(NESTED);
}

#[test]
fn corpus_subagents() {
    run_corpus(SUBAGENTS);
}

#[test]
fn corpus_sessions_and_reviews() {
    run_corpus(SESSIONS_AND_REVIEWS);
}

#[test]
fn corpus_openclaw_backend() {
    run_corpus(OPENCLAW);
}

#[test]
fn corpus_benign_calls() {
    run_corpus(BENIGN);
}

/// What a corpus case does when run without the shim.
#[derive(Debug, Clone, Copy)]
enum Control {
    /// A request carries this model.
    Model(&'static str),
    /// Requests reach the second mock.
    Redirect,
    /// A sub-agent request (`x-openai-subagent: collab_spawn`) carries this model.
    Subagent(&'static str),
    /// codex itself exits with this code and sends nothing (the shim must not be blamed for it).
    Fails(i32),
    /// A request for this job (`x-openai-subagent`) carries a model other than the pin.
    Job(&'static str),
}

/// Corpus cases whose environment really would leak without the shim: the controls that prove the
/// corpus can fail (the profile, project, providers, images, sessions, reviews and spawn answers
/// all work as set up); and the OpenClaw calls codex refuses by itself, shim or not.
const CONTROLS: &[(&str, Control)] = &[
    ("exec -m X", Control::Model("gpt-evil")),
    ("root -c model=X exec", Control::Model("gpt-evil")),
    ("exec -p work", Control::Redirect),
    ("root --profile work exec", Control::Redirect),
    ("trusted project as cwd", Control::Model(support::bypass_env::PROJECT_MODEL)),
    ("trusted project via -C", Control::Model(support::bypass_env::PROJECT_MODEL)),
    ("exec -c model_provider=other", Control::Redirect),
    ("exec -c model_providers.mock.base_url=MOCK2", Control::Redirect),
    ("exec --config=model_providers.mock={...MOCK2}", Control::Redirect),
    ("exec -c model_provider=openai -c openai_base_url=MOCK2", Control::Redirect),
    ("exec --image a b --model X", Control::Model("gpt-evil")),
    ("exec -i a b -c model_provider=other PROMPT", Control::Redirect),
    ("spawn_agent answer (v1 namespace)", Control::Subagent(support::bypass_env::CATALOG_MODEL)),
    ("exec --enable=multi_agent_v2", Control::Subagent(support::bypass_env::CATALOG_MODEL)),
    ("exec --enable memories", Control::Job("memory_consolidation")),
    ("exec -c approvals_reviewer=auto_review, an approval asked", Control::Job("guardian")),
    ("exec --approve-for-me, an approval asked", Control::Job("guardian")),
    ("--codex-run-as-arg0-exec-helper codex /proc/self/exe exec -m X", Control::Model("gpt-evil")),
    ("exec -c agents.default_subagent_model=X", Control::Subagent(support::bypass_env::CATALOG_MODEL)),
    ("exec resume --last -m X", Control::Model("gpt-evil")),
    ("exec resume SESSION --model X", Control::Model("gpt-evil")),
    ("exec fork SESSION -m X", Control::Model("gpt-evil")),
    ("exec review --uncommitted -c review_model=X", Control::Model("gpt-evil")),
    ("review --uncommitted -c review_model=X", Control::Model("gpt-evil")),
    (
        "exec review --uncommitted (user config names a review model)",
        Control::Model(support::bypass_env::USER_CONFIG_REVIEW_MODEL),
    ),
    ("openclaw exec --model X", Control::Model("gpt-evil")),
    ("openclaw resume with its options before `resume`, --model X", Control::Model("gpt-evil")),
    ("openclaw exec --model X --image a b PROMPT (prompt swallowed)", Control::Fails(1)),
    ("openclaw exec resume SESSION --model X (usage error)", Control::Fails(2)),
    ("openclaw exec resume SESSION (usage error)", Control::Fails(2)),
    ("issue 15: --add-dir --oss sandbox exec -m X", Control::Fails(2)),
    ("issue 15: --add-dir -p work sandbox exec -m X", Control::Fails(2)),
    ("issue 15: --add-dir --remote URL sandbox exec -m X", Control::Fails(2)),
    ("issue 15: --add-dir --local-provider ollama sandbox exec -m X", Control::Fails(2)),
    ("issue 15: exec -c --oss model_provider=other", Control::Fails(2)),
    ("issue 15: exec -C --oss PROMPT", Control::Fails(2)),
    ("exec PROMPT --model (no value)", Control::Fails(2)),
    ("--oss twice", Control::Fails(2)),
    ("exec --oss=1", Control::Fails(2)),
    ("exec -s read-only --approve-for-me", Control::Fails(2)),
    ("exec --bogus --oss", Control::Fails(2)),
    ("issue 15, what removing --oss made: --add-dir sandbox exec -m X", Control::Model("gpt-evil")),
    ("issue 15, what removing --oss made: exec -c model_provider=other", Control::Redirect),
];

/// Runs `case` with the real codex alone on PATH; `Err` when it does not behave as `expected`.
fn run_control(case: &Case, expected: Control) -> Result<(), String> {
    let Ran { args, output, requests, redirected } = launch(case, "force", &["real"])?;
    let all = || requests.iter().chain(&redirected);
    let as_expected = match expected {
        Control::Model(model) => all().any(|r| r.model.as_deref() == Some(model)),
        Control::Redirect => !redirected.is_empty(),
        Control::Subagent(model) => {
            all().any(|r| r.subagent.as_deref() == Some("collab_spawn") && r.model.as_deref() == Some(model))
        }
        Control::Fails(code) => output.status.code() == Some(code) && all().next().is_none(),
        Control::Job(job) => all().any(|r| r.subagent.as_deref() == Some(job) && r.model.as_deref() != Some(PIN)),
    };
    if as_expected {
        Ok(())
    } else {
        Err(format!(
            "codex {args:?} without the shim: expected {expected:?}, exit {:?}; requests at the mock {}; at the second mock {}; stderr ends {:?}",
            output.status.code(),
            describe(&requests),
            describe(&redirected),
            String::from_utf8_lossy(&output.stderr).lines().rev().take(6).collect::<Vec<_>>()
        ))
    }
}

#[test]
fn without_the_shim_the_controls_leak() {
    let all: Vec<&Case> = CORPUS.iter().flat_map(|c| c.iter()).collect();
    let controls: Vec<(&Case, Control)> = CONTROLS
        .iter()
        .map(|(name, leak)| {
            let case = all.iter().find(|c| c.name == *name).unwrap_or_else(|| panic!("no corpus case named {name:?}"));
            (*case, *leak)
        })
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = controls
            .chunks(controls.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(case, leak)| {
                            run_control(case, *leak).err().map(|e| format!("{}: {e}", case.name))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "{} control(s) did not behave as expected without the shim, so their corpus cases prove nothing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
