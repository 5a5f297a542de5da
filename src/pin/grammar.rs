//! The grammar of the real Codex CLI the shim is made for: every command, every option, what takes
//! a value, and which options and config keys choose a model or redirect traffic.
//!
//! One table for one pinned version (`CODEX_VERSION`), taken from `--help` of the root and every
//! subcommand and checked by experiment. The conformance tests compare it with the real CLI's
//! `--help` so a new release that adds an option fails loudly instead of slipping past.

/// The Codex CLI release this table describes.
pub const CODEX_VERSION: &str = "0.163.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Flag,
    /// Exactly one value.
    One,
    /// One or more values (`-i a.png b.png`): values run until the next token starting with `-`.
    Many,
}

/// What an option means to the model lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    Plain,
    /// `-m/--model`: chooses the model.
    Model,
    /// `-c/--config key=value`: may set a model-bearing or provider key (see `CONFIG_KEYS`).
    Config,
    /// `-p/--profile`: layers a profile file that may set the model and provider.
    Profile,
    /// `--oss`: switches to a local open-source provider and its default model.
    Oss,
    /// `--local-provider`: picks that local provider.
    LocalProvider,
    /// `--remote`: sends the session to a remote app-server, where the model is chosen.
    Remote,
    /// `--enable FEATURE`: may turn sub-agents back on.
    Enable,
    /// `--ignore-user-config`: drops the operator's config.toml and the provider it configures.
    IgnoreUserConfig,
    /// `--disable FEATURE`
    Disable,
    /// `--listen URL`, `--stdio`: where a server takes its clients (the app-server guard needs stdio).
    Transport,
    /// `--approve-for-me`: approvals reviewed by a model of the provider's choosing (beats `-c`).
    AutoReview,
}

/// One option of one command. `repeats` and `hyphen_values` decide, with `arity`, which argvs clap
/// rejects (exit 2): the shim refuses those rather than rewrite them (`argv::Usage`). Probed against
/// the real CLI by the conformance suite (`usage_rules_match_the_real_cli`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptSpec {
    pub short: Option<char>,
    pub long: &'static str,
    pub arity: Arity,
    pub meaning: Meaning,
    /// clap accepts it more than once at one command (`ArgAction::Append`); any other option given
    /// twice is a usage error ("cannot be used multiple times").
    pub repeats: bool,
    /// clap takes a separate value starting with `-` (`allow_hyphen_values`); otherwise such a token
    /// ends the option's values and a value-taking option left without one is a usage error.
    pub hyphen_values: bool,
    /// Options of the same command it cannot be given with (clap `conflicts_with`), checked once the
    /// whole argv is read. Listed for the options the shim replaces (`Meaning` other than `Plain`,
    /// `Model`, `Config`): a replacement must not take a conflict away.
    pub conflicts: &'static [&'static str],
}

/// Where a command's own arguments end and another program's begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailing {
    None,
    /// After this many positionals, every token belongs to a foreign command
    /// (`sandbox CMD…`, `mcp add NAME CMD…`, `execpolicy check CMD…`).
    ForeignAfter(usize),
}

/// Whether the shim can pin the model of a command by argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    Pinnable,
    /// Runs no model of its own; codex rejects a model there in newer releases, so none is injected.
    NoModelInjection,
    /// Chooses models through a channel argv cannot reach (JSON-RPC, a server, the cloud).
    Unpinnable,
    /// Argv pins only its defaults; over the stdio transport the shim relays its JSON-RPC stream
    /// through the `app_server` guard. Its other transports and its subcommands that serve or
    /// reach a shared server are refused like `Unpinnable` (`GUARDED_STREAM_PASS_THROUGH` aside).
    GuardedStream,
}

#[derive(Debug, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// Option groups; an option is looked up in each group in turn.
    pub options: &'static [&'static [OptSpec]],
    pub subcommands: &'static [CommandSpec],
    pub trailing: Trailing,
    pub pinning: Pinning,
}

