//! The built `codex` shim against a fake codex later on PATH: how it finds, execs and refuses.

mod support;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;

use predicates::prelude::*;
use support::{Tree, PIN};

const SIGPIPE_BIT: u64 = 1 << (13 - 1);
const SIGUSR1_BIT: u64 = 1 << (10 - 1);

fn pinned_prefix() -> Vec<String> {
    let mut prefix: Vec<String> = ["-m", PIN, "-c", &format!("model=\"{PIN}\"")].map(String::from).to_vec();
    for key in openclaw_codex::pin::config_keys::JOB_MODEL_KEYS {
        prefix.extend(["-c".to_owned(), format!("{key}=\"{PIN}\"")]);
    }
    for pin in openclaw_codex::pin::config_keys::SUBAGENT_PINS {
        prefix.extend(["-c".to_owned(), pin.to_string()]);
    }
    prefix.extend(["--disable".to_owned(), "multi_agent".to_owned()]);
    prefix
}

fn with_prefix(rest: &[&str]) -> Vec<String> {
    let mut args = pinned_prefix();
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

/// shim in `shim/`, fake real codex in `real/`, PATH = shim:real.
fn standard() -> (Tree, OsString) {
    let tree = Tree::new();
    tree.shim("shim");
    tree.fake("real");
    let path = tree.path_of(&["shim", "real"]);
    (tree, path)
}

#[test]
fn execs_real_codex_with_pinned_argv_and_argv0_kept() {
    let (tree, path) = standard();
    tree.command("codex", &path)
        .args(["exec", "--model", "gpt-4o", "hi"])
        .assert()
        .success()
        .stderr(predicate::str::contains("forced OPENCLAW_MODEL=\"gpt-pin\" over --model \"gpt-4o\" at exec"));
    let record = tree.only_record();
    assert_eq!(record.argv[0], "codex", "argv[0] as the caller gave it");
    assert_eq!(record.args_text(), with_prefix(&["exec", "--model", PIN, "hi"]));
}

#[test]
fn exit_status_is_codex_own() {
    let (tree, path) = standard();
    tree.command("codex", &path).env("FAKE_CODEX_ACTION", "exit:42").arg("exec").assert().code(42);
}

#[test]
fn signal_death_is_codex_own() {
    let (tree, path) = standard();
    let output = tree.command("codex", &path).env("FAKE_CODEX_ACTION", "term").output().unwrap();
    assert_eq!(output.status.signal(), Some(15), "{:?}", output.status);
    // And a shell reports it as 128 + 15, as for any process killed by SIGTERM.
    tree.command("/bin/sh", &path)
        .env("FAKE_CODEX_ACTION", "term")
        .args(["-c", "codex exec; echo $?"])
        .assert()
        .stdout("143\n");
}

#[test]
fn codex_starts_with_default_sigpipe_and_no_blocked_signals() {
    let (tree, path) = standard();
    tree.command("codex", &path).assert().success();
    let record = tree.only_record();
    assert_eq!(record.sig_ignored & SIGPIPE_BIT, 0, "SIGPIPE ignored in codex: {:x}", record.sig_ignored);
    assert_eq!(record.sig_blocked, 0);
}

#[test]
fn codex_inherits_the_callers_signal_dispositions_and_mask() {
    // The shim starts without Rust's runtime set-up and execs directly: what the caller ignored or
    // blocked, codex ignores or blocks, exactly as without the shim.
    let (tree, path) = standard();
    let exec_shim = "import os, signal, sys\n\
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)\n\
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})\n\
        os.execv(sys.argv[1], ['codex', 'exec', 'hi'])";
    // The interpreter itself: python3 on PATH may be a wrapper script needing more than the tree's PATH.
    let python = std::process::Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output();
    let python = String::from_utf8(python.expect("python3 on PATH").stdout).unwrap().trim().to_owned();
    tree.command(python, &path).args(["-c", exec_shim]).arg(support::shim_binary()).assert().success();
    let record = tree.only_record();
    assert_ne!(record.sig_ignored & SIGPIPE_BIT, 0, "SIGPIPE not ignored in codex: {:x}", record.sig_ignored);
    assert_eq!(record.sig_blocked, SIGUSR1_BIT, "blocked in codex: {:x}", record.sig_blocked);
}

/// The size budget of the static shim (benchmark issue): every codex call pages it in.
const SIZE_BUDGET_BYTES: u64 = 600_000;

#[test]
fn the_static_shim_fits_its_size_budget() {
    if std::env::var_os("OPENCLAW_TEST_SHIM").is_none() {
        eprintln!("the_static_shim_fits_its_size_budget: the debug build is not the shipped binary; OPENCLAW_TEST_SHIM names that");
        return;
    }
    let size = std::fs::metadata(support::shim_binary()).unwrap().len();
    assert!(size <= SIZE_BUDGET_BYTES, "the static shim is {size} bytes, over its {SIZE_BUDGET_BYTES}-byte budget");
}

#[test]
fn odd_arguments_reach_codex_byte_exact() {
    let (tree, path) = standard();
    let odd: Vec<OsString> = vec![
        OsStr::from_bytes(b"caf\xe9 \xff\xfe").into(),
        "".into(),
        "two words".into(),
        "tab\there".into(),
        "-".into(),
        "naïve ☃".into(),
    ];
    tree.command("codex", &path).arg("exec").args(&odd).assert().success();
    let record = tree.only_record();
    assert_eq!(record.argv[record.argv.len() - odd.len()..], odd[..]);
}

#[test]
fn environment_is_passed_on() {
    let (tree, path) = standard();
    tree.command("codex", &path).env("CODEX_HOME", "/somewhere").env("OTHER", "x y").assert().success();
    let record = tree.only_record();
    assert_eq!(record.env_var("CODEX_HOME").unwrap(), "/somewhere");
    assert_eq!(record.env_var("OTHER").unwrap(), "x y");
    assert_eq!(record.env_var("OPENCLAW_MODEL").unwrap(), PIN);
}

#[test]
fn two_copies_of_the_shim_converge_without_growing_argv() {
    let tree = Tree::new();
    tree.shim("a");
    tree.shim("b");
    tree.fake("real");
    let path = tree.path_of(&["a", "b", "real"]);
    tree.command("codex", &path).args(["exec", "-m", "other", "hi"]).assert().success();
    let record = tree.only_record();
    assert_eq!(record.args_text(), with_prefix(&["exec", "-m", PIN, "hi"]));
    let guard = record.env_var("OPENCLAW_SHIM_GUARD").unwrap().to_str().unwrap().to_owned();
    assert_eq!(guard.split(':').nth(1).unwrap().split(',').count(), 2, "both copies ran: {guard}");
}

#[test]
fn copies_listed_in_ping_pong_order_still_converge() {
    // PATH = b:a:b:real. With "after my first position" b would call a, a would call b, forever.
    let tree = Tree::new();
    tree.shim("a");
    tree.shim("b");
    tree.fake("real");
    let path = tree.path_of(&["b", "a", "b", "real"]);
    tree.command("codex", &path).arg("exec").assert().success();
    assert_eq!(tree.only_record().args_text(), with_prefix(&["exec"]));
}

#[test]
fn shim_reached_again_through_a_symlink_is_skipped() {
    let tree = Tree::new();
    let shim = tree.shim("shim");
    std::os::unix::fs::symlink(&shim, tree.dir("link").join("codex")).unwrap();
    tree.fake("real");
    let path = tree.path_of(&["link", "shim", "real"]);
    tree.command("codex", &path).arg("exec").assert().success();
    assert_eq!(tree.only_record().args_text(), with_prefix(&["exec"]));
}

#[test]
fn empty_and_relative_path_entries_are_never_used() {
    let tree = Tree::new();
    let shim = tree.shim("shim");
    tree.fake("rel"); // would be found through the relative entry "rel"
    support::copy_out_of_process(support::fake_codex_binary(), &tree.root.path().join("codex")); // through "" and "."
    let path = format!("::.:rel:{}", tree.root.path().join("shim").display());
    tree.command(&shim, &path)
        .arg("exec")
        .assert()
        .code(127)
        .stderr(predicate::str::contains("no real codex found"))
        .stderr(predicate::str::contains("empty PATH entry"))
        .stderr(predicate::str::contains("relative PATH entry"));
    assert!(tree.records().is_empty());
}

#[test]
fn missing_real_codex_is_127_naming_what_was_skipped() {
    let tree = Tree::new();
    tree.shim("shim");
    let path = tree.path_of(&["shim", "empty"]);
    tree.dir("empty");
    tree.command("codex", &path)
        .assert()
        .code(127)
        .stderr(predicate::str::contains("\nopenclaw codex shim: no real codex found"))
        .stderr(predicate::str::contains("shim/codex (at or before the shim's own PATH position)"));
}

#[test]
fn unexecutable_candidate_is_skipped() {
    let tree = Tree::new();
    tree.shim("shim");
    tree.file("noexec", 0o644);
    std::fs::create_dir_all(tree.dir("dir").join("codex")).unwrap();
    tree.fake("real");
    let path = tree.path_of(&["shim", "noexec", "dir", "real"]);
    tree.command("codex", &path).arg("exec").assert().success();
    let record = tree.only_record();
    assert_eq!(record.args_text(), with_prefix(&["exec"]));
}

#[test]
fn exec_failure_is_126_without_trying_another_candidate() {
    let tree = Tree::new();
    tree.shim("shim");
    // Executable, but its interpreter does not exist: execve fails with ENOENT.
    let broken = tree.dir("broken").join("codex");
    support::write_script(&broken, "#!/nonexistent/interpreter\n");
    tree.fake("real");
    let path = tree.path_of(&["shim", "broken", "real"]);
    tree.command("codex", &path)
        .assert()
        .code(126)
        .stderr(predicate::str::contains(format!("cannot exec {}", broken.display())));
    assert!(tree.records().is_empty());
}

#[test]
fn real_codex_override() {
    let (tree, _) = standard();
    let other = tree.fake("other");
    let path = tree.path_of(&["shim"]);
    tree.command("codex", &path).env("OPENCLAW_REAL_CODEX", &other).assert().success();
    assert_eq!(tree.only_record().args_text(), with_prefix(&[]));
    tree.command("codex", &path).env("OPENCLAW_REAL_CODEX", "other/codex").assert().code(78);
    let shim = tree.root.path().join("shim/codex");
    tree.command("codex", &path)
        .env("OPENCLAW_REAL_CODEX", &shim)
        .assert()
        .code(127)
        .stderr(predicate::str::contains("is this shim"));
}

#[test]
fn wrapper_that_calls_codex_through_path_again_is_a_loop_not_a_hang() {
    let tree = Tree::new();
    tree.shim("shim");
    let wrapper = tree.dir("wrapper").join("codex");
    support::write_script(&wrapper, "#!/bin/sh\nexec codex \"$@\"\n");
    let path = tree.path_of(&["shim", "wrapper"]);
    tree.command("codex", &path)
        .timeout(std::time::Duration::from_secs(20))
        .arg("exec")
        .assert()
        .code(127)
        .stderr(predicate::str::contains("exec loop"));
}

#[test]
fn nested_codex_from_codex_child_is_not_a_loop() {
    let (tree, path) = standard();
    tree.command("codex", &path).env("FAKE_CODEX_ACTION", "nest").arg("exec").assert().success();
    let records = tree.records();
    assert_eq!(records.len(), 2, "outer and nested codex both ran");
    let nested = records.iter().find(|r| r.argv.last().unwrap() == "nested").unwrap();
    assert_eq!(nested.args_text(), with_prefix(&["nested"]));
}

#[test]
fn bad_policy_is_78_and_runs_nothing() {
    let (tree, path) = standard();
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("OPENCLAW_MODEL", None, "OPENCLAW_MODEL is not set"),
        ("OPENCLAW_MODEL", Some(""), "OPENCLAW_MODEL is empty"),
        ("OPENCLAW_MODEL", Some("  \t "), "OPENCLAW_MODEL is empty"),
        ("OPENCLAW_MODEL", Some("gpt\n5"), "OPENCLAW_MODEL contains a control character"),
        ("OPENCLAW_MODEL_LOCK_MODE", Some("maybe"), "OPENCLAW_MODEL_LOCK_MODE=\"maybe\" is not a lock mode"),
        ("OPENCLAW_ALLOW_UNPINNABLE", Some("exec"), "OPENCLAW_ALLOW_UNPINNABLE names \"exec\""),
    ];
    for (var, value, message) in cases {
        let mut cmd = tree.command("codex", &path);
        match value {
            Some(v) => cmd.env(var, v),
            None => cmd.env_remove(var),
        };
        let output = cmd.arg("exec").output().unwrap();
        assert_eq!(output.status.code(), Some(78), "{var}={value:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let (records, lines): (Vec<&str>, Vec<&str>) = stderr.lines().partition(|l| l.starts_with('{'));
        assert_eq!(lines.len(), 1, "one line for people: {stderr}");
        assert!(lines[0].contains(message), "{stderr}");
        assert_eq!(records.len(), 1, "one audit record: {stderr}");
    }
    assert!(tree.records().is_empty());
}

#[test]
fn reject_mode_refuses_attempts_with_77_and_runs_nothing() {
    let (tree, path) = standard();
    tree.command("codex", &path)
        .env("OPENCLAW_MODEL_LOCK_MODE", "reject")
        .args(["exec", "--model=gpt-4o", "-c", "model_provider=evil", "hi"])
        .assert()
        .code(77)
        .stderr(predicate::str::contains(
            "--model= \"gpt-4o\" at exec, -c model_provider \"model_provider=evil\" at exec",
        ));
    assert!(tree.records().is_empty());
    // Benign calls run, pinned.
    tree.command("codex", &path).env("OPENCLAW_MODEL_LOCK_MODE", "reject").args(["exec", "hi"]).assert().success();
    assert_eq!(tree.only_record().args_text(), with_prefix(&["exec", "hi"]));
}

#[test]
fn unpinnable_subcommand_is_refused_unless_allowed() {
    let (tree, path) = standard();
    tree.command("codex", &path)
        .arg("cloud")
        .assert()
        .code(77)
        .stderr(predicate::str::contains("OPENCLAW_ALLOW_UNPINNABLE=cloud"));
    assert!(tree.records().is_empty());
    tree.command("codex", &path).env("OPENCLAW_ALLOW_UNPINNABLE", "cloud").arg("cloud").assert().success();
    assert_eq!(tree.only_record().args_text(), with_prefix(&["cloud"]));
}

#[test]
fn app_server_off_stdio_is_refused_unless_allowed_and_then_runs_unguarded() {
    let (tree, path) = standard();
    let listen = ["app-server", "--listen", "ws://127.0.0.1:1"];
    tree.command("codex", &path)
        .args(listen)
        .assert()
        .code(77)
        .stderr(predicate::str::contains("only on its stdio transport"))
        .stderr(predicate::str::contains("OPENCLAW_ALLOW_UNPINNABLE=app-server"));
    assert!(tree.records().is_empty());
    tree.command("codex", &path).env("OPENCLAW_ALLOW_UNPINNABLE", "app-server").args(listen).assert().success();
    assert_eq!(tree.only_record().args_text(), with_prefix(&listen));
}

#[test]
fn explain_prints_the_plan_and_runs_nothing() {
    let (tree, path) = standard();
    let output = tree
        .command("codex", &path)
        .env("OPENCLAW_SHIM_EXPLAIN", "1")
        .args(["exec", "-m", "gpt-4o", "hi"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["real_codex"], tree.root.path().join("real/codex").to_str().unwrap());
    assert_eq!(plan["model"], PIN);
    assert_eq!(plan["mode"], "force");
    assert_eq!(plan["outcome"], "run");
    assert_eq!(plan["subcommand"], "exec");
    assert_eq!(plan["argv"], serde_json::json!(["codex", "exec", "-m", "gpt-4o", "hi"]));
    let mut rewritten = vec!["codex".to_owned()];
    rewritten.extend(with_prefix(&["exec", "-m", PIN, "hi"]));
    assert_eq!(plan["rewritten"], serde_json::json!(rewritten));
    assert_eq!(
        plan["decisions"],
        serde_json::json!([{"action": "forced", "syntax": "-m", "attempted": "gpt-4o", "level": "exec"}])
    );
    assert!(tree.records().is_empty());
    assert_eq!(output.stdout.iter().filter(|b| **b == b'\n').count(), 1, "one line of JSON");
}

#[test]
fn explain_reports_errors_instead_of_failing() {
    let tree = Tree::new();
    tree.shim("shim");
    let path = tree.path_of(&["shim"]);
    let output = tree
        .command("codex", &path)
        .env("OPENCLAW_SHIM_EXPLAIN", "1")
        .env("OPENCLAW_MODEL_LOCK_MODE", "reject")
        .args(["-p", "work"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["real_codex"], serde_json::Value::Null);
    assert_eq!(plan["outcome"], "reject");
    assert_eq!(plan["exit_code"], 77);
    assert_eq!(plan["decisions"][0]["action"], "rejected");
}
