//! The Responses API mock of the test suite as a standalone process, for tests written in other
//! languages (the Python adapter's). Prints its base URL on stdout's first line, then appends one
//! JSON line per request to RECORD_FILE (`path`, `model`, `subagent`). Runs until killed or until
//! stdin closes. Usage: mock_api RECORD_FILE [REPLY_TEXT]

#[path = "../shim-tests/support/mock_api.rs"]
mod mock_api;

use std::io::{BufRead, Write};

fn main() {
    let mut args = std::env::args().skip(1);
    let record = args.next().expect("usage: mock_api RECORD_FILE [REPLY_TEXT]");
    let text = args.next().unwrap_or_else(|| "Hello from the stand-in model.".to_owned());
    let mock = mock_api::MockApi::start(vec![]);
    mock.set_default_reply(&text);
    println!("{}", mock.base_url);
    std::io::stdout().flush().unwrap();
    // Lives as long as the caller keeps stdin open; requests are written out as they come, and
    // once more after stdin closes so none is lost.
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let closed_by_stdin = closed.clone();
    std::thread::spawn(move || {
        for _ in std::io::stdin().lock().lines() {}
        closed_by_stdin.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut written = 0;
    loop {
        let done = closed.load(std::sync::atomic::Ordering::SeqCst);
        let requests = mock.requests();
        if requests.len() > written {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&record).unwrap();
            for r in &requests[written..] {
                let line = serde_json::json!({"path": r.path, "model": r.model, "subagent": r.subagent});
                writeln!(file, "{line}").unwrap();
            }
            written = requests.len();
        }
        if done {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