impl CommandSpec {
    pub fn all_options(&self) -> impl Iterator<Item = &'static OptSpec> {
        self.options.iter().flat_map(|group| group.iter())
    }

    pub fn find_long(&self, name: &str) -> Option<&'static OptSpec> {
        self.all_options().find(|o| o.long == name)
    }

    pub fn find_short(&self, ch: char) -> Option<&'static OptSpec> {
        self.all_options().find(|o| o.short == Some(ch))
    }

    /// `--name` or one of its hidden aliases (`OPTION_ALIASES`).
    pub fn find_long_or_alias(&self, name: &str) -> Option<&'static OptSpec> {
        self.find_long(name).or_else(|| {
            let (_, long) = OPTION_ALIASES.iter().find(|(alias, _)| *alias == name)?;
            self.find_long(long)
        })
    }

    /// clap adds a `help` subcommand to every command that has subcommands.
    pub fn find_subcommand(&self, name: &str) -> Option<&'static CommandSpec> {
        if name == "help" && !self.subcommands.is_empty() {
            return Some(&HELP);
        }
        self.subcommands.iter().find(|c| c.name == name || c.aliases.contains(&name))
    }
}

const fn opt(short: Option<char>, long: &'static str, arity: Arity) -> OptSpec {
    OptSpec { short, long, arity, meaning: Meaning::Plain, repeats: false, hyphen_values: false, conflicts: &[] }
}
const fn flag(short: Option<char>, long: &'static str) -> OptSpec {
    opt(short, long, Arity::Flag)
}
const fn one(short: Option<char>, long: &'static str) -> OptSpec {
    opt(short, long, Arity::One)
}
const fn many(short: Option<char>, long: &'static str) -> OptSpec {
    opt(short, long, Arity::Many)
}
const fn means(spec: OptSpec, meaning: Meaning) -> OptSpec {
    OptSpec { meaning, ..spec }
}
/// May be given more than once.
const fn repeats(spec: OptSpec) -> OptSpec {
    OptSpec { repeats: true, ..spec }
}

const fn cmd(name: &'static str, options: &'static [&'static [OptSpec]]) -> CommandSpec {
    CommandSpec { name, aliases: &[], options, subcommands: &[], trailing: Trailing::None, pinning: Pinning::Pinnable }
}
const fn group(
    name: &'static str,
    options: &'static [&'static [OptSpec]],
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec { subcommands, ..cmd(name, options) }
}
const fn unpinnable(spec: CommandSpec) -> CommandSpec {
    CommandSpec { pinning: Pinning::Unpinnable, ..spec }
}

const fn guarded_stream(spec: CommandSpec) -> CommandSpec {
    CommandSpec { pinning: Pinning::GuardedStream, ..spec }
}

// Accepted by every command (clap `global` options and help).
const GLOBAL: &[OptSpec] = &[
    repeats(means(one(Some('c'), "config"), Meaning::Config)),
    repeats(means(one(None, "enable"), Meaning::Enable)),
    repeats(means(one(None, "disable"), Meaning::Disable)),
    flag(Some('h'), "help"),
];
const VERSION: &[OptSpec] = &[flag(Some('V'), "version")];
const STRICT: &[OptSpec] = &[flag(None, "strict-config")];
const JSON: &[OptSpec] = &[flag(None, "json")];
const MODEL: OptSpec = means(one(Some('m'), "model"), Meaning::Model);
const REMOTE: &[OptSpec] = &[means(one(None, "remote"), Meaning::Remote), one(None, "remote-auth-token-env")];
// The session options of the TUI, `exec`, `resume`, `fork`, `queue`, `archive`, ...
const SESSION: &[OptSpec] = &[
    flag(None, "strict-config"),
    repeats(many(Some('i'), "image")),
    MODEL,
    means(flag(None, "oss"), Meaning::Oss),
    means(one(None, "local-provider"), Meaning::LocalProvider),
    means(one(Some('p'), "profile"), Meaning::Profile),
    one(Some('s'), "sandbox"),
    OptSpec {
        conflicts: &["sandbox", "dangerously-bypass-approvals-and-sandbox", "ask-for-approval"],
        ..means(flag(None, "approve-for-me"), Meaning::AutoReview)
    },
    flag(None, "dangerously-bypass-approvals-and-sandbox"),
    flag(None, "dangerously-bypass-hook-trust"),
    one(Some('C'), "cd"),
    flag(None, "worktree"),
    repeats(one(None, "add-dir")),
];
const TUI: &[OptSpec] =
    &[one(Some('a'), "ask-for-approval"), flag(None, "search"), flag(None, "no-alt-screen"), flag(None, "no-daemon")];
