//! Prepares OpenClaw's dedicated Codex auth volume (being built; see the bootstrap issue).

fn main() {
    eprintln!("bootstrap-openclaw-codex-volume: not implemented yet");
    std::process::exit(2);
}
