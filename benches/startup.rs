//! `make bench`: what the shim costs per codex call.
//!
//! Runs a do-nothing "real codex" directly and through the static shim, alternating so that machine
//! noise hits all variants alike, and reports the median wall time of each and the difference.
//! (callgrind cannot count the shim: valgrind neither follows nor survives its execve, and does not
//! instrument the static-pie musl binary.) Usage: startup [SHIM] (default: the staged static shim).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROUNDS: usize = 2000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn time_one(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let status = cmd.status().expect("spawn");
    let elapsed = start.elapsed();
    assert!(status.success(), "{cmd:?} failed: {status}");
    elapsed
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let given: Vec<PathBuf> = std::env::args_os().skip(1).filter(|a| a != "--bench").map(PathBuf::from).collect();
    let shim = given.first().cloned().unwrap_or_else(|| root.join("services/openclaw/bin/codex"));
    // An optional second shim (e.g. a build of an older commit) is measured in the same rounds.
    let baseline = given.get(1).cloned();
    assert!(shim.is_file(), "{} missing: run `make shim`", shim.display());

    let work = tempfile::tempdir().unwrap();
    let (shim_dir, real_dir) = (work.path().join("shim"), work.path().join("real"));
    std::fs::create_dir_all(&shim_dir).unwrap();
    std::fs::create_dir_all(&real_dir).unwrap();
    std::fs::copy(&shim, shim_dir.join("codex")).unwrap();
    let baseline_dir = work.path().join("baseline");
    if let Some(baseline) = &baseline {
        std::fs::create_dir_all(&baseline_dir).unwrap();
        std::fs::copy(baseline, baseline_dir.join("codex")).unwrap();
    }
    let noop_c = work.path().join("noop.c");
    std::fs::write(&noop_c, "int main(void) { return 0; }\n").unwrap();
    let noop = real_dir.join("codex");
    let built = Command::new("cc").args(["-O2", "-static", "-o"]).arg(&noop).arg(&noop_c).status().unwrap();
    assert!(built.success(), "cc failed");
    let path = std::env::join_paths([&shim_dir, &real_dir]).unwrap();

    let direct = || {
        let mut c = Command::new(&noop);
        c.env_clear().args(["exec", "hi"]).stdout(Stdio::null()).stderr(Stdio::null());
        c
    };
    let shimmed = |args: &[&str], extra: &[(&str, &str)]| {
        let mut c = Command::new(shim_dir.join("codex"));
        c.env_clear().env("PATH", &path).env("OPENCLAW_MODEL", "gpt-5.3-codex").args(args);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        for (k, v) in extra {
            c.env(k, v);
        }
        c
    };
    type MakeCommand<'a> = Box<dyn Fn() -> Command + 'a>;
    let mut variants: Vec<(&str, MakeCommand)> = vec![
        ("direct exec of the real codex", Box::new(direct)),
        ("shim, nothing to report", Box::new(|| shimmed(&["exec", "hi"], &[]))),
        ("shim, one forced attempt", Box::new(|| shimmed(&["exec", "-m", "other", "hi"], &[]))),
    ];
    if baseline.is_some() {
        let baseline_path = std::env::join_paths([&baseline_dir, &real_dir]).unwrap();
        variants.push((
            "baseline shim, nothing to report",
            Box::new(move || {
                let mut c = Command::new(baseline_dir.join("codex"));
                c.env_clear().env("PATH", &baseline_path).env("OPENCLAW_MODEL", "gpt-5.3-codex").args(["exec", "hi"]);
                c.stdout(Stdio::null()).stderr(Stdio::null());
                c
            }),
        ));
    }
    let mut samples: Vec<Vec<Duration>> = variants.iter().map(|_| Vec::with_capacity(ROUNDS)).collect();
    for _ in 0..ROUNDS {
        for (i, (_, make)) in variants.iter().enumerate() {
            samples[i].push(time_one(&mut make()));
        }
    }
    let medians: Vec<Duration> = samples.into_iter().map(median).collect();
    println!(
        "{ROUNDS} rounds, median wall time per call (shim: {}, {} bytes)",
        shim.display(),
        shim.metadata().unwrap().len()
    );
    for ((name, _), m) in variants.iter().zip(&medians) {
        let extra = m.as_micros() as i128 - medians[0].as_micros() as i128;
        println!("  {name:<34} {:>6} µs  ({extra:+} µs)", m.as_micros());
    }
}
