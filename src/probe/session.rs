//! The probe as a library call: [`Settings`] in, an [`Event`] per attempt
//! out as it happens, a [`Report`] back.
//!
//! `run` owns the attempt loop: pacing (each attempt starts `interval`
//! after the one before began), the behaviour tests on open connections,
//! the close (FIN or RST) and the exit policy ([`Report::passed`]).
//! SIGINT ends the loop between attempts (or a behaviour test's hold) and
//! the report of the attempts made so far comes back as usual; so does the
//! deadline (`-w`), which no attempt starts after.
//!
//! Every run follows the target's state ([`Tracker`]): the first
//! failure after open attempts and the first open after failures are
//! [`Event::Change`]s, as is a new address when the name is resolved
//! again before each attempt ([`Resolve`]).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::behave::{self, Finding};
use super::name::{self, Resolve};
use super::samples::Samples;
use super::watch::{Change, Downtime, Key, Stamp, Tracker};
use super::{ConnectOpts, Outcome, Summary};
use crate::sys::{self, TcpInfo};

/// How the connections we opened are closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseWith {
    /// Gracefully: our side then holds `TIME_WAIT` for `2MSL`.
    Fin,
    /// Abortively (`SO_LINGER` 0): no `TIME_WAIT` on our side.
    Rst,
}

/// The keepalive test's knobs: `TCP_KEEPIDLE`, `TCP_KEEPINTVL` (seconds) and
/// `TCP_KEEPCNT` (probes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub idle: u32,
    pub intvl: u32,
    pub cnt: u32,
}

/// The behaviour test run after `--send` data on each open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSend {
    /// Send the data (if any) and close.
    Nothing,
    /// `TCP_USER_TIMEOUT` of this many milliseconds, then hold.
    UserTimeout { ms: u32 },
    /// Shut down our side and watch the four-way close.
    HalfClose,
    /// Wait for the peer to end the connection.
    ExpectClose,
}

/// A validated probe: what to connect to, how often, and what to test.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub target: SocketAddr,
    /// Attempts to make, at least 1; `None`: until stopped (Ctrl-C or the
    /// deadline).
    pub count: Option<u64>,
    /// From the start of one attempt to the start of the next.
    pub interval: Duration,
    pub connect: ConnectOpts,
    pub keepalive: Option<Keepalive>,
    pub after_send: AfterSend,
    /// How long keepalive or the user timeout hold a connection; `None`:
    /// long enough to see the peer declared dead.
    pub hold: Option<Duration>,
    /// Data to send on each open connection.
    pub send: Vec<u8>,
    pub close: CloseWith,
    /// Read `TCP_INFO` again just before each close.
    pub info_at_close: bool,
    /// No attempt starts this long after the first; one in flight then is
    /// given only the time left, and not counted if that ran out.
    pub deadline: Option<Duration>,
    /// The name `target` came from, to resolve again before each attempt.
    pub resolve: Option<Resolve>,
}

/// One attempt, as it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempted {
    /// 1 for the first attempt.
    pub seq: u64,
    pub local: Option<SocketAddr>,
    pub outcome: Outcome,
    /// `TCP_INFO` right after the handshake (or the wait, when filtered).
    pub info: Option<TcpInfo>,
    /// `TCP_INFO` just before the close, when asked for.
    pub info_at_close: Option<TcpInfo>,
    pub findings: Vec<Finding>,
    /// How the connection was closed, when it was open.
    pub closed_with: Option<CloseWith>,
    /// The address tried; `None` when the name did not resolve.
    pub target: Option<SocketAddr>,
}

/// What `run` says while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The setup checked out; the first attempt comes next.
    Started,
    /// An attempt ended (and its connection was closed).
    Attempt(Attempted),
    /// Attempt `seq` changed the target's state or address.
    Change { seq: u64, change: Change<Key> },
}

/// What ended the attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// All `-c` attempts were made.
    Count,
    /// The deadline (`-w`) came.
    Deadline,
    /// SIGINT (Ctrl-C).
    Interrupt,
}

