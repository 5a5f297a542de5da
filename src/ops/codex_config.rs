//! Enforcing OpenClaw's Codex `config.toml` at start-up (MoonMind's `ensure_codex_config`, in Rust).
//!
//! Every key the template defines is copied over the existing file, `model` and the model of every
//! other job (`config_keys::JOB_MODEL_KEYS`: `review_model`, `memories.*_model`, the realtime model)
//! are pinned to `OPENCLAW_MODEL`, and every other key, comment and blank line of the operator's
//! file stays as it was (`toml_edit`). A value in the way of a dotted key becomes a table. The file is
//! replaced atomically (temp file, fsync, rename, fsync of the directory) with mode 0640, and not
//! rewritten at all when nothing changes.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, Table, TableLike};

pub const CONFIG_PATH_VAR: &str = "CODEX_CONFIG_PATH";
pub const TEMPLATE_PATH_VAR: &str = "CODEX_TEMPLATE_PATH";
/// Where the image ships the template.
pub const DEFAULT_TEMPLATE_PATH: &str = "/etc/codex/config.toml";
use crate::ops::fs_atomic::write_atomically;
pub use crate::ops::fs_atomic::CONFIG_MODE;

#[derive(Debug)]
pub enum ConfigError {
    NoTarget,
    TemplateUnreadable(PathBuf, std::io::Error),
    TemplateInvalid(PathBuf, String),
    TemplateEmpty(PathBuf),
    ExistingUnreadable(PathBuf, std::io::Error),
    ExistingInvalid(PathBuf, String),
    Write(PathBuf, std::io::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoTarget => {
                write!(f, "no Codex config path: set {CONFIG_PATH_VAR} or CODEX_HOME")
            }
            ConfigError::TemplateUnreadable(p, e) => {
                write!(
                    f,
                    "cannot read the Codex config template {}: {e}; set {TEMPLATE_PATH_VAR} to an existing file",
                    p.display()
                )
            }
            ConfigError::TemplateInvalid(p, e) => {
                write!(f, "the Codex config template {} is not valid TOML: {e}", p.display())
            }
            ConfigError::TemplateEmpty(p) => {
                write!(f, "the Codex config template {} defines no key to enforce", p.display())
            }
            ConfigError::ExistingUnreadable(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            ConfigError::ExistingInvalid(p, e) => {
                write!(f, "{} is not valid TOML ({e}); fix or remove it, it was left untouched", p.display())
            }
            ConfigError::Write(p, e) => write!(f, "cannot write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for ConfigError {}

/// `CODEX_CONFIG_PATH`, else `$CODEX_HOME/config.toml`.
pub fn target_path(get: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, ConfigError> {
    let non_empty = |name: &str| get(name).filter(|v| !v.is_empty());
    if let Some(path) = non_empty(CONFIG_PATH_VAR) {
        return Ok(PathBuf::from(path));
    }
    non_empty("CODEX_HOME").map(|home| Path::new(&home).join("config.toml")).ok_or(ConfigError::NoTarget)
}

pub fn template_path(get: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    get(TEMPLATE_PATH_VAR).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| DEFAULT_TEMPLATE_PATH.into())
}

/// Leaf keys of `table` as (dotted path, item), sub-tables walked into.
fn leaves<'a>(prefix: &mut Vec<&'a str>, table: &'a dyn TableLike, out: &mut Vec<(Vec<&'a str>, &'a Item)>) {
    for (key, item) in table.iter() {
        prefix.push(key);
        match item.as_table_like() {
            Some(sub) if item.is_table() => leaves(prefix, sub, out),
            _ => out.push((prefix.clone(), item)),
        }
        prefix.pop();
    }
}

/// Sets `path` to `value` in `root`, making tables of whatever is in the way.
fn set(root: &mut Table, path: &[&str], value: Item) {
    let (last, parents) = path.split_last().expect("a key path");
    let mut table: &mut dyn TableLike = root;
    for key in parents {
        let entry = table.entry(key).or_insert_with(toml_edit::table);
        if entry.as_table_like().is_none() {
            *entry = toml_edit::table();
        }
        table = entry.as_table_like_mut().expect("made a table");
    }
    match table.get_mut(last) {
        // Keep the operator's decoration (comments after the value) when only the value changes.
        Some(Item::Value(old)) if value.is_value() => {
            let decor = old.decor().clone();
            *old = value.into_value().expect("a value");
            *old.decor_mut() = decor;
        }
        _ => {
            table.insert(last, value);
        }
    }
}

/// The enforced content: pure, for the unit tests.
pub fn enforce(existing: &str, template: &str, model: &str) -> Result<String, (bool, String)> {
    let template: DocumentMut = template.parse().map_err(|e: toml_edit::TomlError| (true, e.to_string()))?;
    let mut doc: DocumentMut = existing.parse().map_err(|e: toml_edit::TomlError| (false, e.to_string()))?;
    let mut enforced = Vec::new();
    leaves(&mut Vec::new(), template.as_table(), &mut enforced);
    if enforced.is_empty() {
        return Err((true, String::from("empty")));
    }
    for (path, item) in enforced {
        set(doc.as_table_mut(), &path, item.clone());
    }
    for key in crate::pin::config_keys::pinned_model_keys() {
        let path: Vec<&str> = key.split('.').collect();
        set(doc.as_table_mut(), &path, toml_edit::value(model));
    }
    Ok(doc.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Written,
    Unchanged,
}

/// Enforces the template on the file at `target` (created if missing).
pub fn apply(target: &Path, template_path: &Path, model: &str) -> Result<Applied, ConfigError> {
    let template =
        fs::read_to_string(template_path).map_err(|e| ConfigError::TemplateUnreadable(template_path.into(), e))?;
    let existing = match fs::read_to_string(target) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(ConfigError::ExistingUnreadable(target.into(), e)),
    };
    let wanted = enforce(existing.as_deref().unwrap_or(""), &template, model).map_err(|(in_template, e)| {
        match (in_template, e.as_str()) {
            (true, "empty") => ConfigError::TemplateEmpty(template_path.into()),
            (true, _) => ConfigError::TemplateInvalid(template_path.into(), e),
            (false, _) => ConfigError::ExistingInvalid(target.into(), e),
        }
    })?;
    let write_error = |e| ConfigError::Write(target.into(), e);
    if existing.as_deref() == Some(wanted.as_str()) {
        fs::set_permissions(target, fs::Permissions::from_mode(CONFIG_MODE)).map_err(write_error)?;
        return Ok(Applied::Unchanged);
    }
    write_atomically(target, wanted.as_bytes()).map_err(write_error)?;
    Ok(Applied::Written)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str =
        "approval_policy = \"never\"\nsandbox_mode = \"read-only\"\n[sandbox_workspace_write]\nnetwork_access = true\n";

    #[test]
    fn enforced_keys_override_and_the_rest_survives() {
        let existing = "# operator notes\nmodel = \"o3\" # chosen by hand\napproval_policy = \"on-request\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\n# the local stand-in\nname = \"mock\"\nbase_url = \"http://127.0.0.1:1/v1\"\n";
        let out = enforce(existing, TEMPLATE, "gpt-pin").unwrap();
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        assert_eq!(doc["approval_policy"].as_str(), Some("never"));
        assert_eq!(doc["sandbox_mode"].as_str(), Some("read-only"));
        assert_eq!(doc["sandbox_workspace_write"]["network_access"].as_bool(), Some(true));
        assert_eq!(doc["model"].as_str(), Some("gpt-pin"));
        assert_eq!(doc["review_model"].as_str(), Some("gpt-pin"));
        assert_eq!(doc["memories"]["extract_model"].as_str(), Some("gpt-pin"));
        assert_eq!(doc["memories"]["consolidation_model"].as_str(), Some("gpt-pin"));
        assert_eq!(doc["experimental_realtime_ws_model"].as_str(), Some("gpt-pin"));
        assert_eq!(doc["model_provider"].as_str(), Some("mock"));
        assert_eq!(doc["model_providers"]["mock"]["base_url"].as_str(), Some("http://127.0.0.1:1/v1"));
        for comment in ["# operator notes", "# chosen by hand", "# the local stand-in"] {
            assert!(out.contains(comment), "{comment} lost:\n{out}");
        }
    }

    #[test]
    fn enforcing_twice_changes_nothing() {
        let once = enforce("x = 1\n[t]\ny = 2\n", TEMPLATE, "gpt-pin").unwrap();
        assert_eq!(enforce(&once, TEMPLATE, "gpt-pin").unwrap(), once);
    }

    #[test]
    fn a_value_in_the_way_of_a_dotted_key_becomes_a_table() {
        let out = enforce("sandbox_workspace_write = false\n", TEMPLATE, "m").unwrap();
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        assert_eq!(doc["sandbox_workspace_write"]["network_access"].as_bool(), Some(true));
    }

    #[test]
    fn inline_tables_are_entered() {
        let out = enforce("sandbox_workspace_write = { writable_roots = [\"/x\"] }\n", TEMPLATE, "m").unwrap();
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        assert_eq!(doc["sandbox_workspace_write"]["network_access"].as_bool(), Some(true));
        assert_eq!(doc["sandbox_workspace_write"]["writable_roots"][0].as_str(), Some("/x"));
    }

    #[test]
    fn model_is_escaped() {
        let out = enforce("", TEMPLATE, "a\"b\\c").unwrap();
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        assert_eq!(doc["model"].as_str(), Some("a\"b\\c"));
    }

    #[test]
    fn invalid_inputs_are_reported_on_the_right_side() {
        assert!(matches!(enforce("x = ", TEMPLATE, "m"), Err((false, _))));
        assert!(matches!(enforce("", "y = ", "m"), Err((true, _))));
        assert_eq!(enforce("", "# nothing\n", "m"), Err((true, "empty".into())));
    }

    #[test]
    fn apply_writes_atomically_with_0640_and_skips_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let (target, template) = (dir.path().join("home/config.toml"), dir.path().join("template.toml"));
        fs::write(&template, TEMPLATE).unwrap();
        assert_eq!(apply(&target, &template, "gpt-pin").unwrap(), Applied::Written);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), 0o640);
        let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&fs::metadata(p).unwrap());
        let before = inode(&target);
        fs::set_permissions(&target, fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(apply(&target, &template, "gpt-pin").unwrap(), Applied::Unchanged);
        assert_eq!(inode(&target), before, "unchanged content is not rewritten");
        assert_eq!(mode(&target), 0o640, "permissions are fixed even so");
        assert_eq!(apply(&target, &template, "other").unwrap(), Applied::Written);
        assert_ne!(inode(&target), before, "a change replaces the file");
        let leftovers: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn missing_template_and_broken_config_are_errors_that_touch_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("config.toml");
        let err = apply(&target, &dir.path().join("missing.toml"), "m").unwrap_err();
        assert!(matches!(err, ConfigError::TemplateUnreadable(..)), "{err}");
        assert!(!target.exists());
        let template = dir.path().join("t.toml");
        fs::write(&template, TEMPLATE).unwrap();
        fs::write(&target, "model = [").unwrap();
        let err = apply(&target, &template, "m").unwrap_err();
        assert!(matches!(err, ConfigError::ExistingInvalid(..)), "{err}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "model = [");
    }

    #[test]
    fn target_path_rules() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(
            target_path(env(&[("CODEX_CONFIG_PATH", "/a/c.toml"), ("CODEX_HOME", "/h")])).unwrap(),
            Path::new("/a/c.toml")
        );
        assert_eq!(target_path(env(&[("CODEX_HOME", "/h")])).unwrap(), Path::new("/h/config.toml"));
        assert!(target_path(env(&[("CODEX_CONFIG_PATH", "")])).is_err());
        assert_eq!(template_path(env(&[])), Path::new(DEFAULT_TEMPLATE_PATH));
    }
}
