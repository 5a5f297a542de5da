//! `make bench`: what the shim costs per codex call, against the floor and the common alternative.
//!
//! Every round runs each variant once, in turn (A B C ... C B A ...), so machine noise hits all of
//! them alike; the report gives each variant's median wall time, its overhead over a direct run, and
//! its peak RSS. Peak RSS is `ru_maxrss` as seen by a small static C parent that forks and execs the
//! variant (it spans the shim and what it execs; the direct run shows the floor). Measured apart
//! from the timed runs, because a child spawned by this (large) process with vfork inherits this
//! process's high-water mark in `ru_maxrss`. Variants:
//! - the target (a freestanding static C program that exits 0, installed as the "real codex") run
//!   directly;
//! - the floor: a freestanding static C program doing nothing but `execve` of the target; and the
//!   Rust floor (`EXECVE_FLOOR`, examples/execve_floor.rs built like the shim), which shows what
//!   Rust's and musl's start-up cost before the shim does any work;
//! - the shim with nothing to report, with one forced attempt to report (journald absent, and present
//!   when a private journald can be started), and a bash wrapper doing a naive `-m` injection;
//! - for scale, the real Codex CLI's `--version`, directly and through the shim (every 10th round);
//! - then the app-server guard: the round trip of one JSON-RPC line through an echoing codex,
//!   directly and through the guard (passed, and rewritten), interleaved request by request.
//!
//! The static binary's size and the shim's peak RSS are budgets: the run fails when one is exceeded.
//! Timing targets are reported as met or missed, never asserted: shared machines are noisy.
//! (callgrind cannot count the shim: valgrind does not instrument the static-pie musl binary.)
//!
//! Usage: startup SHIM [CODEX] [BASELINE_SHIM]. `BENCH_ROUNDS` (default 1000) sets the rounds.
//! As root with unshare and systemd-journald installed, the run re-executes itself next to a private
//! journald (shim-tests/fixtures/with-journald.sh); journald's socket is renamed away for the
//! "journald absent" variant and back after it, so both are measured in the same rounds.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_ROUNDS: usize = 1000;
const SMOKE_ROUNDS: usize = 20;
const RSS_RUNS: usize = 5;
/// The real Codex CLI takes ~8 ms per `--version`: it runs in one round out of this many.
const SLOW_EVERY: usize = 10;
const MODEL: &str = "gpt-5.3-codex";
const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
const JOURNALD_SOCKET_AWAY: &str = "/run/systemd/journal/socket.away";
/// Budgets from the benchmark issue.
const SIZE_BUDGET_BYTES: u64 = 600 * 1000;
const RSS_BUDGET_KB: u64 = 2 * 1000 * 1000 / 1024;
const FLOOR_FACTOR_TARGET: f64 = 2.0;
const BASH_FACTOR_TARGET: f64 = 8.0;
const REPORT_EXTRA_TARGET_US: f64 = 150.0;

/// Whether the variant's runs need journald's socket in place or renamed away.
#[derive(Clone, Copy, PartialEq)]
enum Journald {
    Any,
    Absent,
}