/// The attempts made, in numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: SocketAddr,
    pub attempts: u64,
    pub open: u64,
    pub failed: u64,
    pub loss_pct: f64,
    /// Handshake times, user space, `connect()` to writable.
    pub handshake: Option<Summary>,
    /// The kernel's smoothed RTT after each handshake.
    pub kernel_rtt: Option<Summary>,
    pub elapsed_s: f64,
    pub attempts_per_second: f64,
    /// A behaviour test found the peer dead, or it did not close.
    pub peer_failed: bool,
    /// No count was given: the run went until stopped.
    pub until_stopped: bool,
    pub stopped_by: Stop,
    /// The target's down periods.
    pub downtime: Downtime,
    /// How often the name resolved to another address.
    pub address_changes: u64,
    /// The name resolved before each attempt (`target` is its last address).
    pub name: Option<String>,
}

impl Report {
    /// Exit 0? Every attempt connected, no behaviour test failed, and at
    /// least one attempt was made (Ctrl-C may come before the first).
    pub fn passed(&self) -> bool {
        self.failed == 0 && !self.peer_failed && self.attempts > 0
    }
}

/// Why `run` stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A socket for the target could not be set up (no such interface, a
    /// source address not ours, ...): nothing was sent.
    #[error("cannot set up a connection to {target}: {error}")]
    Setup {
        target: SocketAddr,
        #[source]
        error: io::Error,
    },
    /// A behaviour test failed on our side.
    #[error(transparent)]
    Test(io::Error),
    /// The event callback failed (e.g. stdout closed).
    #[error(transparent)]
    Output(io::Error),
}

/// Probe `s.target` `s.count` times (or until stopped), calling
/// `on_event` as things happen.
///
/// # Errors
/// [`ProbeError::Setup`] when a socket cannot be set up: before anything
/// is emitted (or, with [`Resolve`], for a new address of the name);
/// [`ProbeError::Test`] when a behaviour test fails on our side;
/// [`ProbeError::Output`] with the callback's error, at once.
pub fn run(
    s: &Settings,
    on_event: &mut impl FnMut(Event) -> io::Result<()>,
) -> Result<Report, ProbeError> {
    super::check_setup(s.target, &s.connect).map_err(|error| ProbeError::Setup {
        target: s.target,
        error,
    })?;
    sys::catch_interrupt();
    on_event(Event::Started).map_err(ProbeError::Output)?;
    let key = key_of(s);
    let mut tracker = Tracker::new();
    let mut target = s.target;
    let mut tally = Tally::default();
    let started = Instant::now();
    let end = s.deadline.map(|d| started + d);
    let mut n = 0u64;
    if s.resolve.is_some() {
        tracker.address(&key, target.ip(), Stamp::now());
    }
    let stopped_by = loop {
        if s.count.is_some_and(|c| n >= c) {
            break Stop::Count;
        }
        if sys::interrupted() {
            break Stop::Interrupt;
        }
        let stamp = Stamp::now();
        if end.is_some_and(|e| stamp.mono >= e) {
            break Stop::Deadline;
        }
        n += 1;
        let resolved = match &s.resolve {
            Some(r) => name::resolve(&r.name, r.port, r.family)
                .and_then(|a| name::usable(&r.name, a, s.connect.iface.is_some())),
            None => Ok(target),
        };
        let (at, tried) = match resolved {
            Err(e) => {
                let at = super::Attempt {
                    outcome: unresolved(&e, stamp.mono.elapsed()),
                    local: None,
                    info: None,
                    socket: None,
                };
                (at, None)
            }
            Ok(addr) => {
                if s.resolve.is_some() {
                    if let Some(change) = tracker.address(&key, addr.ip(), stamp) {
                        tally.address_changes += 1;
                        on_event(Event::Change { seq: n, change }).map_err(ProbeError::Output)?;
                    }
                }
                target = addr;
                match connect(s, addr, stamp.mono, end)? {
                    Ok(at) => (at, Some(addr)),
                    Err(stop) => break stop,
                }
            }
        };
        let at = super::neighbour::explain_attempt(target, s.connect.iface.as_deref(), at);
        let mut findings: Vec<Finding> = Vec::new();
        let mut info_at_close: Option<TcpInfo> = None;
        if let Some(sock) = at.socket {
            test(s, &sock, &mut findings).map_err(ProbeError::Test)?;
            if s.info_at_close {
                info_at_close = sys::tcp_info(std::os::fd::AsFd::as_fd(&sock)).ok();
            }
            super::close(sock, s.close == CloseWith::Rst);
        }
        tally.count(&at.outcome, &findings);
        let closed_with = at.outcome.is_open().then_some(s.close);
        let change = tracker.attempt(&key, at.outcome.is_open(), &at.outcome.label(), stamp);
        on_event(Event::Attempt(Attempted {
            seq: n,
            local: at.local,
            outcome: at.outcome,
            info: at.info,
            info_at_close,
            findings,
            closed_with,
            target: tried,
        }))
        .map_err(ProbeError::Output)?;
        if let Some(change) = change {
            on_event(Event::Change { seq: n, change }).map_err(ProbeError::Output)?;
        }
        if s.count.is_none_or(|c| n < c) {
            let next = t_min(stamp.mono + s.interval, end);
            while Instant::now() < next && !sys::interrupted() {
                std::thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
            }
        }
    };
    let now = Instant::now();
    let downtime = tracker.downtime(&key, now);
    Ok(tally.report(s, target, stopped_by, downtime, now - started))
}

