//! `nettool probe serve`: a peer with a known behaviour to probe against,
//! the server half of socket/bind/listen/accept. SO_REUSEADDR is set so a
//! restart never fails on a TIME_WAIT left by the previous run.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::sys::errno;

/// What the server does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Behavior {
    /// Accept, read and discard until the peer closes, then close (FIN).
    Accept,
    /// Echo every byte back until the peer closes, then close.
    Echo,
    /// Accept and reset at once (SO_LINGER 0 then close: RST, not FIN).
    Rst,
    /// Read until the peer's FIN, then answer how many bytes arrived, then
    /// close: the second half of a four-way close.
    HalfClose,
    /// Accept and do nothing: never read, never close.
    Silent,
    /// Listen with a tiny backlog and never accept: the accept queue fills
    /// and later SYNs go unanswered.
    NoAccept,
}

/// What is done with an accepted connection: every [`Behavior`] but
/// `NoAccept`, which never accepts one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Accept,
    Echo,
    Rst,
    HalfClose,
    Silent,
}

impl Behavior {
    /// How accepted connections are handled; `None` for `NoAccept`.
    pub fn served(self) -> Option<Served> {
        match self {
            Behavior::Accept => Some(Served::Accept),
            Behavior::Echo => Some(Served::Echo),
            Behavior::Rst => Some(Served::Rst),
            Behavior::HalfClose => Some(Served::HalfClose),
            Behavior::Silent => Some(Served::Silent),
            Behavior::NoAccept => None,
        }
    }
}

/// A bound listener for `serve`.
pub fn listen(addr: SocketAddr, behavior: Behavior) -> io::Result<Socket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    if addr.is_ipv6() {
        let _ = s.set_only_v6(false);
    }
    s.bind(&addr.into())?;
    // backlog 1: the kernel queues backlog + 1 completed connections.
    s.listen(if behavior == Behavior::NoAccept {
        1
    } else {
        4096
    })?;
    Ok(s)
}

