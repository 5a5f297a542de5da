//! Differential run against the real Codex CLI: generated argvs (`argv_gen`, the safe commands)
//! each run without the shim and through it, against the Responses API mock of `bypass_env`
//! (a profile and a second provider that only a working redirect reaches). Checks:
//! - a clap error without the shim (exit 2) is a clap error or a refusal through it;
//! - a success without the shim succeeds through it (force), or is refused as an attempt (reject);
//! - force: every request carries the pin and none reaches the second mock;
//! - reject: exit 77 (or 64), or every request carries the pin.
//!
//! `DIFFERENTIAL_ARGVS` sets how many (300 by default; `make fuzz-real` runs thousands),
//! `DIFFERENTIAL_SEED` where the sequence starts. Any failing argv belongs in the conformance
//! corpus as a named case.

mod support;

#[allow(dead_code)] // the scripts other suites use
use std::ffi::OsString;
use std::time::Duration;

use support::bypass_env::{Script, World};
use support::mock_api::Request;
use support::PIN;

/// What one run did.
struct Ran {
    code: Option<i32>,
    requests: Vec<Request>,
    redirected: Vec<Request>,
    stderr: String,
}

fn run(world: &World, with_shim: bool, mode: &str, args: &[OsString]) -> Ran {
    let (before, before_other) = (world.setup.mock.requests().len(), world.other.requests().len());
    let path: &[&str] = if with_shim { &["shim", "real"] } else { &["real"] };
    let mut command = world.setup.tree.command("codex", world.setup.tree.path_of(path));
    let args: Vec<OsString> =
        args.iter().map(|a| a.to_str().map_or_else(|| a.clone(), |s| world.expand(s, None).into())).collect();
    command
        .env("CODEX_HOME", &world.setup.home)
        .env("HOME", world.setup.tree.root.path())
        .env("TMPDIR", world.setup.tree.dir("tmp"))
        .env("OPENCLAW_MODEL_LOCK_MODE", mode)
        .args(&args)
        .write_stdin("")
        // A run answers in a second or two. Without the shim, a redirect to the real API retries
        // for long: cut it short (it counts as "other"); through the shim a hang is a failure.
        .timeout(Duration::from_secs(if with_shim { 20 } else { 6 }));
    let output = command.output();
    let (code, stderr) = match &output {
        Ok(o) => (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned()),
        Err(e) => (None, e.to_string()),
    };
    Ran {
        code,
        requests: world.setup.mock.requests().split_off(before),
        redirected: world.other.requests().split_off(before_other),
        stderr,
    }
}

/// What the pair of runs shows; `Err` is a disagreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    /// clap rejected it without the shim; refused or rejected through it.
    ClapError,
    /// It succeeded without the shim and through it.
    Success,
    /// Reject mode refused an attempt that succeeded without the shim.
    Rejected,
    /// Any other exit without the shim (no prompt, no TTY, ...); the pin still held.
    Other,
}

fn compare(mode: &str, base: &Ran, shim: &Ran) -> Result<Seen, String> {
    let pinned = |ran: &Ran| ran.redirected.is_empty() && ran.requests.iter().all(|r| r.model.as_deref() == Some(PIN));
    if shim.code.is_none() {
        return Err("the run through the shim did not end".into());
    }
    if mode == "force" && !pinned(shim) {
        return Err("force: a request left without the pin".into());
    }
    if mode == "reject" && shim.code != Some(77) && shim.code != Some(64) && !pinned(shim) {
        return Err("reject: neither refused nor pinned".into());
    }
    match base.code {
        Some(2) if base.requests.is_empty() && base.redirected.is_empty() => match shim.code {
            Some(2 | 64 | 77) if shim.requests.is_empty() && shim.redirected.is_empty() => Ok(Seen::ClapError),
            _ => Err("codex rejects it (exit 2), through the shim it ran".into()),
        },
        Some(0) => match shim.code {
            Some(0) => Ok(Seen::Success),
            Some(77) if mode == "reject" => Ok(Seen::Rejected),
            _ => Err("it succeeds without the shim, not through it".into()),
        },
        _ => Ok(Seen::Other),
    }
}

fn count_from_env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default)
}

