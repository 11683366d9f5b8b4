//! `nettool probe serve`: a peer with a known behaviour to probe against,
//! the server half of socket/bind/listen/accept. `SO_REUSEADDR` is set so a
//! restart never fails on a `TIME_WAIT` left by the previous run.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::sys::errno;
use crate::sys::poll::{POLLERR, POLLHUP, POLLIN, POLLRDHUP};

/// What the server does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Behavior {
    /// Accept, read and discard until the peer closes, then close (FIN).
    Accept,
    /// Echo every byte back until the peer closes, then close.
    Echo,
    /// Accept and reset at once (SO_LINGER 0 then close: RST, not FIN).
    #[allow(
        clippy::doc_markdown,
        reason = "clap help text: backticks would show in --help, man pages, completions"
    )]
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
///
/// # Errors
/// The socket's, e.g. the address is in use or not ours.
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

/// How a connection's reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The peer's FIN.
    Fin,
    /// The peer's RST.
    Rst,
    ReadError,
    /// Echoing back failed.
    WriteError,
}

impl std::fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReadEnd::Fin => "its FIN",
            ReadEnd::Rst => "its RST",
            ReadEnd::ReadError => "a read error",
            ReadEnd::WriteError => "a write error",
        })
    }
}

/// What was done with one connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Handling {
    /// Reset (RST) at once.
    Reset,
    /// Kept open, never read.
    Silent,
    /// Read until the peer ended it, then closed with FIN.
    Read {
        bytes: usize,
        end: ReadEnd,
        /// From the accept to the end of reading.
        after_s: f64,
        echoed: bool,
        /// Bytes sent after the peer's FIN (half-close).
        replied: Option<usize>,
    },
}

/// One accepted connection and what was done with it; shown as the line
/// serve prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Handled {
    pub peer: SocketAddr,
    pub handling: Handling,
}

impl std::fmt::Display for Handled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let peer = self.peer;
        match self.handling {
            Handling::Reset => write!(f, "{peer}: accepted, reset (RST) at once"),
            Handling::Silent => write!(
                f,
                "{peer}: accepted, staying silent (never reading, never closing)"
            ),
            Handling::Read {
                bytes,
                end,
                after_s,
                echoed,
                replied,
            } => {
                write!(
                    f,
                    "{peer}: accepted, read {bytes} bytes until {end} after {after_s:.3} s"
                )?;
                if echoed {
                    f.write_str(", echoed them")?;
                }
                if let Some(n) = replied {
                    write!(f, ", then sent {n} bytes after its FIN")?;
                }
                f.write_str(", closed (FIN)")
            }
        }
    }
}