/// One connection attempt to `addr`, begun at `t0`. Near the deadline it
/// gets only the time left; silence cut short by the deadline says
/// nothing, and ends the run as Ctrl-C does.
fn connect(
    s: &Settings,
    addr: SocketAddr,
    t0: Instant,
    end: Option<Instant>,
) -> Result<Result<super::Attempt, Stop>, ProbeError> {
    let left = end.map(|e| e.saturating_duration_since(t0));
    let cut = left.filter(|l| *l < s.connect.timeout);
    let opts = cut.map(|timeout| ConnectOpts {
        timeout,
        ..s.connect.clone()
    });
    match super::attempt(addr, opts.as_ref().unwrap_or(&s.connect)) {
        Ok(at) if cut.is_some() && matches!(at.outcome, Outcome::Filtered { .. }) => {
            Ok(Err(Stop::Deadline))
        }
        Ok(at) => Ok(Ok(at)),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Err(Stop::Interrupt)),
        Err(error) => Err(ProbeError::Setup {
            target: addr,
            error,
        }),
    }
}

/// The attempts counted, in a report's numbers.
#[derive(Default)]
struct Tally {
    handshakes: Samples,
    rtts: Samples,
    open: u64,
    failed: u64,
    peer_failed: bool,
    address_changes: u64,
}

impl Tally {
    fn count(&mut self, outcome: &Outcome, findings: &[Finding]) {
        self.peer_failed |= findings.iter().any(Finding::is_failure);
        match outcome {
            Outcome::Open {
                handshake_us,
                kernel_rtt_us,
                ..
            } => {
                self.open += 1;
                self.handshakes.push(*handshake_us);
                self.rtts.push(f64::from(*kernel_rtt_us));
            }
            _ => self.failed += 1,
        }
    }

    fn report(
        self,
        s: &Settings,
        target: SocketAddr,
        stopped_by: Stop,
        downtime: Downtime,
        elapsed: Duration,
    ) -> Report {
        let attempts = self.open + self.failed;
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let (loss_pct, per_second) = (
            if attempts == 0 {
                0.0
            } else {
                100.0 * self.failed as f64 / attempts as f64
            },
            attempts as f64,
        );
        let elapsed_s = elapsed.as_secs_f64();
        Report {
            target,
            attempts,
            open: self.open,
            failed: self.failed,
            loss_pct,
            handshake: self.handshakes.summary(),
            kernel_rtt: self.rtts.summary(),
            elapsed_s,
            attempts_per_second: per_second / elapsed_s.max(1e-9),
            peer_failed: self.peer_failed,
            until_stopped: s.count.is_none(),
            stopped_by,
            downtime,
            address_changes: self.address_changes,
            name: s.resolve.as_ref().map(|r| r.name.clone()),
        }
    }
}

/// The earlier of `t` and the deadline, if any.
fn t_min(t: Instant, end: Option<Instant>) -> Instant {
    end.map_or(t, |e| t.min(e))
}