/// The argv numbered `index`: a small deterministic generator feeds `support::argv_gen::build`.
fn argv_numbered(index: u64) -> Vec<OsString> {
    let mut state = index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let numbers: Vec<u32> = (0..32)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u32
        })
        .collect();
    support::argv_gen::build(&numbers, true)
}

#[test]
fn the_shim_agrees_with_the_real_cli_on_generated_argvs() {
    let total = count_from_env("DIFFERENTIAL_ARGVS", 300);
    let seed = count_from_env("DIFFERENTIAL_SEED", 0);
    let workers = count_from_env("DIFFERENTIAL_JOBS", 2);
    let results: Vec<(u64, Result<Seen, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || {
                    // One world per worker: its CODEX_HOME holds only what the safe commands leave.
                    let world = World::new(Script::Plain);
                    let mut out = Vec::new();
                    for index in (seed + worker..seed + total).step_by(workers as usize) {
                        let args = argv_numbered(index);
                        let mode = if index % 2 == 0 { "force" } else { "reject" };
                        let started = std::time::Instant::now();
                        let base = run(&world, false, mode, &args);
                        let shim = run(&world, true, mode, &args);
                        if std::env::var_os("DIFFERENTIAL_VERBOSE").is_some() {
                            let tail: Vec<&str> = base.stderr.lines().rev().take(2).collect();
                            let took = started.elapsed();
                            println!("#{index} {took:?} {args:?}: {:?} {:?} {tail:?}", base.code, shim.code);
                        }
                        let seen = compare(mode, &base, &shim).map_err(|why| {
                            format!(
                                "#{index} [{mode}] codex {args:?}: {why}; without the shim exit {:?} requests {:?}/{:?}; \
                                 through it exit {:?} requests {:?}/{:?}; stderr ends {:?}",
                                base.code,
                                base.requests.iter().map(|r| &r.model).collect::<Vec<_>>(),
                                base.redirected.len(),
                                shim.code,
                                shim.requests.iter().map(|r| &r.model).collect::<Vec<_>>(),
                                shim.redirected.len(),
                                shim.stderr.lines().rev().take(3).collect::<Vec<_>>()
                            )
                        });
                        out.push((index, seen));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let count = |seen: Seen| results.iter().filter(|(_, r)| r.as_ref() == Ok(&seen)).count();
    let failures: Vec<&String> = results.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    println!(
        "differential: {} argvs (seed {seed}): {} clap errors refused or rejected alike, {} successes alike, \
         {} attempts rejected, {} other exits pinned, {} disagreements",
        results.len(),
        count(Seen::ClapError),
        count(Seen::Success),
        count(Seen::Rejected),
        count(Seen::Other),
        failures.len()
    );
    assert_eq!(results.len() as u64, total);
    // Control: the sample exercises both sides of the checks, or it proves nothing.
    assert!(count(Seen::ClapError) * 10 >= results.len(), "too few clap errors in the sample");
    assert!(count(Seen::Success) * 10 >= results.len(), "too few successes in the sample");
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.iter().map(|f| f.as_str()).collect::<Vec<_>>().join("\n")
    );
}

/// Disagreements the differential run found, kept as named cases (both modes, with and without the
/// shim, the same checks).
#[test]
fn regressions_found_by_the_differential_run() {
    use std::os::unix::ffi::OsStringExt;
    // #2424 of seed 0: clap rejects a non-UTF-8 `--local-provider` (exit 2); the shim replaced it
    // with `--config model="PIN"`, an argv clap accepts.
    let mut args: Vec<OsString> =
        ["--local-provider", "x", "exec", "--skip-git-repo-check", "--ephemeral", "hi"].map(OsString::from).to_vec();
    args[1] = OsString::from_vec(b"caf\xe9".to_vec());
    let world = World::new(Script::Plain);
    for mode in ["force", "reject"] {
        let (base, shim) = (run(&world, false, mode, &args), run(&world, true, mode, &args));
        assert_eq!(base.code, Some(2), "control: codex rejects it: {}", base.stderr);
        assert_eq!(compare(mode, &base, &shim), Ok(Seen::ClapError), "[{mode}] {}", shim.stderr);
        assert_eq!(shim.code, Some(64), "[{mode}] {}", shim.stderr);
    }
}