/// Handle one accepted connection; returns a line saying what happened.
pub fn handle(
    conn: TcpStream,
    peer: SocketAddr,
    behavior: Served,
    keep: &mut Vec<TcpStream>,
) -> String {
    let t0 = Instant::now();
    let secs = |t: Instant| t.elapsed().as_secs_f64();
    match behavior {
        Served::Rst => {
            let s = Socket::from(conn);
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
            format!("{peer}: accepted, reset (RST) at once")
        }
        Served::Silent => {
            keep.push(conn);
            format!("{peer}: accepted, staying silent (never reading, never closing)")
        }
        Served::Accept | Served::Echo | Served::HalfClose => {
            let mut c = conn;
            let mut buf = [0u8; 16384];
            let mut total = 0usize;
            let end = loop {
                match c.read(&mut buf) {
                    Ok(0) => break "its FIN",
                    Ok(n) => {
                        total += n;
                        if behavior == Served::Echo && c.write_all(&buf[..n]).is_err() {
                            break "a write error";
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break "its RST",
                    Err(_) => break "a read error",
                }
            };
            let mut line = format!(
                "{peer}: accepted, read {total} bytes until {end} after {:.3} s",
                secs(t0)
            );
            if behavior == Served::Echo {
                line.push_str(", echoed them");
            }
            if behavior == Served::HalfClose && end == "its FIN" {
                let reply = format!("received {total} bytes\n");
                if c.write_all(reply.as_bytes()).is_ok() {
                    line.push_str(&format!(", then sent {} bytes after its FIN", reply.len()));
                }
            }
            let _ = c.shutdown(Shutdown::Write);
            line.push_str(", closed (FIN)");
            line
        }
    }
}

/// Accept failures: when out of descriptors (or memory) the kernel keeps
/// the connection queued, so the next accept fails at once. This paces the
/// retries (a growing sleep, never a spin) and the words about them (the
/// first failure at once, then at most one line a second with a count).
/// No clock and no I/O: the caller passes `now`, sleeps, and prints.
#[derive(Debug, Default)]
pub struct AcceptFailures {
    /// When the last line was said.
    last_said: Option<Instant>,
    /// Failures since then, not yet said.
    unsaid: u64,
    /// When the first and the last of those failed: a line reports that
    /// span, not the time since the last line (which can be far longer
    /// when failures stopped while no line was due).
    first_unsaid: Option<Instant>,
    last_unsaid: Option<Instant>,
    /// The last failure's text, for the line that sums up the unsaid ones.
    last_error: String,
    /// Failing since the last accept that worked.
    failing: bool,
    /// The next sleep after a failure that leaves the connection queued.
    backoff: Duration,
}

/// The first sleep after a failure, doubled on each one after it up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// The longest sleep: how late serve can be to notice freed descriptors.
pub const MAX_BACKOFF: Duration = Duration::from_millis(100);
/// At most one line per this.
const SAY_EVERY: Duration = Duration::from_secs(1);

/// Does this accept error leave the connection queued (so retrying at
/// once fails again)? ECONNABORTED, a connection gone before it was taken,
/// does not.
fn leaves_it_queued(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(errno::EMFILE) | Some(errno::ENFILE) | Some(errno::ENOBUFS) | Some(errno::ENOMEM)
    )
}

/// Can `serve` go on after this accept error? Yes when out of descriptors
/// or memory (for now), or when the connection was gone before it was
/// taken.
pub fn keeps_serving(e: &io::Error) -> bool {
    leaves_it_queued(e) || e.raw_os_error() == Some(errno::ECONNABORTED)
}

/// "accept failed N more time(s) in S s: ERROR", S the span from the
/// first to the last of them (left out for one).
fn more_failures(n: u64, first: Instant, last: Instant, error: &str) -> String {
    if n == 1 {
        return format!("accept failed 1 more time: {error}");
    }
    format!(
        "accept failed {n} more times in {:.1} s: {error}",
        last.saturating_duration_since(first).as_secs_f64()
    )
}

impl AcceptFailures {
    fn due(&self, now: Instant) -> bool {
        self.last_said
            .is_none_or(|t| now.saturating_duration_since(t) >= SAY_EVERY)
    }

    /// The failures not yet said, as a line's start, and forget them.
    fn take_unsaid(&mut self) -> Option<String> {
        let first = self.first_unsaid.take();
        let last = self.last_unsaid.take();
        let n = std::mem::take(&mut self.unsaid);
        match (first, last) {
            (Some(first), Some(last)) if n > 0 => {
                Some(more_failures(n, first, last, &self.last_error))
            }
            _ => None,
        }
    }

    /// An accept failed at `now`: the line to say (if one is due) and how
    /// long to sleep before the next accept.
    pub fn failed(&mut self, now: Instant, e: &io::Error) -> (Option<String>, Duration) {
        self.failing = true;
        self.last_error = e.to_string();
        let sleep = if leaves_it_queued(e) {
            let b = self.backoff.max(FIRST_BACKOFF);
            self.backoff = (b * 2).min(MAX_BACKOFF);
            b
        } else {
            Duration::ZERO
        };
        // This failure is one of those the next line counts.
        self.unsaid += 1;
        self.first_unsaid.get_or_insert(now);
        self.last_unsaid = Some(now);
        if !self.due(now) {
            return (None, sleep);
        }
        let line = match self.last_said {
            Some(_) => self.take_unsaid().map(|l| format!("{l}; still listening")),
            None => {
                self.take_unsaid();
                Some(format!(
                    "accept failed: {e}; still listening (while it fails: one line a second, with a count)"
                ))
            }
        };
        self.last_said = Some(now);
        (line, sleep)
    }

    /// An accept worked at `now`: after failures, the line that says so
    /// (with the failures not yet said), when a line is due. While the
    /// queue drains accepts and failures alternate; the line then waits
    /// for a later accept, so that it still comes at most once a second.
    pub fn accepted(&mut self, now: Instant) -> Option<String> {
        self.backoff = Duration::ZERO;
        if !self.failing || !self.due(now) {
            return None;
        }
        self.failing = false;
        let line = match self.take_unsaid() {
            Some(l) => format!("{l}; accepting again"),
            None => "accepting again".to_string(),
        };
        self.last_said = Some(now);
        Some(line)
    }

    /// Serve is stopping (its --count reached, or a signal): the failures
    /// not yet said, if any, so that none goes unsaid.
    pub fn finish(&mut self) -> Option<String> {
        self.take_unsaid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emfile() -> io::Error {
        io::Error::from_raw_os_error(errno::EMFILE)
    }

    /// 98 failures a second for 2.5 s: three lines whose counts add up,
    /// sleeps that grow to the cap and never reach zero.
    #[test]
    fn failures_are_said_once_a_second_with_a_count_and_backed_off() {
        let t0 = Instant::now();
        let mut f = AcceptFailures::default();
        let mut lines = Vec::new();
        let mut sleeps = Vec::new();
        for i in 0..245u64 {
            let (line, sleep) = f.failed(t0 + Duration::from_millis(i * 10), &emfile());
            lines.extend(line);
            sleeps.push(sleep);
        }
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].starts_with("accept failed: "), "{}", lines[0]);
        // 100 failures from 10 ms after the line before to the line's own.
        assert!(
            lines[1].starts_with("accept failed 100 more times in 1.0 s"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("accept failed 100 more times in 1.0 s"),
            "{}",
            lines[2]
        );
        assert_eq!(sleeps[0], FIRST_BACKOFF);
        assert!(sleeps.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*sleeps.last().unwrap(), MAX_BACKOFF);
        // Accepts while draining the queue, then a failure, then accepts:
        // one line, a second after the last.
        assert_eq!(f.accepted(t0 + Duration::from_millis(2450)), None);
        let (line, sleep) = f.failed(t0 + Duration::from_millis(2460), &emfile());
        assert_eq!((line, sleep), (None, FIRST_BACKOFF));
        assert_eq!(f.accepted(t0 + Duration::from_millis(2470)), None);
        // The 45 failed from 2.01 s to 2.46 s: that span, not the 1 s
        // since the last line.
        let back = f.accepted(t0 + Duration::from_millis(3000)).unwrap();
        assert!(
            back.starts_with("accept failed 45 more times in 0.5 s"),
            "{back}"
        );
        assert!(back.ends_with("accepting again"), "{back}");
        assert_eq!(f.accepted(t0 + Duration::from_millis(4100)), None);
        // A new run of failures starts from the first sleep again.
        let (_, sleep) = f.failed(t0 + Duration::from_secs(5), &emfile());
        assert_eq!(sleep, FIRST_BACKOFF);
    }

    /// A connection gone before it was taken is not retried later: no
    /// sleep, but the words are paced all the same.
    #[test]
    fn aborted_connections_are_not_slept_on() {
        let t0 = Instant::now();
        let mut f = AcceptFailures::default();
        let aborted = io::Error::from_raw_os_error(errno::ECONNABORTED);
        let (line, sleep) = f.failed(t0, &aborted);
        assert!(line.is_some());
        assert_eq!(sleep, Duration::ZERO);
        let (line, _) = f.failed(t0 + Duration::from_millis(1), &aborted);
        assert_eq!(line, None);
        assert_eq!(f.accepted(t0 + Duration::from_millis(2)), None);
        let back = f.accepted(t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(
            back,
            "accept failed 1 more time: Software caused connection abort (os error 103); accepting again"
        );
    }

    /// Failures that stop while no line is due are said with their own
    /// span when a later accept works, however much later; and said when
    /// serve stops before any accept works.
    #[test]
    fn unsaid_failures_report_their_own_span_and_are_flushed_at_the_end() {
        let t0 = Instant::now();
        let mut f = AcceptFailures::default();
        assert!(f.failed(t0, &emfile()).0.is_some());
        for ms in [100, 200, 300] {
            assert_eq!(f.failed(t0 + Duration::from_millis(ms), &emfile()).0, None);
        }
        let back = f.accepted(t0 + Duration::from_secs(600)).unwrap();
        assert!(
            back.starts_with("accept failed 3 more times in 0.2 s: "),
            "{back}"
        );
        assert_eq!(f.finish(), None, "nothing left to say");

        let mut f = AcceptFailures::default();
        assert!(f.failed(t0, &emfile()).0.is_some());
        assert_eq!(f.failed(t0 + Duration::from_millis(10), &emfile()).0, None);
        assert_eq!(f.failed(t0 + Duration::from_millis(510), &emfile()).0, None);
        let end = f.finish().unwrap();
        assert!(
            end.starts_with("accept failed 2 more times in 0.5 s: "),
            "{end}"
        );
        assert_eq!(f.finish(), None);
    }
}
