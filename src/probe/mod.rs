//! `nettool probe`: how does a peer answer a TCP connection?
//!
//! One attempt = a non-blocking connect timed in user space, with
//! `IP_RECVERR` so an ICMP error is told apart from a RST (the kernel gives
//! both as a connect error; the error queue says which, with the ICMP type,
//! code and sender). Then a short look at the open connection (does the
//! peer reset it, close it, or greet us?), optional behaviour tests
//! ([`behave`]), and a close: graceful (FIN) or abortive (RST).
//!
//! [`run`] makes the attempts of a [`Settings`] with their pacing, emits an
//! [`Event`] per attempt and returns a [`Report`]; [`serve`] is the peer
//! to probe against.

pub mod behave;
pub mod name;
pub mod neighbour;
pub mod rate;
pub mod rounds;
mod samples;
pub mod scan;
pub mod serve;
mod session;
pub mod targets;
pub mod trace;
pub mod watch;

pub use session::Stop;
pub use session::{
    AfterSend, Attempted, CloseWith, Event, Keepalive, ProbeError, Report, Settings, run,
};

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use serde::Serialize;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::sys::errqueue::{SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6};
use crate::sys::poll::{POLLIN, POLLOUT, POLLRDHUP};
use crate::sys::{self, QueuedError, TcpInfo, errno};

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// The three-way handshake completed.
    Open {
        /// `connect()` to writable, user space, microseconds.
        handshake_us: f64,
        /// The kernel's own smoothed RTT right after the handshake.
        kernel_rtt_us: u32,
        /// What the peer did in the first moments.
        peer: Option<PeerMove>,
    },
    /// Handshake completed, then the peer reset the connection.
    ResetAfterAccept {
        handshake_us: f64,
        reset_after_us: f64,
    },
    /// A TCP RST answered our SYN: nothing listening.
    RefusedRst {
        after_us: f64,
    },
    /// An ICMP port unreachable answered our SYN (a firewall's reject).
    RefusedIcmp {
        after_us: f64,
        icmp: Icmp,
    },
    /// No answer at all: SYNs dropped on the way.
    Filtered {
        waited_us: f64,
        syn_retransmits: u8,
    },
    HostUnreachable {
        after_us: f64,
        icmp: Option<Icmp>,
    },
    /// No route (immediately, from our own kernel) or ICMP net unreachable.
    NetworkUnreachable {
        after_us: f64,
        icmp: Option<Icmp>,
    },
    /// ICMP "administratively prohibited" (filtered by a router or host).
    AdminProhibited {
        after_us: f64,
        icmp: Icmp,
    },
    /// Anything else, as the kernel said it.
    Error {
        after_us: f64,
        error: String,
    },
    /// No answer, and the kernel's neighbour entry says why: nothing on
    /// the local link answered its ARP (NDP) requests for the target, or
    /// for the gateway on the way ([`neighbour::explain`]). Boxed: rare,
    /// and an `Outcome` stays small.
    NoNeighbour(Box<neighbour::NoNeighbour>),
}

impl Outcome {
    pub fn is_open(&self) -> bool {
        matches!(self, Outcome::Open { .. })
    }

    /// Short name, as printed.
    pub fn label(&self) -> String {
        match self {
            Outcome::Open { .. } => "open".into(),
            Outcome::ResetAfterAccept { .. } => "reset after accept".into(),
            Outcome::RefusedRst { .. } => "refused (RST)".into(),
            Outcome::RefusedIcmp { .. } => "refused (ICMP port unreachable)".into(),
            Outcome::Filtered {
                syn_retransmits, ..
            } => {
                format!("filtered (no answer after {syn_retransmits} SYN retransmits)")
            }
            Outcome::HostUnreachable { .. } => "host unreachable".into(),
            Outcome::NetworkUnreachable { .. } => "network unreachable".into(),
            Outcome::AdminProhibited { .. } => "administratively prohibited".into(),
            Outcome::Error { error, .. } => format!("error: {error}"),
            Outcome::NoNeighbour(n) => format!("no {} reply", n.protocol.name()),
        }
    }
}