const PICK_SESSION: &[OptSpec] = &[flag(None, "last"), flag(None, "all")];
// The part of SESSION that `exec resume`/`fork`/`review` keep.
const EXEC_SUB_SESSION: &[OptSpec] = &[
    MODEL,
    flag(None, "strict-config"),
    flag(None, "dangerously-bypass-approvals-and-sandbox"),
    flag(None, "dangerously-bypass-hook-trust"),
    flag(None, "worktree"),
];
// Shared by `exec` and its `resume`/`fork`/`review`.
const EXEC_COMMON: &[OptSpec] = &[
    one(None, "thread-source"),
    one(None, "cyber-access-program"),
    flag(None, "skip-git-repo-check"),
    flag(None, "ephemeral"),
    means(flag(None, "ignore-user-config"), Meaning::IgnoreUserConfig),
    flag(None, "ignore-rules"),
    one(None, "output-schema"),
    flag(None, "json"),
    one(Some('o'), "output-last-message"),
];
// `exec resume`/`exec fork` take one image per `-i`, unlike `exec`.
const SINGLE_IMAGE: &[OptSpec] = &[repeats(one(Some('i'), "image"))];
const REVIEW_TARGET: &[OptSpec] =
    &[flag(None, "uncommitted"), one(None, "base"), one(None, "commit"), one(None, "title")];
const WS_SERVER: &[OptSpec] = &[
    OptSpec { meaning: Meaning::Transport, ..one(None, "listen") },
    one(None, "ws-auth"),
    one(None, "ws-token-file"),
    one(None, "ws-token-sha256"),
    one(None, "ws-shared-secret-file"),
    one(None, "ws-issuer"),
    one(None, "ws-audience"),
    one(None, "ws-max-clock-skew-seconds"),
];
const EXEC_SERVER: &[OptSpec] = &[
    flag(None, "strict-config"),
    one(None, "linux-sandbox-pid-namespace"),
    flag(None, "proxy-private-ips-via-upstream"),
    one(None, "remote"), // the exec-server's upstream, not a model endpoint
    one(None, "remote-transport"),
    one(None, "environment-id"),
    one(None, "name"),
    flag(None, "use-agent-identity-auth"),
    flag(None, "aws-sigv4"),
    one(None, "aws-profile"),
    one(None, "aws-region"),
    one(None, "aws-service"),
    flag(None, "exit-on-stdin-close"),
];
const OAUTH_REGISTRATION: OptSpec = one(None, "oauth-client-registration");
const MARKETPLACE: &[OptSpec] = &[one(Some('m'), "marketplace"), flag(None, "json")];
const OUT_DIR: &[OptSpec] = &[one(Some('o'), "out")];

static HELP: CommandSpec = cmd("help", &[GLOBAL]);