struct Variant {
    name: String,
    program: PathBuf,
    args: Vec<&'static str>,
    env: Vec<(&'static str, OsString)>,
    journald: Journald,
    every: usize,
    times: Vec<Duration>,
    peak_rss_kb: u64,
}

impl Variant {
    fn new(name: &str, program: &Path, args: &[&'static str]) -> Variant {
        Variant {
            name: name.to_owned(),
            program: program.to_owned(),
            args: args.to_vec(),
            env: vec![],
            journald: Journald::Any,
            every: 1,
            times: vec![],
            peak_rss_kb: 0,
        }
    }

    fn env(mut self, name: &'static str, value: impl Into<OsString>) -> Variant {
        self.env.push((name, value.into()));
        self
    }

    fn command(&self, through: Option<&Path>) -> Command {
        let mut command = match through {
            Some(parent) => {
                let mut c = Command::new(parent);
                c.arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command.env_clear().args(&self.args).envs(self.env.iter().map(|(k, v)| (k, v)));
        command.stdin(Stdio::null()).stderr(Stdio::null());
        command
    }

    fn run_once(&mut self) {
        let mut command = self.command(None);
        command.stdout(Stdio::null());
        let start = Instant::now();
        let status = command.status().unwrap_or_else(|e| panic!("{}: {e}", self.program.display()));
        let elapsed = start.elapsed();
        assert!(status.success(), "{} failed: {status}", self.name);
        self.times.push(elapsed);
    }

    /// The highest `ru_maxrss` over a few runs under `rss_probe`.
    fn measure_rss(&mut self, rss_probe: &Path) {
        for _ in 0..RSS_RUNS {
            let output = self.command(Some(rss_probe)).output().unwrap();
            assert!(output.status.success(), "{} failed under the RSS probe", self.name);
            let kb: u64 = String::from_utf8_lossy(&output.stdout).trim().parse().expect("ru_maxrss");
            self.peak_rss_kb = self.peak_rss_kb.max(kb);
        }
    }

    fn median(&self) -> Duration {
        let mut sorted = self.times.clone();
        sorted.sort_unstable();
        sorted[sorted.len() / 2]
    }

    fn median_us(&self) -> f64 {
        self.median().as_nanos() as f64 / 1000.0
    }
}

/// What the C programs below share: freestanding (no libc) x86_64 syscalls and an entry point that
/// hands `start` the initial stack. Without libc each is a few pages: the target and the floor cost
/// the kernel's minimum, and the RSS probe's own pages do not hide the shim's (a forked child starts
/// with its parent's high-water mark, a static glibc program's is ~550 KiB).
const FREESTANDING_C: &str = r#"
typedef long i64;
static i64 sys(i64 n, i64 a, i64 b, i64 c, i64 d) {
    i64 r;
    register i64 r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return r;
}
enum { WRITE = 1, OPEN = 2, DUP2 = 33, FORK = 57, EXECVE = 59, EXIT = 60, WAIT4 = 61 };
__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call start\n");
"#;
const FREESTANDING_FLAGS: &[&str] = &["-nostdlib", "-ffreestanding", "-fno-stack-protector", "-fno-builtin"];

/// The stand-in for the real codex: exits 0 at once.
const TARGET_C: &str = "void start(i64 *sp) { (void)sp; sys(EXIT, 0, 0, 0, 0); }\n";

/// The floor: an `execve`-only shim of the target (path substituted for TARGET).
const FLOOR_C: &str = r#"
void start(i64 *sp) {
    char **argv = (char **)(sp + 1);
    sys(EXECVE, (i64)TARGET, (i64)argv, (i64)(argv + sp[0] + 1), 0);
    sys(EXIT, 127, 0, 0, 0);
}
"#;

/// Forks, execs argv[1..] (stdout to /dev/null) and prints the child's `ru_maxrss` in KiB.
const RSS_PROBE_C: &str = r#"
struct rusage { i64 utime[2], stime[2], maxrss, rest[13]; };
void start(i64 *sp) {
    i64 argc = sp[0];
    char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
    if (argc < 2) sys(EXIT, 2, 0, 0, 0);
    i64 pid = sys(FORK, 0, 0, 0, 0);
    if (pid == 0) {
        sys(DUP2, sys(OPEN, (i64)"/dev/null", 1, 0, 0), 1, 0, 0);
        sys(EXECVE, (i64)argv[1], (i64)(argv + 1), (i64)envp, 0);
        sys(EXIT, 127, 0, 0, 0);
    }
    int status = -1;
    struct rusage usage;
    if (sys(WAIT4, pid, (i64)&status, 0, (i64)&usage) != pid || status != 0) sys(EXIT, 1, 0, 0, 0);
    char text[24];
    int i = 23;
    text[i] = '\n';
    i64 v = usage.maxrss;
    do { text[--i] = '0' + v % 10; v /= 10; } while (v);
    sys(WRITE, 1, (i64)(text + i), 24 - i, 0);
    sys(EXIT, 0, 0, 0, 0);
}
"#;

/// Builds one freestanding static program from `FREESTANDING_C` and `body`.
fn compile_c(body: &str, out: &Path) {
    let c_file = out.with_extension("c");
    std::fs::write(&c_file, format!("{FREESTANDING_C}{body}")).unwrap();
    let mut cc = Command::new("cc");
    cc.args(["-O2", "-static"]).args(FREESTANDING_FLAGS).arg("-o").arg(out).arg(&c_file);
    let built = cc.status().expect("cc");
    assert!(built.success(), "cc failed for {}", c_file.display());
}

fn install(from: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let to = dir.join("codex");
    std::fs::copy(from, &to).unwrap();
    to
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Re-executes this benchmark next to a private journald when that is possible and not done yet.
fn private_journald(root: &Path) -> Option<ExitCode> {
    if std::env::var_os("JOURNALD_PID").is_some() {
        return None;
    }
    let why_not = if !nix::unistd::geteuid().is_root() {
        Some("not root")
    } else if !Path::new("/lib/systemd/systemd-journald").exists() {
        Some("systemd-journald not installed")
    } else {
        None
    };
    if let Some(why) = why_not {
        eprintln!("startup: measuring without journald ({why})");
        return None;
    }
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("unshare")
        .args(["--mount", "--propagation", "private"])
        .arg(root.join("shim-tests/fixtures/with-journald.sh"))
        .arg(out.path())
        .arg(std::env::current_exe().unwrap())
        .args(std::env::args_os().skip(1))
        .status();
    match status {
        Ok(s) if s.success() => Some(ExitCode::SUCCESS),
        Ok(s) => Some(ExitCode::from(s.code().unwrap_or(1) as u8)),
        Err(e) => {
            eprintln!("startup: cannot start a private journald ({e}); measuring without it");
            None
        }
    }
}

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(code) = private_journald(root) {
        return code;
    }
    let given: Vec<PathBuf> = std::env::args_os().skip(1).filter(|a| a != "--bench").map(PathBuf::from).collect();
    let shim = given.first().cloned().unwrap_or_else(|| root.join("services/openclaw/bin/codex"));
    assert!(shim.is_file(), "{} missing: run `make shim`", shim.display());
    let real_codex = given.get(1).filter(|p| !p.as_os_str().is_empty()).cloned();
    let baseline = given.get(2).cloned();
    // `cargo test --all-targets` runs this without `--bench`: a few rounds, as a smoke test.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let default_rounds = if smoke { SMOKE_ROUNDS } else { DEFAULT_ROUNDS };
    let rounds = std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(default_rounds);
    let journald_present = Path::new(JOURNALD_SOCKET).exists();

    let work = tempfile::tempdir().unwrap();
    let dir = |name: &str| work.path().join(name);
    std::fs::create_dir_all(dir("real")).unwrap();
    let target = dir("real").join("codex");
    compile_c(TARGET_C, &target);
    let floor = dir("floor");
    compile_c(&FLOOR_C.replace("TARGET", &format!("{:?}", target.to_str().unwrap())), &floor);
    let bash_wrapper = dir("bash-wrapper");
    write_script(
        &bash_wrapper,
        &format!("#!/bin/bash\nexec {:?} -m \"$OPENCLAW_MODEL\" \"$@\"\n", target.to_str().unwrap()),
    );
    let shim_copy = install(&shim, &dir("shim"));
    let path = std::env::join_paths([dir("shim"), dir("real")]).unwrap();
    let shimmed = |name: &str, program: &Path, args: &[&'static str], path: &OsString| {
        Variant::new(name, program, args).env("PATH", path).env("OPENCLAW_MODEL", MODEL)
    };

    let mut variants = vec![
        Variant::new("direct run of the target", &target, &["exec", "hi"]),
        Variant::new("C execve-only floor", &floor, &["exec", "hi"]),
        shimmed("shim, nothing to report", &shim_copy, &["exec", "hi"], &path),
        Variant {
            journald: Journald::Absent,
            ..shimmed("shim, forced, journald absent", &shim_copy, &["exec", "-m", "o", "hi"], &path)
        },
    ];
    if let Some(rust_floor) = std::env::var_os("EXECVE_FLOOR").filter(|p| !p.is_empty()) {
        let copy = dir("rust-floor");
        std::fs::copy(&rust_floor, &copy).unwrap_or_else(|e| panic!("EXECVE_FLOOR {rust_floor:?}: {e}"));
        let variant = Variant::new("Rust execve-only floor", &copy, &["exec", "hi"]);
        variants.insert(2, variant.env("EXECVE_FLOOR_TARGET", &target));
    }
    if journald_present {
        variants.push(shimmed("shim, forced, journald present", &shim_copy, &["exec", "-m", "o", "hi"], &path));
    }
    variants.push(
        Variant::new("bash wrapper, naive injection", &bash_wrapper, &["exec", "hi"]).env("OPENCLAW_MODEL", MODEL),
    );
    if let Some(baseline) = &baseline {
        let baseline_copy = install(baseline, &dir("baseline"));
        let baseline_path = std::env::join_paths([dir("baseline"), dir("real")]).unwrap();
        variants.push(shimmed("baseline shim, nothing to report", &baseline_copy, &["exec", "hi"], &baseline_path));
    }
    if let Some(codex) = &real_codex {
        let codex_dir = codex.parent().unwrap();
        let codex_path = std::env::join_paths([dir("shim").as_path(), codex_dir]).unwrap();
        let home = dir("codex-home");
        std::fs::create_dir_all(&home).unwrap();
        let slow = |v: Variant| Variant { every: SLOW_EVERY, ..v.env("CODEX_HOME", &home) };
        let direct = Variant::new("real codex --version, direct", codex, &["--version"]).env("PATH", codex_dir);
        variants.push(slow(direct.env("OPENCLAW_MODEL", MODEL)));
        variants.push(slow(shimmed("real codex --version, via shim", &shim_copy, &["--version"], &codex_path)));
    }

    let rss_probe = dir("rss-probe");
    compile_c(RSS_PROBE_C, &rss_probe);
    for variant in &mut variants {
        with_journald(variant.journald, journald_present, || variant.measure_rss(&rss_probe));
    }
    for round in 0..rounds {
        // Every other round in reverse order: a variant never always runs right after the same one
        // (the second of two real codex runs in a row is the faster one).
        let mut due: Vec<&mut Variant> = variants.iter_mut().filter(|v| round % v.every == 0).collect();
        if round % 2 == 1 {
            due.reverse();
        }
        for variant in due {
            with_journald(variant.journald, journald_present, || variant.run_once());
        }
    }
    let guard = shim.with_file_name(GUARD_BIN);
    if guard.is_file() {
        std::fs::copy(&guard, dir("shim").join(GUARD_BIN)).unwrap();
        guard_latency(&shim_copy, &dir("echo-codex"), rounds);
    } else {
        println!("app-server guard: not measured ({} missing: run `make shim`)", guard.display());
    }
    report(&variants, &shim, rounds)
}

const GUARD_BIN: &str = "openclaw-app-server-guard";

/// One process speaking JSON lines: a request is one line written, its answer one line read.
struct LineServer {
    name: &'static str,
    line: &'static [u8],
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    times: Vec<Duration>,
}

impl LineServer {
    fn start(name: &'static str, mut command: Command, line: &'static [u8]) -> LineServer {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let (stdin, stdout) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
        LineServer { name, line, child, stdin, stdout, times: vec![] }
    }

    fn round_trip(&mut self) {
        let mut answer = Vec::new();
        let start = Instant::now();
        self.stdin.write_all(self.line).unwrap();
        self.stdout.read_until(b'\n', &mut answer).unwrap();
        self.times.push(start.elapsed());
        assert!(!answer.is_empty(), "{} closed its stdout", self.name);
    }

    fn median_us(&self) -> f64 {
        let mut sorted = self.times.clone();
        sorted.sort_unstable();
        sorted[sorted.len() / 2].as_nanos() as f64 / 1000.0
    }
}

/// `make bench`'s app-server part: the round trip of one JSON-RPC line through an echoing codex,
/// directly and through the shim's guard (a message that passes, and one the guard rewrites),
/// interleaved request by request; the difference is what the guard adds per request.
fn guard_latency(shim: &Path, echo_dir: &Path, rounds: usize) {
    std::fs::create_dir_all(echo_dir).unwrap();
    write_script(&echo_dir.join("codex"), "#!/bin/sh\nexec /bin/cat\n");
    let path = std::env::join_paths([shim.parent().unwrap(), echo_dir]).unwrap();
    let through_guard = || {
        let mut command = Command::new(shim);
        command.env_clear().env("PATH", &path).env("OPENCLAW_MODEL", MODEL).env("OPENCLAW_AUDIT_JOURNALD", "0");
        command.arg("app-server");
        command
    };
    let passing: &[u8] = b"{\"id\":7,\"method\":\"turn/start\",\"params\":{\"threadId\":\"t\",\"input\":[{\"type\":\"text\",\"text\":\"hi\"}]}}\n";
    let forced: &[u8] = b"{\"id\":7,\"method\":\"turn/start\",\"params\":{\"threadId\":\"t\",\"input\":[{\"type\":\"text\",\"text\":\"hi\"}],\"model\":\"o\"}}\n";
    let mut servers = [
        LineServer::start("echo codex, direct", Command::new("/bin/cat"), passing),
        LineServer::start("through the guard, passed", through_guard(), passing),
        LineServer::start("through the guard, model forced", through_guard(), forced),
    ];
    for _ in 0..rounds {
        for server in &mut servers {
            server.round_trip();
        }
    }
    let direct = servers[0].median_us();
    println!("app-server guard, {rounds} requests each, median round trip of one JSON-RPC line:\n");
    println!("| path | median µs | added by the guard µs |");
    println!("|---|---:|---:|");
    for server in servers {
        let m = server.median_us();
        println!("| {} | {m:.0} | {:+.0} |", server.name, m - direct);
        drop(server.stdin);
        let mut child = server.child;
        let _ = child.wait();
    }
    println!();
}

/// Runs `f` with journald's socket renamed away for a `Journald::Absent` variant.
fn with_journald(journald: Journald, present: bool, f: impl FnOnce()) {
    let away = journald == Journald::Absent && present;
    if away {
        std::fs::rename(JOURNALD_SOCKET, JOURNALD_SOCKET_AWAY).unwrap();
    }
    f();
    if away {
        std::fs::rename(JOURNALD_SOCKET_AWAY, JOURNALD_SOCKET).unwrap();
    }
}

fn find<'a>(variants: &'a [Variant], name: &str) -> Option<&'a Variant> {
    variants.iter().find(|v| v.name == name)
}

fn report(variants: &[Variant], shim: &Path, rounds: usize) -> ExitCode {
    let direct = variants[0].median_us();
    let size = shim.metadata().unwrap().len();
    println!("{rounds} rounds; shim {} ({size} bytes)\n", shim.display());
    println!("| variant | runs | median µs | over direct µs | × direct | peak RSS KiB |");
    println!("|---|---:|---:|---:|---:|---:|");
    for v in variants {
        let m = v.median_us();
        let over = if v.name.starts_with("real codex") { String::from("—") } else { format!("{:+.0}", m - direct) };
        println!("| {} | {} | {m:.0} | {over} | {:.2} | {} |", v.name, v.times.len(), m / direct, v.peak_rss_kb);
    }
    if let (Some(a), Some(b)) =
        (find(variants, "real codex --version, direct"), find(variants, "real codex --version, via shim"))
    {
        println!("\nreal codex --version through the shim: {:+.0} µs", b.median_us() - a.median_us());
    }

    let overhead = |name: &str| find(variants, name).map(|v| v.median_us() - direct);
    let shim_over = overhead("shim, nothing to report").unwrap();
    let floor_over = overhead("C execve-only floor").unwrap();
    let bash_over = overhead("bash wrapper, naive injection").unwrap();
    if let Some(rust_floor_over) = overhead("Rust execve-only floor") {
        println!(
            "\nRust and musl start-up alone (the Rust floor): {rust_floor_over:.0} µs, {:.2}× the C floor's; the shim's own work: {:+.0} µs",
            rust_floor_over / floor_over,
            shim_over - rust_floor_over
        );
    }
    let shim_rss = ["shim, nothing to report", "shim, forced, journald absent", "shim, forced, journald present"]
        .iter()
        .filter_map(|n| find(variants, n))
        .map(|v| v.peak_rss_kb)
        .max()
        .unwrap();
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("\ntargets (medians, this run):");
    println!(
        "  shim overhead {shim_over:.0} µs ≤ {FLOOR_FACTOR_TARGET}× the floor's {floor_over:.0} µs ({:.2}×): {}",
        shim_over / floor_over,
        verdict(shim_over <= FLOOR_FACTOR_TARGET * floor_over)
    );
    println!(
        "  bash wrapper overhead {bash_over:.0} µs ≥ {BASH_FACTOR_TARGET}× the shim's ({:.1}×): {}",
        bash_over / shim_over,
        verdict(bash_over >= BASH_FACTOR_TARGET * shim_over)
    );
    match overhead("shim, forced, journald present") {
        Some(forced) => {
            let extra = forced - shim_over;
            println!(
                "  forced attempt reported to journald: {extra:+.0} µs ≤ {REPORT_EXTRA_TARGET_US} µs over nothing to report: {}",
                verdict(extra <= REPORT_EXTRA_TARGET_US)
            );
        }
        None => println!("  forced attempt reported to journald: not measured (no journald)"),
    }
    let size_ok = size <= SIZE_BUDGET_BYTES;
    let rss_ok = shim_rss <= RSS_BUDGET_KB;
    println!("  budget: static binary {size} bytes ≤ {SIZE_BUDGET_BYTES}: {}", verdict(size_ok));
    println!("  budget: shim peak RSS {shim_rss} KiB ≤ {RSS_BUDGET_KB} KiB: {}", verdict(rss_ok));
    if size_ok && rss_ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("startup: a budget is exceeded (size or peak RSS)");
        ExitCode::FAILURE
    }
}