/// The ICMP message behind an error, as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Icmp {
    pub version: u8,
    #[serde(rename = "type")]
    pub icmp_type: u8,
    pub code: u8,
    /// The host or router that sent it.
    pub from: Option<IpAddr>,
}

impl std::fmt::Display for Icmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = if self.version == 6 { "ICMPv6" } else { "ICMP" };
        write!(f, "{v} type {} code {}", self.icmp_type, self.code)?;
        if let Some(from) = self.from {
            write!(f, " from {from}")?;
        }
        Ok(())
    }
}

/// The peer's first move on an open connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerMove {
    /// It sent data first (a banner): bytes seen.
    Data { bytes: usize },
    /// It closed (FIN).
    Fin,
}

/// Settings of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOpts {
    pub timeout: Duration,
    pub iface: Option<String>,
    pub source: Option<IpAddr>,
    /// After the handshake, watch this long for the peer's first move.
    pub observe: Duration,
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// What an ICMP destination-unreachable message says about a connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IcmpKind {
    PortUnreachable,
    NetUnreachable,
    HostUnreachable,
    /// Administratively prohibited, by a router or the host.
    Prohibited,
    Other,
}

impl IcmpKind {
    /// RFC 792 type 3 / RFC 4443 type 1 codes.
    pub(crate) fn of(i: &Icmp) -> IcmpKind {
        match (i.version, i.icmp_type, i.code) {
            (4, 3, 3) | (6, 1, 4) => IcmpKind::PortUnreachable,
            (4, 3, 0 | 6 | 11) | (6, 1, 0) => IcmpKind::NetUnreachable,
            (4, 3, 1 | 7 | 12) | (6, 1, 3) => IcmpKind::HostUnreachable,
            (4, 3, 9 | 10 | 13) | (6, 1, 1 | 5 | 6) => IcmpKind::Prohibited,
            _ => IcmpKind::Other,
        }
    }
}

/// Classify a connect error with what the error queue says.
fn classify(err: &io::Error, queued: Option<QueuedError>, after: Duration) -> Outcome {
    let after_us = us(after);
    match Failure::of(err, queued) {
        Failure::Icmp(i) => match IcmpKind::of(&i) {
            IcmpKind::PortUnreachable => Outcome::RefusedIcmp { after_us, icmp: i },
            IcmpKind::NetUnreachable => Outcome::NetworkUnreachable {
                after_us,
                icmp: Some(i),
            },
            IcmpKind::HostUnreachable => Outcome::HostUnreachable {
                after_us,
                icmp: Some(i),
            },
            IcmpKind::Prohibited => Outcome::AdminProhibited { after_us, icmp: i },
            IcmpKind::Other => Outcome::Error {
                after_us,
                error: format!("{err} ({i})"),
            },
        },
        Failure::Rst => Outcome::RefusedRst { after_us },
        Failure::LocalNet => Outcome::NetworkUnreachable {
            after_us,
            icmp: None,
        },
        Failure::LocalHost => Outcome::HostUnreachable {
            after_us,
            icmp: None,
        },
        Failure::Reset | Failure::Other => Outcome::Error {
            after_us,
            error: err.to_string(),
        },
    }
}

/// What a failed connect's errno and error queue say, before a mode
/// names it: the one reading of both, shared by attempts ([`classify`])
/// and `--trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An ICMP (or `ICMPv6`) message from the network, queued with its
    /// sender: unreachable, prohibited, time exceeded.
    Icmp(Icmp),
    /// `ECONNREFUSED` with no ICMP queued: a TCP RST.
    Rst,
    /// `ECONNRESET`: the handshake completed, then a RST came.
    Reset,
    /// `ENETUNREACH` from our own kernel: no route (or an `unreachable`
    /// route).
    LocalNet,
    /// `EHOSTUNREACH` from our own kernel: no ARP / NDP answer from the
    /// next hop (or a route that says so).
    LocalHost,
    /// Any other errno (`EACCES` from a `prohibit` route, `EINVAL` from a
    /// `blackhole`, ...).
    Other,
}

