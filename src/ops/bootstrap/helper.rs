//! The helper container's side: `bootstrap-openclaw-codex-volume __helper OP [...]`, run as the
//! entrypoint of the one-file helper image with the volumes at `/source` and `/dest`. It
//! prints one JSON `Reply` on stdout (the host reads nothing else) and exits 0, or 1 with `error`
//! set.

use crate::exit::bootstrap_helper as exit;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use super::volume::{self, Change, ErrorKind, VolumeError};
use crate::ops::codex_auth::Login;

/// The hidden first argument that selects the helper.
pub const SUBCOMMAND: &str = "__helper";
/// Where the host mounts the volumes in the helper container.
pub const SOURCE_MOUNT: &str = "/source";
pub const DEST_MOUNT: &str = "/dest";

/// Where the tool sits in the helper image: `/bootstrap-openclaw-codex-volume`.
pub fn image_path() -> String {
    format!("/{}", super::PREFIX)
}

/// The helper image's whole file system, as the tar `docker import` reads: the static tool at
/// `image_path()`, owned by root, mode 0755.
pub fn image_tar(binary: &[u8], out: impl Write) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    let mut archive = tar::Builder::new(out);
    archive.append_data(&mut header, super::PREFIX, binary)?;
    archive.into_inner()?.flush()
}

/// The `docker import --change` instructions that make the tar the helper image of a run on
/// `dest`: the helper entrypoint and the labels `docker images --filter` finds it by.
pub fn image_changes(role_label: &str, dest_label: &str, dest: &str) -> Vec<String> {
    // Dockerfile double-quoted strings take JSON's \" and \\ escapes.
    let quoted = |v: &str| serde_json::to_string(v).expect("a string serialises");
    vec![
        format!("ENTRYPOINT [{}, {}]", quoted(&image_path()), quoted(SUBCOMMAND)),
        format!("LABEL {}={}", quoted(role_label), quoted("helper")),
        format!("LABEL {}={}", quoted(dest_label), quoted(dest)),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// Read-only: what a run would do.
    Plan,
    /// Roll back an interrupted run, then write the new files beside the live ones.
    Stage,
    /// Put the staged files in place.
    Commit,
    /// Validation passed: drop the backups, record what was copied.
    Finish,
    /// Put the previous files back.
    Rollback,
    /// `--from-scratch`: journal `auth.json` before `codex login` replaces it.
    PrepareLogin,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Plan => "plan",
            Op::Stage => "stage",
            Op::Commit => "commit",
            Op::Finish => "finish",
            Op::Rollback => "rollback",
            Op::PrepareLogin => "prepare-login",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "bootstrap-openclaw-codex-volume __helper",
    about = "Volume work inside the helper container (not for people)"
)]
struct HelperCli {
    #[arg(value_enum)]
    op: Op,
    /// The source volume's mount (absent: no source, as with --from-scratch).
    #[arg(long)]
    source: Option<PathBuf>,
    /// The destination volume's mount (absent for `plan`: the volume does not exist yet).
    #[arg(long)]
    dest: Option<PathBuf>,
    #[arg(long)]
    force: bool,
    #[arg(long)]
    from_scratch: bool,
    /// Print each change on stderr.
    #[arg(long)]
    verbose: bool,
}

/// What the helper prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub outcome: Option<Change>,
    /// An interrupted run was (or, for `plan`, will be) rolled back first.
    pub recovered: bool,
    pub source: Option<Login>,
    pub source_config: bool,
    pub dest: Option<Login>,
    pub dest_config: bool,
    /// Files staged (`stage`), worker token files in the destination (`plan`) or removed (`commit`).
    pub files: Vec<String>,
    pub worker_tokens: Vec<String>,
    /// `rollback`: whether there was anything to roll back.
    pub rolled_back: bool,
    pub error_kind: Option<ErrorKind>,
    pub error: Option<String>,
}

fn need(path: &Option<PathBuf>, what: &str) -> Result<PathBuf, VolumeError> {
    path.clone().ok_or_else(|| VolumeError { kind: ErrorKind::Io, message: format!("the helper needs --{what}") })
}

