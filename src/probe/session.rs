//! The probe as a library call: [`Settings`] in, an [`Event`] per attempt
//! out as it happens, a [`Report`] back.
//!
//! `run` owns the attempt loop: pacing (each attempt starts `interval`
//! after the one before began), the behaviour tests on open connections,
//! the close (FIN or RST) and the exit policy ([`Report::passed`]).
//! SIGINT ends the loop between attempts (or a behaviour test's hold) and
//! the report of the attempts made so far comes back as usual.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::behave::{self, Finding};
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
    /// Attempts to make, at least 1.
    pub count: u64,
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
}

/// What `run` says while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The setup checked out; the first attempt comes next.
    Started,
    /// An attempt ended (and its connection was closed).
    Attempt(Attempted),
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

/// Probe `s.target` `s.count` times, calling `on_event` as things happen.
///
/// # Errors
/// [`ProbeError::Setup`] before anything is emitted when a socket cannot
/// be set up; [`ProbeError::Test`] when a behaviour test fails on our
/// side; [`ProbeError::Output`] with the callback's error, at once.
pub fn run(
    s: &Settings,
    on_event: &mut impl FnMut(Event) -> io::Result<()>,
) -> Result<Report, ProbeError> {
    let setup = |error| ProbeError::Setup {
        target: s.target,
        error,
    };
    super::check_setup(s.target, &s.connect).map_err(setup)?;
    sys::catch_interrupt();
    on_event(Event::Started).map_err(ProbeError::Output)?;
    let mut handshakes = Vec::new();
    let mut rtts = Vec::new();
    let (mut open, mut failed, mut peer_failed) = (0u64, 0u64, false);
    let started = Instant::now();
    for n in 1..=s.count {
        if sys::interrupted() {
            break;
        }
        let t_attempt = Instant::now();
        let at = match super::attempt(s.target, &s.connect) {
            Ok(at) => at,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
            Err(e) => return Err(setup(e)),
        };
        let at = super::neighbour::explain_attempt(s.target, s.connect.iface.as_deref(), at);
        let mut findings: Vec<Finding> = Vec::new();
        let mut info_at_close: Option<TcpInfo> = None;
        if let Some(sock) = at.socket {
            test(s, &sock, &mut findings).map_err(ProbeError::Test)?;
            if s.info_at_close {
                info_at_close = sys::tcp_info(std::os::fd::AsFd::as_fd(&sock)).ok();
            }
            super::close(sock, s.close == CloseWith::Rst);
        }
        peer_failed |= findings.iter().any(Finding::is_failure);
        match &at.outcome {
            Outcome::Open {
                handshake_us,
                kernel_rtt_us,
                ..
            } => {
                open += 1;
                handshakes.push(*handshake_us);
                rtts.push(f64::from(*kernel_rtt_us));
            }
            _ => failed += 1,
        }
        let closed_with = at.outcome.is_open().then_some(s.close);
        on_event(Event::Attempt(Attempted {
            seq: n,
            local: at.local,
            outcome: at.outcome,
            info: at.info,
            info_at_close,
            findings,
            closed_with,
        }))
        .map_err(ProbeError::Output)?;
        if n < s.count {
            let next = t_attempt + s.interval;
            while Instant::now() < next && !sys::interrupted() {
                std::thread::sleep((next - Instant::now()).min(Duration::from_millis(100)));
            }
        }
    }
    let attempts = open + failed;
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let (loss_pct, per_second) = (
        if attempts == 0 {
            0.0
        } else {
            100.0 * failed as f64 / attempts as f64
        },
        attempts as f64,
    );
    let handshake = Summary::of(&handshakes);
    let kernel_rtt = Summary::of(&rtts);
    let elapsed_s = started.elapsed().as_secs_f64();
    Ok(Report {
        target: s.target,
        attempts,
        open,
        failed,
        loss_pct,
        handshake,
        kernel_rtt,
        elapsed_s,
        attempts_per_second: per_second / elapsed_s.max(1e-9),
        peer_failed,
    })
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

    fn loopback(port: u16, count: u64) -> Settings {
        Settings {
            target: SocketAddr::from(([127, 0, 0, 1], port)),
            count,
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
                Event::Attempt(_) => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
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
}