impl Failure {
    pub(crate) fn of(err: &io::Error, queued: Option<QueuedError>) -> Failure {
        let icmp = queued
            .filter(|q| q.origin == SO_EE_ORIGIN_ICMP || q.origin == SO_EE_ORIGIN_ICMP6)
            .map(|q| Icmp {
                version: if q.origin == SO_EE_ORIGIN_ICMP6 { 6 } else { 4 },
                icmp_type: q.icmp_type,
                code: q.icmp_code,
                from: q.offender,
            });
        if let Some(i) = icmp {
            return Failure::Icmp(i);
        }
        match err.raw_os_error() {
            Some(errno::ECONNREFUSED) => Failure::Rst,
            Some(errno::ECONNRESET) => Failure::Reset,
            Some(errno::ENETUNREACH) => Failure::LocalNet,
            Some(errno::EHOSTUNREACH) => Failure::LocalHost,
            _ => Failure::Other,
        }
    }
}

/// A connected (or failed) attempt; the socket stays open for behaviour
/// tests when the handshake completed.
pub struct Attempt {
    pub outcome: Outcome,
    pub local: Option<SocketAddr>,
    pub info: Option<TcpInfo>,
    pub socket: Option<Socket>,
}

/// Open a socket for `target` with the options, not yet connected.
fn new_socket(target: SocketAddr, o: &ConnectOpts) -> io::Result<Socket> {
    let domain = if target.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))?;
    sys::set_recv_errors(s.as_fd(), target.is_ipv6())?;
    if let Some(i) = &o.iface {
        s.bind_device(Some(i.as_bytes()))?;
    }
    if let Some(src) = o.source {
        s.bind(&SocketAddr::new(src, 0).into())?;
    }
    Ok(s)
}

/// Check that a socket for `target` can be set up with the options (the
/// interface exists, the source address is ours and of the target's
/// family) without sending anything, so that a bad `-I` or `-s` is an
/// error before the first attempt.
///
/// # Errors
/// The socket's: `ENODEV` for `-I`, `EADDRNOTAVAIL` for `-s`, ...
pub fn check_setup(target: SocketAddr, o: &ConnectOpts) -> io::Result<()> {
    new_socket(target, o).map(drop)
}

/// A connect in flight: the SYN is out and the answer is awaited. Its
/// descriptor becomes writable (or reports an error) when the handshake
/// completes or fails; [`Pending::finish`] then classifies it, and
/// [`Pending::silent`] when the wait ran out first. The single-target loop
/// ([`attempt`]) and the scan engine ([`scan`]) both drive attempts this
/// way.
pub struct Pending {
    socket: Socket,
    t0: Instant,
}

/// How [`start`] left an attempt.
pub enum Start {
    /// Awaiting the answer.
    Pending(Pending),
    /// Over at once: our own kernel refused (no route, a local error).
    Done(Attempt),
}

/// Set up a socket for `target` and send the SYN (a non-blocking connect).
///
/// # Errors
/// Setting up the socket failed (as [`check_setup`]); a connection that
/// fails is an [`Outcome`], not an error.
pub fn start(target: SocketAddr, o: &ConnectOpts) -> io::Result<Start> {
    let s = new_socket(target, o)?;
    let addr: SockAddr = target.into();
    let t0 = Instant::now();
    match s.connect(&addr) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(errno::EINPROGRESS) => {}
        Err(e) => {
            let after = t0.elapsed();
            let q = sys::take_queued_error(s.as_fd());
            return Ok(Start::Done(Attempt {
                outcome: classify(&e, q, after),
                local: None,
                info: None,
                socket: None,
            }));
        }
    }
    Ok(Start::Pending(Pending { socket: s, t0 }))
}

impl Pending {
    /// The descriptor to wait on for `POLLOUT`.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// When the SYN went out.
    pub fn started(&self) -> Instant {
        self.t0
    }