fn read_source(dir: &Path) -> Result<volume::Source, VolumeError> {
    volume::read_source(dir, volume::READ_ATTEMPTS, volume::READ_RETRY)
}

fn execute(cli: &HelperCli) -> Result<Reply, VolumeError> {
    let mut reply = Reply::default();
    match cli.op {
        Op::Plan => {
            let view = volume::read_dest(cli.dest.as_deref())?;
            reply.recovered = view.interrupted;
            reply.dest = Some(Login::of(view.auth.as_deref()));
            reply.dest_config = view.config.is_some();
            reply.worker_tokens = view.worker_tokens.clone();
            if cli.from_scratch {
                reply.outcome = Some(volume::login_outcome(&view, cli.force));
            } else {
                let source = read_source(&need(&cli.source, "source")?)?;
                reply.source = Some(Login::of(Some(&source.auth)));
                reply.source_config = source.config.is_some();
                reply.outcome = Some(volume::decide(&source, &view, cli.force));
            }
        }
        Op::Stage => {
            let source = read_source(&need(&cli.source, "source")?)?;
            reply.source = Some(Login::of(Some(&source.auth)));
            reply.source_config = source.config.is_some();
            let staged = volume::stage(&source, &need(&cli.dest, "dest")?, cli.force)?;
            reply.outcome = Some(staged.outcome);
            reply.recovered = staged.recovered;
            reply.files = staged.files;
        }
        Op::PrepareLogin => {
            let staged = volume::prepare_login(&need(&cli.dest, "dest")?, cli.force)?;
            reply.outcome = Some(staged.outcome);
            reply.recovered = staged.recovered;
            reply.files = staged.files;
        }
        Op::Commit => reply.worker_tokens = volume::commit(&need(&cli.dest, "dest")?)?,
        Op::Finish => volume::finish(&need(&cli.dest, "dest")?)?,
        Op::Rollback => reply.rolled_back = volume::rollback(&need(&cli.dest, "dest")?)?,
    }
    Ok(reply)
}

/// The helper container's run: `args` are what follows `__helper`; its exit code
/// (`exit::bootstrap_helper`).
pub fn run_in_container(args: Vec<OsString>) -> u8 {
    let cli = match HelperCli::try_parse_from(std::iter::once(OsString::from(SUBCOMMAND)).chain(args)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return exit::USAGE.value;
        }
    };
    volume::set_verbose(cli.verbose);
    let (reply, code) = match execute(&cli) {
        Ok(reply) => (reply, exit::DONE.value),
        Err(e) => {
            eprintln!("bootstrap helper: {} failed: {e}", cli.op.as_str());
            (Reply { error_kind: Some(e.kind), error: Some(e.message), ..Reply::default() }, exit::FAILED.value)
        }
    };
    println!("{}", serde_json::to_string(&reply).expect("a reply serialises"));
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_image_tar_holds_only_the_tool_root_owned_and_executable() {
        let binary = b"\x7fELF static tool bytes".repeat(100);
        let mut tar = Vec::new();
        image_tar(&binary, &mut tar).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().expect("one entry").unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some(&image_path()[1..]));
        let header = entry.header();
        assert_eq!((header.mode().unwrap(), header.uid().unwrap(), header.gid().unwrap()), (0o755, 0, 0));
        assert_eq!(header.entry_type(), tar::EntryType::Regular);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        assert_eq!(content, binary);
        drop(entry);
        assert!(entries.next().is_none(), "nothing else in the image");
    }

    #[test]
    fn image_changes_quote_what_they_carry() {
        let changes = image_changes("role.label", "dest.label", r#"we"ird\name"#);
        assert_eq!(
            changes,
            [
                r#"ENTRYPOINT ["/bootstrap-openclaw-codex-volume", "__helper"]"#,
                r#"LABEL "role.label"="helper""#,
                r#"LABEL "dest.label"="we\"ird\\name""#,
            ]
        );
    }
}