pub static ROOT: CommandSpec = CommandSpec {
    name: "codex",
    aliases: &[],
    options: &[GLOBAL, VERSION, REMOTE, SESSION, TUI],
    trailing: Trailing::None,
    pinning: Pinning::Pinnable,
    subcommands: &[
        unpinnable(cmd("agents", &[GLOBAL, REMOTE, &[one(Some('C'), "cd"), flag(None, "no-alt-screen")]])),
        CommandSpec {
            aliases: &["e"],
            ..group(
                "exec",
                &[GLOBAL, VERSION, SESSION, EXEC_COMMON, &[one(None, "color")]],
                &[
                    cmd("resume", &[GLOBAL, PICK_SESSION, SINGLE_IMAGE, EXEC_SUB_SESSION, EXEC_COMMON]),
                    cmd("fork", &[GLOBAL, SINGLE_IMAGE, EXEC_SUB_SESSION, EXEC_COMMON]),
                    cmd("review", &[GLOBAL, REVIEW_TARGET, EXEC_SUB_SESSION, EXEC_COMMON]),
                ],
            )
        },
        cmd("review", &[GLOBAL, STRICT, REVIEW_TARGET]),
        group(
            "login",
            &[GLOBAL, &[flag(None, "with-api-key"), flag(None, "with-access-token"), flag(None, "device-auth")]],
            &[cmd("status", &[GLOBAL])],
        ),
        cmd("logout", &[GLOBAL]),
        group(
            "mcp",
            &[GLOBAL],
            &[
                CommandSpec {
                    trailing: Trailing::ForeignAfter(1),
                    ..cmd(
                        "add",
                        &[
                            GLOBAL,
                            &[
                                repeats(one(None, "env")),
                                one(None, "url"),
                                one(None, "bearer-token-env-var"),
                                one(None, "oauth-client-id"),
                                one(None, "oauth-client-secret"),
                                OAUTH_REGISTRATION,
                                one(None, "oauth-resource"),
                            ],
                        ],
                    )
                },
                cmd("get", &[GLOBAL, JSON]),
                cmd("list", &[GLOBAL, JSON]),
                cmd("login", &[GLOBAL, &[flag(None, "no-browser"), repeats(one(None, "scopes")), OAUTH_REGISTRATION]]),
                cmd("logout", &[GLOBAL]),
                cmd("remove", &[GLOBAL]),
            ],
        ),
        group(
            "plugin",
            &[GLOBAL],
            &[
                cmd("add", &[GLOBAL, MARKETPLACE]),
                cmd("list", &[GLOBAL, MARKETPLACE, &[flag(None, "available")]]),
                cmd("remove", &[GLOBAL, MARKETPLACE]),
                group(
                    "marketplace",
                    &[GLOBAL],
                    &[
                        cmd("add", &[GLOBAL, JSON, &[one(None, "ref"), repeats(one(None, "sparse"))]]),
                        cmd("list", &[GLOBAL, JSON]),
                        cmd("remove", &[GLOBAL, JSON]),
                        cmd("upgrade", &[GLOBAL, JSON]),
                    ],
                ),
            ],
        ),
        guarded_stream(group(
            "app-server",
            &[
                GLOBAL,
                STRICT,
                WS_SERVER,
                &[
                    one(None, "code-mode-host"),
                    OptSpec { meaning: Meaning::Transport, ..flag(None, "stdio") },
                    flag(None, "analytics-default-enabled"),
                ],
            ],
            &[
                group(
                    "daemon",
                    &[GLOBAL],
                    &[
                        cmd("bootstrap", &[GLOBAL, &[flag(None, "remote-control")]]),
                        cmd("disable-remote-control", &[GLOBAL]),
                        cmd("enable-remote-control", &[GLOBAL]),
                        cmd("pid-update-loop", &[GLOBAL]),
                        cmd("restart", &[GLOBAL]),
                        cmd("start", &[GLOBAL]),
                        cmd("stop", &[GLOBAL]),
                        cmd("update", &[GLOBAL, &[flag(None, "from-cli"), flag(Some('y'), "yes")]]),
                        cmd("version", &[GLOBAL]),
                    ],
                ),
                cmd("generate-internal-json-schema", &[GLOBAL, OUT_DIR]),
                cmd("generate-json-schema", &[GLOBAL, OUT_DIR, &[flag(None, "experimental")]]),
                cmd("generate-ts", &[GLOBAL, OUT_DIR, &[one(Some('p'), "prettier"), flag(None, "experimental")]]),
                cmd("proxy", &[GLOBAL, &[one(None, "sock")]]),
            ],
        )),
        unpinnable(group(
            "remote-control",
            &[GLOBAL, JSON, &[flag(None, "no-daemon")]],
            &[cmd("pair", &[GLOBAL, JSON]), cmd("start", &[GLOBAL, JSON]), cmd("stop", &[GLOBAL, JSON])],
        )),
        cmd("completion", &[GLOBAL]),
        cmd("update", &[GLOBAL]),
        cmd(
            "doctor",
            &[GLOBAL, JSON, &[flag(None, "summary"), flag(None, "all"), flag(None, "no-color"), flag(None, "ascii")]],
        ),
        CommandSpec {
            trailing: Trailing::ForeignAfter(0),
            ..group(
                "sandbox",
                &[
                    GLOBAL,
                    &[
                        one(None, "sandbox-state-json"),
                        repeats(one(None, "sandbox-state-readable-root")),
                        flag(None, "sandbox-state-disable-network"),
                        one(Some('P'), "permission-profile"),
                        // A sandbox permission profile for the foreign command, not a model profile.
                        one(Some('p'), "profile"),
                        one(Some('C'), "cd"),
                        flag(None, "include-managed-config"),
                    ],
                ],
                &[cmd("uninstall", &[GLOBAL])],
            )
        },
        group(
            "debug",
            &[GLOBAL],
            &[
                unpinnable(group("app-server", &[GLOBAL], &[cmd("send-message-v2", &[GLOBAL])])),
                cmd("clear-memories", &[GLOBAL]),
                cmd("models", &[GLOBAL, &[flag(None, "bundled")]]),
                cmd("prompt-input", &[GLOBAL, &[repeats(many(Some('i'), "image"))]]),
                cmd("trace-reduce", &[GLOBAL, &[one(Some('o'), "output")]]),
            ],
        ),
        CommandSpec { aliases: &["a"], ..cmd("apply", &[GLOBAL]) },
        cmd("resume", &[GLOBAL, VERSION, PICK_SESSION, &[flag(None, "include-non-interactive")], REMOTE, SESSION, TUI]),
        CommandSpec {
            pinning: Pinning::NoModelInjection,
            ..cmd("queue", &[GLOBAL, &[one(None, "thread"), one(None, "message")], REMOTE, SESSION])
        },
        cmd("archive", &[GLOBAL, REMOTE, SESSION]),
        cmd("delete", &[GLOBAL, REMOTE, SESSION, &[flag(None, "force")]]),
        cmd(
            "migrate-rollouts",
            &[
                GLOBAL,
                JSON,
                &[
                    flag(None, "apply"),
                    repeats(one(None, "thread")),
                    one(None, "max-mib-per-second"),
                    flag(None, "verbose"),
                ],
            ],
        ),
        cmd("unarchive", &[GLOBAL, REMOTE, SESSION]),
        cmd("fork", &[GLOBAL, VERSION, PICK_SESSION, REMOTE, SESSION, TUI]),
        CommandSpec {
            aliases: &["cloud-tasks"],
            ..unpinnable(group(
                "cloud",
                &[GLOBAL, VERSION],
                &[
                    cmd("apply", &[GLOBAL, &[one(None, "attempt")]]),
                    cmd("diff", &[GLOBAL, &[one(None, "attempt")]]),
                    cmd("exec", &[GLOBAL, &[one(None, "env"), one(None, "attempts"), one(None, "branch")]]),
                    cmd("list", &[GLOBAL, JSON, &[one(None, "env"), one(None, "limit"), one(None, "cursor")]]),
                    cmd("status", &[GLOBAL]),
                ],
            ))
        },
        group(
            "exec-server",
            &[GLOBAL, EXEC_SERVER, WS_SERVER, &[one(None, "concurrent-requests")]],
            &[cmd("forward", &[GLOBAL, EXEC_SERVER, &[one(None, "connect")]])],
        ),
        group("features", &[GLOBAL], &[cmd("list", &[GLOBAL]), cmd("enable", &[GLOBAL]), cmd("disable", &[GLOBAL])]),
        // Hidden commands.
        group(
            "execpolicy",
            &[GLOBAL],
            &[CommandSpec {
                trailing: Trailing::ForeignAfter(0),
                ..cmd(
                    "check",
                    &[
                        GLOBAL,
                        &[
                            repeats(one(Some('r'), "rules")),
                            flag(None, "pretty"),
                            flag(None, "resolve-host-executables"),
                        ],
                    ],
                )
            }],
        ),
        // Forwards any request, any model, with the operator's key.
        unpinnable(cmd(
            "responses-api-proxy",
            &[
                GLOBAL,
                &[
                    one(None, "port"),
                    one(None, "server-info"),
                    flag(None, "http-shutdown"),
                    one(None, "upstream-url"),
                    one(None, "dump-dir"),
                ],
            ],
        )),
        cmd("stdio-to-uds", &[GLOBAL]),
        cmd(
            "tcp-tunnel",
            &[
                GLOBAL,
                &[
                    one(None, "proxy-url"),
                    one(None, "proxy-origins-file"),
                    one(None, "target"),
                    one(None, "listen-addr"),
                    flag(None, "auth-token-stdin"),
                    flag(None, "auth-token-updates-stdin"),
                    flag(None, "connect-headers-stdin"),
                    flag(None, "diagnostics-json"),
                ],
            ],
        ),
    ],
};