    /// No answer came in time: filtered, with the SYN retransmits the
    /// kernel made meanwhile.
    pub fn silent(self) -> Attempt {
        let waited = self.t0.elapsed();
        let info = sys::tcp_info(self.socket.as_fd()).ok();
        Attempt {
            outcome: Outcome::Filtered {
                waited_us: us(waited),
                syn_retransmits: info.map_or(0, |i| i.retransmits),
            },
            local: None,
            info,
            socket: None,
        }
    }

    /// The descriptor was reported ready: classify the answer (from the
    /// socket's error and its error queue), and on an open connection
    /// watch for the peer's first move for up to `observe`.
    ///
    /// # Errors
    /// Reading the socket's state failed.
    pub fn finish(self, observe: Duration) -> io::Result<Attempt> {
        let Pending { socket: s, t0 } = self;
        let waited = t0.elapsed();
        if let Some(e) = s.take_error()? {
            if e.raw_os_error() == Some(errno::ECONNRESET) {
                // The handshake completed and the RST came before we looked.
                return Ok(Attempt {
                    outcome: Outcome::ResetAfterAccept {
                        handshake_us: us(waited),
                        reset_after_us: 0.0,
                    },
                    local: None,
                    info: None,
                    socket: None,
                });
            }
            let q = sys::take_queued_error(s.as_fd());
            return Ok(Attempt {
                outcome: classify(&e, q, waited),
                local: None,
                info: None,
                socket: None,
            });
        }
        let info = sys::tcp_info(s.as_fd()).ok();
        let handshake_us = us(waited);
        let kernel_rtt_us = info.map_or(0, |i| i.rtt_us);
        let local = s.local_addr().ok().and_then(|a| a.as_socket());
        let (outcome, keep) = match watch(&s, observe)? {
            Watch::Reset(after) => (
                Outcome::ResetAfterAccept {
                    handshake_us,
                    reset_after_us: us(after),
                },
                false,
            ),
            Watch::Quiet => (
                Outcome::Open {
                    handshake_us,
                    kernel_rtt_us,
                    peer: None,
                },
                true,
            ),
            Watch::Moved(m) => (
                Outcome::Open {
                    handshake_us,
                    kernel_rtt_us,
                    peer: Some(m),
                },
                true,
            ),
        };
        Ok(Attempt {
            outcome,
            local,
            info,
            socket: keep.then_some(s),
        })
    }
}

/// One connection attempt: [`start`], wait up to the timeout, then
/// [`Pending::finish`] or [`Pending::silent`].
///
/// # Errors
/// Setting up the socket failed (as [`check_setup`]), or waiting on it
/// did; a connection that fails is an [`Outcome`], not an error.
pub fn attempt(target: SocketAddr, o: &ConnectOpts) -> io::Result<Attempt> {
    let p = match start(target, o)? {
        Start::Done(a) => return Ok(a),
        Start::Pending(p) => p,
    };
    let revents = sys::poll_one(p.fd(), POLLOUT, Some(o.timeout))?;
    if revents == 0 {
        return Ok(p.silent());
    }
    p.finish(o.observe)
}

enum Watch {
    Quiet,
    Moved(PeerMove),
    Reset(Duration),
}

/// Look at a fresh connection for up to `d`: a RST, a FIN or a banner.
fn watch(s: &Socket, d: Duration) -> io::Result<Watch> {
    if d.is_zero() {
        return Ok(Watch::Quiet);
    }
    let t0 = Instant::now();
    let ev = sys::poll_one(s.as_fd(), POLLIN | POLLRDHUP, Some(d))?;
    if ev == 0 {
        return Ok(Watch::Quiet);
    }
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 4096];
    match s.peek(&mut buf) {
        Ok(0) => Ok(Watch::Moved(PeerMove::Fin)),
        Ok(n) => Ok(Watch::Moved(PeerMove::Data { bytes: n })),
        Err(e) if e.raw_os_error() == Some(errno::ECONNRESET) => Ok(Watch::Reset(t0.elapsed())),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Watch::Quiet),
        Err(e) => Err(e),
    }
}

