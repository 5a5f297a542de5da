//! Reading a clap `--help` page: the options a command lists (short, long, how many values) and
//! the subcommands under `Commands:` with their visible aliases.
//!
//! clap's long help puts each option on its own line, indented 2 columns when it has a short form
//! (`  -c, --config <key=value>`) and 6 when it has none (`      --oss`), with the description on
//! the following lines indented 10 columns; `-h` help puts the description on the same line after
//! two or more spaces. Descriptions wrap and may themselves contain text that looks like an option
//! (`          --with-access-token`)`), so only lines indented less than 8 columns are entries.
//! Subcommands sit at column 2 under `Commands:`, their descriptions wrapping to deeper columns;
//! `[aliases: e]` may end up on a wrapped line.

/// How many values an option takes, as the help page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// `--oss`
    Flag,
    /// `--model <MODEL>`
    One,
    /// `--image <FILE>...`
    Many,
    /// `--api-key [<API_KEY>]`: an optional value.
    Optional,
    /// Anything else (`<A> <B>`): shown as written, never matches a grammar arity.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpOption {
    pub short: Option<char>,
    pub long: Option<String>,
    pub values: Values,
}

impl HelpOption {
    /// `-c/--config`, `--oss`, `-x`: how mismatch reports name the option.
    pub fn name(&self) -> String {
        match (&self.short, &self.long) {
            (Some(s), Some(l)) => format!("-{s}/--{l}"),
            (None, Some(l)) => format!("--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, None) => String::from("?"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpCommand {
    pub name: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HelpPage {
    /// The first `Usage:` line, e.g. `Usage: codex exec [OPTIONS] [PROMPT]`.
    pub usage: String,
    pub options: Vec<HelpOption>,
    pub commands: Vec<HelpCommand>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Other,
    Commands,
    Options,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Parses one help page.
pub fn parse(text: &str) -> HelpPage {
    let mut page = HelpPage::default();
    let mut section = Section::Other;
    // Description text of the current subcommand entry, to find aliases in once it is complete.
    let mut descriptions: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if indent(line) == 0 {
            if line.starts_with("Usage:") {
                if page.usage.is_empty() {
                    page.usage = line.to_owned();
                }
                section = Section::Other;
            } else if line == "Commands:" || line == "Subcommands:" {
                section = Section::Commands;
            } else if line.ends_with("Options:") || line.ends_with("options:") {
                section = Section::Options;
            } else if line.ends_with(':') {
                section = Section::Other;
            }
            continue;
        }
        match section {
            Section::Other => {}
            Section::Options => {
                if indent(line) < 8 && line.trim_start().starts_with('-') {
                    page.options.push(parse_option(line.trim_start()));
                }
            }
            Section::Commands => {
                let text = line.trim_start();
                if indent(line) <= 4 {
                    let (name, rest) = text.split_once(' ').unwrap_or((text, ""));
                    page.commands.push(HelpCommand { name: name.to_owned(), aliases: Vec::new() });
                    descriptions.push(rest.trim().to_owned());
                } else if let Some(last) = descriptions.last_mut() {
                    last.push(' ');
                    last.push_str(text);
                }
            }
        }
    }
    for (command, description) in page.commands.iter_mut().zip(&descriptions) {
        command.aliases = aliases_in(description);
    }
    page
}

/// `[aliases: e, x]` or `[alias: e]` anywhere in a (joined) description.
fn aliases_in(description: &str) -> Vec<String> {
    let normalised = description.split_whitespace().collect::<Vec<_>>().join(" ");
    for marker in ["[aliases: ", "[alias: "] {
        if let Some(start) = normalised.find(marker) {
            let rest = &normalised[start + marker.len()..];
            let list = rest.split(']').next().unwrap_or_default();
            return list.split(',').map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()).collect();
        }
    }
    Vec::new()
}

/// One option entry without its leading indentation: `-c, --config <key=value>  description…`.
fn parse_option(entry: &str) -> HelpOption {
    // The specification ends where an inline description starts (two spaces) or at the line's end.
    let spec = entry.split("  ").next().unwrap_or_default().trim();
    let mut rest = spec;
    let mut short = None;
    let mut long = None;
    let mut chars = rest.chars();
    if let (Some('-'), Some(c), next) = (chars.next(), chars.next(), chars.next()) {
        if c != '-' && matches!(next, None | Some(',') | Some(' ') | Some('=')) {
            short = Some(c);
            rest = rest[2..].trim_start_matches(',').trim_start();
        }
    }
    if let Some(after) = rest.strip_prefix("--") {
        let end = after.find([' ', '=', '[', '<']).unwrap_or(after.len());
        long = Some(after[..end].to_owned());
        rest = &after[end..];
    }
    let value = rest.trim_start_matches('=').trim();
    let values = if value.is_empty() {
        Values::Flag
    } else if is_placeholder(value) {
        Values::One
    } else if value.strip_suffix("...").is_some_and(|v| is_placeholder(v) || is_optional(v)) {
        Values::Many
    } else if is_optional(value) {
        Values::Optional
    } else {
        Values::Other(value.to_owned())
    };
    HelpOption { short, long, values }
}

/// `<NAME>`: one placeholder, no spaces inside.
fn is_placeholder(text: &str) -> bool {
    text.len() > 2 && text.starts_with('<') && text.ends_with('>') && !text[1..].contains(['<', ' '])
}

/// `[<NAME>]`
fn is_optional(text: &str) -> bool {
    text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).is_some_and(is_placeholder)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Run Codex non-interactively

Usage: codex exec [OPTIONS] [PROMPT]
       codex exec [OPTIONS] <COMMAND> [ARGS]

Commands:
  resume  Resume a previous session by id or pick the most recent with --last
  apply   Apply the latest diff produced by Codex agent as a `git apply` to your local
          working tree [aliases:
          a, ap]
  help    Print this message or the help of the given subcommand(s)

Arguments:
  [PROMPT]
          Initial instructions for the agent. If not provided as an argument (or if `-` is used),

Options:
  -c, --config <key=value>
          Override a configuration value
          
          Examples: - `-c model=\"o3\"` - `-c
          shell_environment_policy.inherit=all`

      --with-access-token
          Read the access token from stdin (e.g. `printenv CODEX_ACCESS_TOKEN | codex login
          --with-access-token`)

      --device-auth
          

  -i, --image <FILE>...
          Optional image(s)
      --api-key [<API_KEY>]
  -m, --model <MODEL>     Model the agent should use
      --oauth-client-registration <AUTO|CIMD|DCR>
      --pair <A> <B>
  -x <VALUE>
  -h, --help
          Print help (see a summary with '-h')

Examples:
  codex plugin add sample --marketplace debug
";

    #[test]
    fn parses_options_commands_and_aliases() {
        let page = parse(SAMPLE);
        assert_eq!(page.usage, "Usage: codex exec [OPTIONS] [PROMPT]");
        let names: Vec<(String, Vec<String>)> =
            page.commands.iter().map(|c| (c.name.clone(), c.aliases.clone())).collect();
        assert_eq!(
            names,
            [
                ("resume".to_owned(), vec![]),
                ("apply".to_owned(), vec!["a".to_owned(), "ap".to_owned()]),
                ("help".to_owned(), vec![]),
            ]
        );
        let option = |short: Option<char>, long: Option<&str>, values: Values| HelpOption {
            short,
            long: long.map(str::to_owned),
            values,
        };
        assert_eq!(
            page.options,
            [
                option(Some('c'), Some("config"), Values::One),
                option(None, Some("with-access-token"), Values::Flag),
                option(None, Some("device-auth"), Values::Flag),
                option(Some('i'), Some("image"), Values::Many),
                option(None, Some("api-key"), Values::Optional),
                option(Some('m'), Some("model"), Values::One),
                option(None, Some("oauth-client-registration"), Values::One),
                option(None, Some("pair"), Values::Other("<A> <B>".to_owned())),
                option(Some('x'), None, Values::One),
                option(Some('h'), Some("help"), Values::Flag),
            ]
        );
    }
}