/// Hidden long aliases (`alias = ...` in codex-rs, not shown by `--help`): `(alias, option)`.
/// Checked against the real CLI by the conformance suite.
pub const OPTION_ALIASES: &[(&str, &str)] =
    &[("yolo", "dangerously-bypass-approvals-and-sandbox"), ("experimental-json", "json")];

/// Options that make clap print and exit at once, whatever follows them.
pub const SHORT_CIRCUIT: &[&str] = &["help", "version"];

/// `app-server` subcommands that serve no client and choose no model (they print the protocol):
/// run like any pinnable command.
pub const GUARDED_STREAM_PASS_THROUGH: &[&str] =
    &["generate-internal-json-schema", "generate-json-schema", "generate-ts"];

/// The stdio transport of `--listen`: the only one the app-server guard can sit on.
pub const STDIO_TRANSPORT: &str = "stdio://";

/// Command paths refused unless the operator lists them in `OPENCLAW_ALLOW_UNPINNABLE` (for
/// `app-server`: its transports and subcommands the guard cannot sit on, run unguarded).
pub const UNPINNABLE_PATHS: &[&str] =
    &["agents", "app-server", "remote-control", "debug app-server", "cloud", "responses-api-proxy"];

/// argv[1] prefix of codex's internal helper forms. Codex runs them through its own executable,
/// never through PATH, so the shim only meets them when someone calls them by hand.
pub const INTERNAL_ARG_PREFIX: &str = "--codex-run-as-";
/// The internal forms that run no model and no other program: passed through untouched. Every
/// other one is refused: `--codex-run-as-arg0-exec-helper NAME PROGRAM ARGS` runs any program,
/// the real codex included, on arguments the shim never saw.
pub const INTERNAL_PASS_THROUGH: &[&str] = &["--codex-run-as-apply-patch", "--codex-run-as-fs-helper"];
/// argv[0] names that switch codex into the apply-patch tool: passed through untouched.
pub const PATCH_PERSONALITIES: &[&str] = &["apply_patch", "applypatch"];
/// argv[0] names that switch codex into a program runner (the Linux sandbox): refused.
pub const RUNNER_PERSONALITIES: &[&str] = &["codex-linux-sandbox"];