/// Close a connection: abortively (RST, no `TIME_WAIT` on our side) or
/// gracefully (FIN; our side then holds `TIME_WAIT` for `2MSL`).
pub fn close(s: Socket, rst: bool) {
    if rst {
        let _ = s.set_linger(Some(Duration::ZERO));
    }
    drop(s);
}

/// Handshake statistics in milliseconds (min/avg/max/mdev/p95).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub min_ms: f64,
    pub avg_ms: f64,
    pub max_ms: f64,
    pub mdev_ms: f64,
    pub p95_ms: f64,
}

impl Summary {
    pub fn of(samples_us: &[f64]) -> Option<Summary> {
        if samples_us.is_empty() {
            return None;
        }
        let mut v: Vec<f64> = samples_us.iter().map(|x| x / 1e3).collect();
        v.sort_by(f64::total_cmp);
        let s = crate::output::stats::Spread::of_ms(&v)?;
        // Nearest-rank p95.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a rank in 1..=len: positive, clamped, len far below 2^52"
        )]
        let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(Summary {
            min_ms: s.min_ms,
            avg_ms: s.avg_ms,
            max_ms: s.max_ms,
            mdev_ms: s.mdev_ms,
            p95_ms: v[rank - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ConnectOpts {
        ConnectOpts {
            timeout: Duration::from_secs(2),
            iface: None,
            source: None,
            observe: Duration::from_millis(50),
        }
    }

    #[test]
    fn open_port_on_loopback() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = attempt(l.local_addr().unwrap(), &opts()).unwrap();
        assert!(a.outcome.is_open(), "{:?}", a.outcome);
        assert!(a.socket.is_some());
    }

    #[test]
    fn closed_port_is_refused_by_rst() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let a = attempt(SocketAddr::from(([127, 0, 0, 1], port)), &opts()).unwrap();
        assert!(
            matches!(a.outcome, Outcome::RefusedRst { .. }),
            "{:?}",
            a.outcome
        );
    }

    #[test]
    fn icmp_codes_are_classified() {
        let e = io::Error::from_raw_os_error(errno::EHOSTUNREACH);
        let q = |t, c| {
            Some(QueuedError {
                errno: errno::EHOSTUNREACH,
                origin: SO_EE_ORIGIN_ICMP,
                icmp_type: t,
                icmp_code: c,
                offender: Some(IpAddr::from([203, 0, 113, 1])),
                dest: None,
                arrived: None,
            })
        };
        let d = Duration::from_millis(1);
        assert!(matches!(
            classify(&e, q(3, 3), d),
            Outcome::RefusedIcmp { .. }
        ));
        assert!(matches!(
            classify(&e, q(3, 1), d),
            Outcome::HostUnreachable { .. }
        ));
        assert!(matches!(
            classify(&e, q(3, 0), d),
            Outcome::NetworkUnreachable { .. }
        ));
        assert!(matches!(
            classify(&e, q(3, 13), d),
            Outcome::AdminProhibited { .. }
        ));
        let refused = io::Error::from_raw_os_error(errno::ECONNREFUSED);
        assert!(matches!(
            classify(&refused, None, d),
            Outcome::RefusedRst { .. }
        ));
        let netu = io::Error::from_raw_os_error(errno::ENETUNREACH);
        assert!(matches!(
            classify(&netu, None, d),
            Outcome::NetworkUnreachable { icmp: None, .. }
        ));
    }

    #[test]
    fn summary_percentiles() {
        let s = Summary::of(&(1..=100).map(|x| f64::from(x) * 1000.0).collect::<Vec<_>>()).unwrap();
        assert_eq!((s.min_ms, s.max_ms, s.p95_ms), (1.0, 100.0, 95.0));
        assert!((s.avg_ms - 50.5).abs() < 1e-9);
        assert!(Summary::of(&[]).is_none());
    }
}
