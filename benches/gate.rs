//! `make bench` (second part): what the model gate costs per request, on loopback.
//!
//! - Added latency to first byte: one keep-alive connection sends `POST /v1/responses` (a small
//!   body naming another model, so the gate rewrites it) and reads the first byte of the answer;
//!   directly to the upstream and through the gate, alternating request by request; medians.
//! - Throughput of a streamed 10 MB answer, directly and through the gate.
//! - The gate's memory with 50 streams open at once (the upstream holds every answer open until all
//!   50 have started): `VmHWM` of the gate process.
//!
//! The upstream is a small thread-per-connection HTTP/1.1 responder of this file's own (what is
//! measured is the gate). Targets are reported as met or missed; the RSS budget fails the run.
//! Usage: gate GATE_BINARY. `BENCH_ROUNDS` (default 2000) sets the latency rounds; without
//! `--bench` (cargo test --all-targets) it runs a 50-round smoke test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const LATENCY_TARGET_US: f64 = 1000.0;
const RSS_BUDGET_KB: u64 = 32 * 1024;
const STREAMS: usize = 50;
const BIG: usize = 10 * 1024 * 1024;

/// The upstream: answers a small SSE event, or `BIG` bytes of SSE when the body says "big", or
/// holds the answer until `hold` releases it when the body says "hold".
fn upstream(hold: Arc<Barrier>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let hold = hold.clone();
            std::thread::spawn(move || serve(stream, &hold));
        }
    });
    url
}

fn serve(stream: TcpStream, hold: &Barrier) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let Some(body) = read_request(&mut reader) else { return };
        let text = String::from_utf8_lossy(&body);
        if text.contains("\"hold\"") {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = writer.write_all(format!("{head}e\r\ndata: started\n\n\r\n").as_bytes());
            hold.wait();
            let _ = writer.write_all(b"0\r\n\r\n");
            continue;
        }
        let payload = if text.contains("\"big\"") {
            big_payload()
        } else {
            b"data: {\"type\":\"response.completed\"}\n\n".to_vec()
        };
        let head =
            format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n", payload.len());
        if writer.write_all(head.as_bytes()).and_then(|_| writer.write_all(&payload)).is_err() {
            return;
        }
    }
}

fn big_payload() -> Vec<u8> {
    let line = format!("data: {}\n\n", "x".repeat(1000));
    line.as_bytes().iter().copied().cycle().take(BIG).collect()
}

/// One request's body, or `None` at the end of the connection.
fn read_request(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut length = 0;
    let mut first = true;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim().is_empty() && !first {
            break;
        }
        first = false;
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(base: &str) -> Client {
        let address = base.trim_start_matches("http://").trim_end_matches("/v1");
        let stream = TcpStream::connect(address).unwrap();
        stream.set_nodelay(true).unwrap();
        Client { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    fn send(&mut self, kind: &str) {
        let body = format!(r#"{{"model":"gpt-other","stream":true,"input":"{kind}"}}"#);
        let head = format!(
            "POST /v1/responses HTTP/1.1\r\nhost: b\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(format!("{head}{body}").as_bytes()).unwrap();
    }

    /// Time to the first byte of the answer, then the rest read (content-length or chunked).
    fn first_byte_then_rest(&mut self) -> (Duration, usize) {
        let started = Instant::now();
        let first = self.reader.fill_buf().unwrap();
        assert!(!first.is_empty(), "the connection closed");
        let ttfb = started.elapsed();
        let mut length = None;
        let mut chunked = false;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().ok();
            }
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        }
        let mut total = 0;
        if let Some(length) = length {
            let mut left: usize = length;
            let mut buffer = vec![0; 64 * 1024];
            while left > 0 {
                let n = self.reader.read(&mut buffer[..left.min(64 * 1024)]).unwrap();
                assert!(n > 0);
                left -= n;
            }
            total = length;
        } else if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).unwrap();
                let size = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                total += size;
                if size == 0 {
                    break;
                }
            }
        }
        (ttfb, total)
    }
}

fn start_gate(gate: &PathBuf, upstream: &str) -> (Child, String) {
    let mut child = Command::new(gate)
        .args(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
        .env("OPENCLAW_MODEL", "gpt-5.3-codex")
        .env("OPENCLAW_AUDIT_JOURNALD", "0")
        .env("OPENCLAW_GATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gate starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = format!("{}/v1", line.trim().rsplit(' ').next().unwrap());
    (child, url)
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e6
}

fn vm_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let full = std::env::args().any(|a| a == "--bench");
    let gate =
        args.first().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_openclaw-model-gate")));
    let rounds =
        if full { std::env::var("BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(2000) } else { 50 };
    let hold = Arc::new(Barrier::new(STREAMS + 1));
    let upstream_url = upstream(hold.clone());
    let (mut child, gate_url) = start_gate(&gate, &upstream_url);

    // Latency to first byte, alternating.
    let (mut direct, mut through) = (Client::connect(&upstream_url), Client::connect(&gate_url));
    let (mut direct_t, mut through_t) = (Vec::new(), Vec::new());
    for round in 0..rounds + 20 {
        for (client, samples) in [(&mut direct, &mut direct_t), (&mut through, &mut through_t)] {
            client.send("small");
            let (ttfb, _) = client.first_byte_then_rest();
            if round >= 20 {
                samples.push(ttfb);
            }
        }
    }
    let (direct_us, through_us) = (median(direct_t), median(through_t));
    let added = through_us - direct_us;

    // Throughput of a 10 MB streamed answer.
    let mut throughput = Vec::new();
    for client in [&mut direct, &mut through] {
        let started = Instant::now();
        let runs = if full { 10 } else { 2 };
        for _ in 0..runs {
            client.send("big");
            let (_, n) = client.first_byte_then_rest();
            assert_eq!(n, BIG);
        }
        throughput.push((BIG * runs) as f64 / started.elapsed().as_secs_f64() / 1e6);
    }

    // Memory with 50 streams open at once.
    let mut held: Vec<Client> = (0..STREAMS).map(|_| Client::connect(&gate_url)).collect();
    for client in &mut held {
        client.send("hold");
    }
    for client in &mut held {
        client.reader.fill_buf().unwrap();
    }
    let rss_open = vm_kb(child.id(), "VmRSS:");
    hold.wait();
    let hwm = vm_kb(child.id(), "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();

    println!("model gate on loopback ({} latency rounds{})", rounds, if full { "" } else { ", smoke test" });
    println!("  time to first byte, median: direct {direct_us:.0} µs, through the gate {through_us:.0} µs: +{added:.0} µs (target ≤ {LATENCY_TARGET_US:.0} µs: {})", if added <= LATENCY_TARGET_US { "met" } else { "MISSED" });
    println!("  10 MB streamed answer: direct {:.0} MB/s, through the gate {:.0} MB/s", throughput[0], throughput[1]);
    println!("  gate memory with {STREAMS} streams open: RSS {rss_open} KiB, peak (VmHWM, whole run) {hwm} KiB (budget {RSS_BUDGET_KB} KiB)");
    if hwm > RSS_BUDGET_KB {
        println!("FAILED: the gate's peak RSS exceeds its budget");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