/// The tracker's key: the name when one is resolved again, else the
/// address (with its zone).
fn key_of(s: &Settings) -> Key {
    match (&s.resolve, s.target) {
        (Some(r), _) => Key {
            host: r.name.clone(),
            port: r.port,
        },
        (None, SocketAddr::V6(v6)) if v6.scope_id() != 0 => Key {
            host: format!("{}%{}", v6.ip(), v6.scope_id()),
            port: v6.port(),
        },
        (None, t) => Key {
            host: t.ip().to_string(),
            port: t.port(),
        },
    }
}

/// A name that did not resolve before an attempt: that attempt failed,
/// with the resolver's words (nothing was sent).
fn unresolved(e: &name::ResolveError, after: Duration) -> Outcome {
    Outcome::Error {
        after_us: super::us(after),
        error: e.to_string(),
    }
}

/// The behaviour tests on an open connection, in their order: keepalive,
/// then the one that goes with the data (or the data alone).
fn test(s: &Settings, sock: &socket2::Socket, findings: &mut Vec<Finding>) -> io::Result<()> {
    if let Some(Keepalive { idle, intvl, cnt }) = s.keepalive {
        let expected = Duration::from_secs(u64::from(idle) + u64::from(intvl) * u64::from(cnt));
        let hold = s
            .hold
            .unwrap_or(expected + expected / 2 + Duration::from_secs(2));
        findings.push(behave::keepalive(sock, idle, intvl, cnt, hold)?);
    }
    let data = &s.send;
    match s.after_send {
        AfterSend::UserTimeout { ms } => {
            let hold = s
                .hold
                .unwrap_or(Duration::from_millis(u64::from(ms)) * 2 + Duration::from_secs(2));
            findings.push(behave::user_timeout(sock, ms, data, hold)?);
        }
        AfterSend::HalfClose => {
            findings.push(behave::half_close(sock, data, s.connect.timeout)?);
        }
        AfterSend::ExpectClose => {
            findings.push(behave::expect_close(sock, data, s.connect.timeout)?);
        }
        AfterSend::Nothing if !data.is_empty() => {
            use std::io::Write as _;
            let mut w: &socket2::Socket = sock;
            let _ = w.write_all(data);
        }
        AfterSend::Nothing => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::watch::ChangeKind;

    fn loopback(port: u16, count: u64) -> Settings {
        Settings {
            target: SocketAddr::from(([127, 0, 0, 1], port)),
            count: Some(count),
            interval: Duration::ZERO,
            connect: ConnectOpts {
                timeout: Duration::from_secs(2),
                iface: None,
                source: None,
                observe: Duration::ZERO,
            },
            keepalive: None,
            after_send: AfterSend::Nothing,
            hold: None,
            send: Vec::new(),
            close: CloseWith::Rst,
            info_at_close: true,
            deadline: None,
            resolve: None,
        }
    }

    /// A port nothing listens on (it was free a moment ago).
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[test]
    fn attempts_come_as_events_then_the_report() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = loopback(l.local_addr().unwrap().port(), 3);
        let mut events = Vec::new();
        let r = run(&s, &mut |e| {
            events.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(events.len(), 4, "{events:#?}");
        assert_eq!(events[0], Event::Started);
        for (n, e) in events[1..].iter().enumerate() {
            let Event::Attempt(a) = e else {
                panic!("{e:?}")
            };
            assert_eq!(a.seq, n as u64 + 1);
            assert!(a.outcome.is_open(), "{a:?}");
            assert_eq!(a.closed_with, Some(CloseWith::Rst));
            assert!(a.info_at_close.is_some());
        }
        assert_eq!((r.attempts, r.open, r.failed), (3, 3, 0));
        assert!(r.handshake.is_some() && r.passed());
    }

    #[test]
    fn a_refused_port_fails_the_report() {
        let s = loopback(closed_port(), 2);
        let mut attempts = 0;
        let r = run(&s, &mut |e| {
            if let Event::Attempt(a) = e {
                assert!(matches!(a.outcome, Outcome::RefusedRst { .. }), "{a:?}");
                assert_eq!(a.closed_with, None);
                attempts += 1;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(attempts, 2);
        assert_eq!((r.attempts, r.open, r.failed, r.loss_pct), (2, 0, 2, 100.0));
        assert!(r.handshake.is_none() && !r.passed());
    }

    /// A closed stdout stops the attempts at once.
    #[test]
    fn a_failing_callback_stops_the_loop() {
        let s = loopback(closed_port(), 1000);
        let mut calls = 0;
        let e = run(&s, &mut |e| {
            calls += 1;
            match e {
                Event::Started => Ok(()),
                Event::Attempt(_) | Event::Change { .. } => {
                    Err(io::Error::from(io::ErrorKind::BrokenPipe))
                }
            }
        })
        .unwrap_err();
        assert!(matches!(e, ProbeError::Output(_)), "{e:?}");
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_socket_that_cannot_be_set_up_is_a_setup_error_before_any_event() {
        let mut s = loopback(closed_port(), 1);
        s.connect.source = Some("::1".parse().unwrap());
        let e = run(&s, &mut |e| panic!("{e:?}")).unwrap_err();
        assert!(matches!(e, ProbeError::Setup { .. }), "{e:?}");
    }

    /// Until stopped, the deadline ends the run, on time.
    #[test]
    fn a_deadline_ends_a_run_until_stopped() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = loopback(l.local_addr().unwrap().port(), 1);
        s.count = None;
        s.interval = Duration::from_millis(50);
        s.deadline = Some(Duration::from_millis(400));
        let t0 = Instant::now();
        let r = run(&s, &mut |_| Ok(())).unwrap();
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_millis(700),
            "{took:?}"
        );
        assert_eq!(r.stopped_by, Stop::Deadline);
        assert!(r.until_stopped && r.passed());
        assert!((6..=10).contains(&r.attempts), "{}", r.attempts);
        assert_eq!(r.downtime, Downtime::default());
    }

    /// A listener that goes away and comes back: one down event, one up
    /// event, and the counts of the attempts between them.
    #[test]
    fn a_listener_gone_and_back_is_one_down_and_one_up() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let mut s = loopback(addr.port(), 30);
        s.interval = Duration::from_millis(20);
        let mut l = Some(l);
        let mut events = Vec::new();
        let r = run(&s, &mut |e| {
            if let Event::Attempt(a) = &e {
                // Gone after attempt 10, back after attempt 20.
                if a.seq == 10 {
                    l = None;
                }
                if a.seq == 20 {
                    l = Some(std::net::TcpListener::bind(addr).unwrap());
                }
            }
            events.push(e);
            Ok(())
        })
        .unwrap();
        drop(l);
        let changes: Vec<(u64, &Change<Key>)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Change { seq, change } => Some((*seq, change)),
                _ => None,
            })
            .collect();
        assert_eq!(changes.len(), 2, "{changes:#?}");
        assert_eq!(changes[0].0, 11);
        assert!(
            matches!(
                &changes[0].1.kind,
                ChangeKind::Down { outcome, after_open: 10, .. } if outcome == "refused (RST)"
            ),
            "{changes:#?}"
        );
        assert_eq!(changes[1].0, 21);
        let ChangeKind::Up {
            after_failed: 10,
            down_for,
            again: true,
        } = changes[1].1.kind
        else {
            panic!("{changes:#?}")
        };
        assert!(down_for >= Duration::from_millis(180), "{down_for:?}");
        assert_eq!(changes[0].1.target.to_string(), addr.to_string());
        assert_eq!((r.open, r.failed, r.downtime.periods), (20, 10, 1));
        assert!(!r.downtime.down_at_end && r.stopped_by == Stop::Count);
    }

    /// With a name resolved again before each attempt (`localhost`, from
    /// /etc/hosts), each attempt says the address it tried; the same
    /// address again is no change.
    #[test]
    fn a_name_resolved_again_to_the_same_address_makes_no_change() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let mut s = loopback(port, 3);
        s.resolve = Some(Resolve {
            name: "localhost".into(),
            port,
            family: name::Family::V4,
        });
        let mut tried = Vec::new();
        let r = run(&s, &mut |e| {
            match e {
                Event::Attempt(a) => tried.push(a.target),
                Event::Change { change, .. } => panic!("{change:?}"),
                Event::Started => {}
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(tried, vec![Some(s.target); 3]);
        assert_eq!((r.open, r.address_changes), (3, 0));
        assert_eq!(r.name.as_deref(), Some("localhost"));
    }
}
