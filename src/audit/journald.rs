//! journald's native protocol, sent from the caller's thread without ever blocking past a deadline.
//!
//! One datagram per record on `/run/systemd/journal/socket`: `NAME=value\n` per field, or
//! `NAME\n<u64 LE length><value>\n` for a value holding a newline (systemd's `sd_journal_sendv`
//! wire format, documented in systemd's "Native JournaldSocket Protocol"). The socket is non-blocking and
//! connected, so a journald whose queue is full makes `send` fail with `EAGAIN` and `poll` wait for
//! room — at most until the caller's deadline. (tracing-journald's socket is blocking and private:
//! it needed a helper thread per report, which cost ~200 µs per reported call; see `make bench`.)

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::time::Instant;

use nix::poll::{PollFd, PollFlags, PollTimeout};

pub const SOCKET_PATH: &str = "/run/systemd/journal/socket";

/// One record's datagram. Field names must be journald names (`A-Z`, `0-9`, `_`, not leading `_`).
pub fn encode<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(512);
    for (name, value) in fields {
        debug_assert!(is_field_name(name), "{name} is not a journald field name");
        datagram.extend_from_slice(name.as_bytes());
        if value.contains('\n') {
            datagram.push(b'\n');
            datagram.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            datagram.push(b'=');
        }
        datagram.extend_from_slice(value.as_bytes());
        datagram.push(b'\n');
    }
    datagram
}

pub fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('_')
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// A connection to journald; `None` from `connect` when no journald listens (absent or stale socket).
pub struct JournaldSocket {
    socket: UnixDatagram,
}

impl JournaldSocket {
    pub fn connect() -> Option<JournaldSocket> {
        Self::connect_to(SOCKET_PATH)
    }

    pub fn connect_to(path: &str) -> Option<JournaldSocket> {
        let socket = UnixDatagram::unbound().ok()?;
        socket.set_nonblocking(true).ok()?;
        socket.connect(path).ok()?;
        Some(JournaldSocket { socket })
    }

    /// Sends one datagram, waiting for room in journald's queue until `deadline` at most.
    pub fn send(&self, datagram: &[u8], deadline: Instant) -> io::Result<()> {
        loop {
            match self.socket.send(datagram) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait_for_room(deadline)?,
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_for_room(&self, deadline: Instant) -> io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        // Whole milliseconds, rounded up, so a wait never ends early and spins.
        let millis = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
        if millis == 0 {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLOUT)];
        match nix::poll::poll(&mut fds, PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)) {
            Ok(0) => Err(io::ErrorKind::TimedOut.into()),
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn plain_values_are_name_equals_value_lines() {
        assert_eq!(encode([("MESSAGE", "hi"), ("PRIORITY", "4")]), b"MESSAGE=hi\nPRIORITY=4\n");
    }

    #[test]
    fn values_with_newlines_are_length_prefixed() {
        let mut expected = b"MESSAGE\n".to_vec();
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"a\nb\n");
        assert_eq!(encode([("MESSAGE", "a\nb")]), expected);
    }

    #[test]
    fn field_names() {
        assert!(is_field_name("OPENCLAW_ACTION"));
        assert!(!is_field_name("_PID"));
        assert!(!is_field_name("lower"));
        assert!(!is_field_name(""));
    }

    #[test]
    fn nobody_listening_is_no_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        assert!(JournaldSocket::connect_to(path.to_str().unwrap()).is_none(), "absent");
        drop(UnixDatagram::bind(&path).unwrap());
        assert!(JournaldSocket::connect_to(path.to_str().unwrap()).is_none(), "stale");
    }

    #[test]
    fn a_full_queue_waits_until_the_deadline_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let journal = JournaldSocket::connect_to(path.to_str().unwrap()).unwrap();
        journal.send(b"MESSAGE=first\n", Instant::now()).unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"MESSAGE=first\n");
        // Nobody reads: fill the queue until a send would block.
        while journal.send(b"MESSAGE=filler\n", Instant::now()).is_ok() {}
        let deadline = Instant::now() + Duration::from_millis(30);
        let error = journal.send(b"MESSAGE=late\n", deadline).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(Instant::now() >= deadline, "gave up before the deadline");
    }
}