#[cfg(test)]
mod tests {
    use super::*;

    fn all_commands() -> Vec<(String, &'static CommandSpec)> {
        fn walk(prefix: &str, spec: &'static CommandSpec, out: &mut Vec<(String, &'static CommandSpec)>) {
            for sub in spec.subcommands {
                let path = if prefix.is_empty() { sub.name.to_owned() } else { format!("{prefix} {}", sub.name) };
                out.push((path.clone(), sub));
                walk(&path, sub, out);
            }
        }
        let mut out = vec![(String::new(), &ROOT)];
        walk("", &ROOT, &mut out);
        out
    }

    #[test]
    fn every_command_takes_the_global_options() {
        // Neutralised options are replaced by `-c`, `--disable` at the same level: they must exist there.
        for (path, spec) in all_commands() {
            for long in ["config", "enable", "disable", "help"] {
                assert!(spec.find_long(long).is_some(), "`{path}` lacks --{long}");
            }
        }
    }

    #[test]
    fn no_option_is_listed_twice_in_one_command() {
        for (path, spec) in all_commands() {
            let mut longs: Vec<_> = spec.all_options().map(|o| o.long).collect();
            let mut shorts: Vec<_> = spec.all_options().filter_map(|o| o.short).collect();
            let (n_long, n_short) = (longs.len(), shorts.len());
            longs.sort_unstable();
            longs.dedup();
            shorts.sort_unstable();
            shorts.dedup();
            assert_eq!((longs.len(), shorts.len()), (n_long, n_short), "duplicate option in `{path}`");
        }
    }

    #[test]
    fn unpinnable_paths_match_the_table() {
        let refusable = |s: &CommandSpec| matches!(s.pinning, Pinning::Unpinnable | Pinning::GuardedStream);
        let mut marked: Vec<String> =
            all_commands().into_iter().filter(|(_, s)| refusable(s)).map(|(p, _)| p).collect();
        let mut listed: Vec<String> = UNPINNABLE_PATHS.iter().map(|s| s.to_string()).collect();
        marked.sort();
        listed.sort();
        assert_eq!(marked, listed);
    }
}