/// Handle one accepted connection; a silent one is pushed onto `keep`.
pub fn handle(
    conn: TcpStream,
    peer: SocketAddr,
    behavior: Served,
    keep: &mut Vec<TcpStream>,
) -> Handled {
    let t0 = Instant::now();
    let handling = match behavior {
        Served::Rst => {
            let s = Socket::from(conn);
            let _ = s.set_linger(Some(Duration::ZERO));
            drop(s);
            Handling::Reset
        }
        Served::Silent => {
            keep.push(conn);
            Handling::Silent
        }
        Served::Accept | Served::Echo | Served::HalfClose => {
            let mut c = conn;
            let mut buf = [0u8; 16384];
            let mut bytes = 0usize;
            let end = loop {
                match c.read(&mut buf) {
                    Ok(0) => break ReadEnd::Fin,
                    Ok(n) => {
                        bytes += n;
                        if behavior == Served::Echo && c.write_all(&buf[..n]).is_err() {
                            break ReadEnd::WriteError;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break ReadEnd::Rst,
                    Err(_) => break ReadEnd::ReadError,
                }
            };
            let after_s = t0.elapsed().as_secs_f64();
            let mut replied = None;
            if behavior == Served::HalfClose && end == ReadEnd::Fin {
                let reply = format!("received {bytes} bytes\n");
                if c.write_all(reply.as_bytes()).is_ok() {
                    replied = Some(reply.len());
                }
            }
            let _ = c.shutdown(Shutdown::Write);
            Handling::Read {
                bytes,
                end,
                after_s,
                echoed: behavior == Served::Echo,
                replied,
            }
        }
    };
    Handled { peer, handling }
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
        Some(errno::EMFILE | errno::ENFILE | errno::ENOBUFS | errno::ENOMEM)
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
        let line = if self.last_said.is_some() {
            self.take_unsaid().map(|l| format!("{l}; still listening"))
        } else {
            self.take_unsaid();
            Some(format!(
                "accept failed: {e}; still listening (while it fails: one line a second, with a count)"
            ))
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

/// A validated `probe serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where to listen; `[::]` falls back to `0.0.0.0` without IPv6.
    pub listen: SocketAddr,
    pub behavior: Behavior,
    /// Stop after this many accepted connections (none for `NoAccept`).
    pub count: Option<u64>,
}

/// What [`run`] says while it serves. Connection events come from the
/// connection threads too.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Listening {
        local: SocketAddr,
        behavior: Behavior,
    },
    /// `NoAccept`: nothing more will happen until Ctrl-C.
    NeverAccepting,
    Connection(Handled),
    /// Accepts failing, or working again: a line for stderr, at most one
    /// a second. `stopping`: the last one, said as serve stops.
    AcceptTrouble {
        line: String,
        stopping: bool,
    },
}

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `--count` connections served (and finished), or Ctrl-C while never
    /// accepting.
    Done,
    /// SIGINT or SIGTERM (this number) stopped the accept loop;
    /// connections in progress were left as they were.
    Signal(i32),
}

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: SocketAddr, error: io::Error },
    /// Neither IPv6 nor, as the fallback, IPv4 any.
    #[error("cannot listen on {addr} ({error}) or {v4} ({error4})")]
    ListenAny {
        addr: SocketAddr,
        error: io::Error,
        v4: SocketAddr,
        error4: io::Error,
    },
    #[error("cannot catch SIGINT and SIGTERM")]
    Signals(#[source] io::Error),
    #[error("cannot start a thread for the connection")]
    Thread(#[source] io::Error),
    /// accept failed in a way that serving cannot go on after.
    #[error(transparent)]
    Accept(io::Error),
    /// The event callback failed (e.g. stdout closed).
    #[error(transparent)]
    Output(io::Error),
}

/// Listen on `addr`, or on IPv4 any when `addr` is IPv6 any and this host
/// has no IPv6.
fn listen_or_fall_back(addr: SocketAddr, behavior: Behavior) -> Result<Socket, ServeError> {
    match listen(addr, behavior) {
        Ok(l) => Ok(l),
        Err(error) if addr.ip().is_unspecified() && addr.is_ipv6() => {
            let v4 = SocketAddr::from(([0, 0, 0, 0], addr.port()));
            listen(v4, behavior).map_err(|error4| ServeError::ListenAny {
                addr,
                error,
                v4,
                error4,
            })
        }
        Err(error) => Err(ServeError::Listen { addr, error }),
    }
}

/// A kept connection whose peer has not closed or reset it.
fn peer_still_there(c: &TcpStream) -> bool {
    crate::sys::poll_one(c.as_fd(), POLLRDHUP, Some(Duration::ZERO))
        .is_ok_and(|ev| ev & (POLLRDHUP | POLLHUP | POLLERR) == 0)
}

/// Serve `s` until its count is reached or a signal comes, calling
/// `on_event` as things happen (from connection threads too: their
/// callback errors are dropped, as a connection's line is all they say).
///
/// # Errors
/// [`ServeError::Listen`]/[`ServeError::ListenAny`] before anything is
/// emitted; the others when serving cannot go on.
pub fn run<F>(s: &Settings, on_event: F) -> Result<End, ServeError>
where
    F: Fn(Event) -> io::Result<()> + Send + Sync + 'static,
{
    let listener = listen_or_fall_back(s.listen, s.behavior)?;
    let local = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .unwrap_or(s.listen);
    let on_event = std::sync::Arc::new(on_event);
    let emit = |e| on_event(e).map_err(ServeError::Output);
    emit(Event::Listening {
        local,
        behavior: s.behavior,
    })?;
    let Some(behavior) = s.behavior.served() else {
        emit(Event::NeverAccepting)?;
        crate::sys::catch_interrupt();
        while !crate::sys::interrupted() {
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok(End::Done);
    };
    let listener: std::net::TcpListener = listener.into();
    let mut keep: Vec<TcpStream> = Vec::new();
    let mut served = 0u64;
    let mut threads = Vec::new();
    let mut failures = AcceptFailures::default();
    let trouble = |line, stopping| Event::AcceptTrouble { line, stopping };
    // Without SA_RESTART: Ctrl-C or SIGTERM ends a blocked accept, so the
    // failures not yet said are said before serve exits.
    crate::sys::catch_termination().map_err(ServeError::Signals)?;
    let signal = loop {
        if let Some(signal) = crate::sys::termination() {
            break Some(signal);
        }
        // std's accept retries after EINTR, so a signal would end the wait
        // only when a connection came: wait in poll, which gives up.
        match crate::sys::poll_one(listener.as_fd(), POLLIN, None) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ServeError::Accept(e)),
        }
        let (conn, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Out of descriptors or memory, or a connection gone before we
            // took it: keep serving, back off, and say so now and then.
            Err(e) if keeps_serving(&e) => {
                let (line, sleep) = failures.failed(Instant::now(), &e);
                if let Some(line) = line {
                    emit(trouble(line, false))?;
                }
                // Silent connections whose peer left give descriptors back.
                keep.retain(peer_still_there);
                std::thread::sleep(sleep);
                continue;
            }
            Err(e) => return Err(ServeError::Accept(e)),
        };
        if let Some(line) = failures.accepted(Instant::now()) {
            emit(trouble(line, false))?;
        }
        served += 1;
        if matches!(behavior, Served::Silent | Served::Rst) {
            // Silent connections are kept open; drop those whose peer left.
            keep.retain(peer_still_there);
            emit(Event::Connection(handle(conn, peer, behavior, &mut keep)))?;
        } else {
            // Finished connections give their threads back at once: a long
            // run must not pile up thread stacks until spawning fails.
            threads.retain(|t: &std::thread::JoinHandle<()>| !t.is_finished());
            let on_event = std::sync::Arc::clone(&on_event);
            let spawned = std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let handled = handle(conn, peer, behavior, &mut Vec::new());
                    let _ = on_event(Event::Connection(handled));
                });
            threads.push(spawned.map_err(ServeError::Thread)?);
        }
        if s.count.is_some_and(|c| served >= c) {
            break None;
        }
    };
    if let Some(line) = failures.finish() {
        emit(trouble(line, true))?;
    }
    if let Some(signal) = signal {
        // Connections in progress are cut by the caller's exit, as the
        // signal's default would.
        return Ok(End::Signal(signal));
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(End::Done)
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
        let back = f.accepted(t0 + Duration::from_secs(3)).unwrap();
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

    /// The lines serve prints, from the typed record.
    #[test]
    fn handled_connections_read_as_before() {
        let peer: SocketAddr = "198.51.100.1:40000".parse().unwrap();
        let line = |handling| Handled { peer, handling }.to_string();
        assert_eq!(
            line(Handling::Reset),
            "198.51.100.1:40000: accepted, reset (RST) at once"
        );
        assert_eq!(
            line(Handling::Silent),
            "198.51.100.1:40000: accepted, staying silent (never reading, never closing)"
        );
        assert_eq!(
            line(Handling::Read {
                bytes: 5,
                end: ReadEnd::Fin,
                after_s: 0.0123,
                echoed: false,
                replied: Some(17),
            }),
            "198.51.100.1:40000: accepted, read 5 bytes until its FIN after 0.012 s, then sent 17 bytes after its FIN, closed (FIN)"
        );
        assert_eq!(
            line(Handling::Read {
                bytes: 3,
                end: ReadEnd::WriteError,
                after_s: 1.0,
                echoed: true,
                replied: None,
            }),
            "198.51.100.1:40000: accepted, read 3 bytes until a write error after 1.000 s, echoed them, closed (FIN)"
        );
    }

    /// A half-close peer on loopback: our FIN, its answer, its FIN.
    #[test]
    fn half_close_answers_after_the_fin() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (conn, peer) = l.accept().unwrap();
        c.write_all(b"hello").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let h = handle(conn, peer, Served::HalfClose, &mut Vec::new());
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "received 5 bytes\n");
        assert!(
            matches!(
                h.handling,
                Handling::Read {
                    bytes: 5,
                    end: ReadEnd::Fin,
                    echoed: false,
                    replied: Some(17),
                    ..
                }
            ),
            "{h:?}"
        );
    }
}
