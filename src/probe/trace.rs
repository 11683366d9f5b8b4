//! `nettool probe --trace`: where on the path does a SYN die?
//!
//! Each probe is an ordinary non-blocking TCP connect whose SYN leaves with
//! a small TTL / hop limit (`IP_TTL`, `IPV6_UNICAST_HOPS`): no raw socket,
//! no root. The router where the TTL runs out sends ICMP time exceeded;
//! Linux aborts the `SYN_SENT` connect with `EHOSTUNREACH` (`tcp_v4_err`,
//! `tcp_v6_err`) and, with `IP_RECVERR`, queues the ICMP message with the
//! router's address: that is the hop's answer. Once the TTL is high enough
//! the destination answers with SYN-ACK (open) or RST (closed), a firewall
//! with an ICMP unreachable, and a drop with silence.
//!
//! [`Schedule`] is the pure part: which probe goes next (probes are
//! pipelined across hops, at most [`IN_FLIGHT`] at once and never past the
//! hop where the trace must end by then), which hops are complete (handed
//! out in order), and when the trace is over. [`run`] drives it over
//! sockets and the clock. Every socket a probe opened is closed by the end
//! of `run`; a connection that completed is closed with RST at once.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use serde::Serialize;
use socket2::{SockAddr, Socket};

use super::{ConnectOpts, Icmp, IcmpKind, ProbeError};
use crate::neigh;
use crate::sys::errqueue::{SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6};
use crate::sys::poll::{POLLOUT, PollFd, poll_many};
use crate::sys::{self, QueuedError, errno};
use crate::wire::rtnetlink::{NudState, RouteType};

/// Probes in flight at once, over all hops: traceroute's default (`-N 16`).
/// Enough to probe the five hops past the last one that answered (with
/// `-q 3`) in one go, so silent hops cost about one timeout, not one each.
pub const IN_FLIGHT: usize = 16;

/// A validated trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub target: SocketAddr,
    /// The highest TTL / hop limit to try, 1-255.
    pub max_hops: u8,
    /// Probes per hop, at least 1.
    pub queries: u8,
    /// Stop after this many silent hops in a row, at least 1.
    pub max_silent: u8,
    /// Interface, source address and each probe's wait (`timeout`); the
    /// `observe` time is not used.
    pub connect: ConnectOpts,
}

/// The kinds of ICMP destination unreachable a trace names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreachable {
    Port,
    Host,
    Net,
    AdminProhibited,
    Other,
}

impl Unreachable {
    /// As printed: "port unreachable", "admin prohibited", ...
    pub fn words(self) -> &'static str {
        match self {
            Unreachable::Port => "port unreachable",
            Unreachable::Host => "host unreachable",
            Unreachable::Net => "net unreachable",
            Unreachable::AdminProhibited => "admin prohibited",
            Unreachable::Other => "unreachable",
        }
    }
}

/// How one probe was answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    /// ICMP time exceeded: a router on the way, where the TTL ran out.
    TimeExceeded {
        from: IpAddr,
        rtt_ms: f64,
        icmp: Icmp,
    },
    /// SYN-ACK: the destination accepts (the connection is reset at once).
    SynAck { from: IpAddr, rtt_ms: f64 },
    /// RST: the destination (or something answering for it) refuses.
    Rst { from: IpAddr, rtt_ms: f64 },
    /// ICMP destination unreachable; or, with `icmp` and `from` null, our
    /// own kernel's (no route, no ARP / NDP answer).
    Unreachable {
        kind: Unreachable,
        from: Option<IpAddr>,
        rtt_ms: f64,
        icmp: Option<Icmp>,
    },
    /// Anything else the kernel said.
    Error { rtt_ms: f64, error: String },
    /// No answer within the timeout.
    None { waited_ms: f64 },
}

impl Reply {
    /// Whether anything answered.
    pub fn answered(&self) -> bool {
        !matches!(self, Reply::None { .. })
    }

    /// Whether this answer ends the trace: anything but a router's time
    /// exceeded, or silence.
    pub fn ends(&self) -> bool {
        !matches!(self, Reply::None { .. } | Reply::TimeExceeded { .. })
    }

    /// Who answered, when known.
    pub fn from(&self) -> Option<IpAddr> {
        match self {
            Reply::TimeExceeded { from, .. }
            | Reply::SynAck { from, .. }
            | Reply::Rst { from, .. } => Some(*from),
            Reply::Unreachable { from, .. } => *from,
            Reply::Error { .. } | Reply::None { .. } => None,
        }
    }

    /// The round trip, for an answer.
    pub fn rtt_ms(&self) -> Option<f64> {
        match self {
            Reply::TimeExceeded { rtt_ms, .. }
            | Reply::SynAck { rtt_ms, .. }
            | Reply::Rst { rtt_ms, .. }
            | Reply::Unreachable { rtt_ms, .. }
            | Reply::Error { rtt_ms, .. } => Some(*rtt_ms),
            Reply::None { .. } => None,
        }
    }

    /// Which ending reply names a hop's verdict when its probes differ:
    /// the destination's own answer first.
    fn rank(&self) -> u8 {
        match self {
            Reply::SynAck { .. } => 0,
            Reply::Rst { .. } => 1,
            Reply::Unreachable { .. } => 2,
            Reply::Error { .. } => 3,
            Reply::TimeExceeded { .. } | Reply::None { .. } => 4,
        }
    }
}

/// One hop: its probes' replies, in the order they were sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hop {
    /// The TTL / hop limit of its probes, 1 for the first.
    pub hop: u8,
    pub probes: Vec<Reply>,
}

/// How the trace ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Ending {
    /// SYN-ACK from the destination.
    Open { hop: u8, from: IpAddr },
    /// RST from the destination: nothing listens.
    Closed { hop: u8, from: IpAddr },
    /// An ICMP destination unreachable (or our kernel's own).
    Unreachable {
        hop: u8,
        kind: Unreachable,
        from: Option<IpAddr>,
        /// The earlier hop whose router sent it, when it is one of them (a
        /// router's forward chain rejects what it would forward).
        from_hop: Option<u8>,
        icmp: Option<Icmp>,
    },
    /// Our kernel failed the probe otherwise.
    Error { hop: u8, error: String },
    /// `silent_hops` hops in a row did not answer after `after_hop` (the
    /// last that did, with `last_from`), none when no hop answered.
    Silent {
        after_hop: Option<u8>,
        last_from: Option<IpAddr>,
        silent_hops: u8,
    },
    /// The last hop tried answered only with time exceeded (or fewer than
    /// `--max-silent` hops were silent at the end).
    MaxHops {
        max_hops: u8,
        last_hop: Option<u8>,
        last_from: Option<IpAddr>,
    },
    /// Ctrl-C (after the report's `hops`).
    Interrupted,
}

/// The trace, as it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub target: SocketAddr,
    #[serde(flatten)]
    pub ending: Ending,
    /// Hops listed (handed out as events).
    pub hops: u8,
    pub probes_sent: u32,
    pub elapsed_s: f64,
    /// Asked only when no hop answered at all: the destination is on a
    /// directly connected network, so there was no router to hear from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_link: Option<OnLink>,
}

/// A destination on a directly connected network, as the kernel's route
/// and neighbour table (ARP / NDP) see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnLink {
    pub iface: String,
    /// The neighbour entry's state, when there is one: `failed` or
    /// `incomplete` means no host answered ARP / NDP at that address.
    pub neighbour: Option<NudState>,
}

impl OnLink {
    /// No host answered the kernel's ARP / NDP for the address.
    pub fn nobody(&self) -> bool {
        matches!(
            self.neighbour,
            Some(NudState::Failed | NudState::Incomplete)
        )
    }
}

/// The route to `s.target` when it has no gateway, with the neighbour
/// entry on its interface; `None` when it goes through a router, or the
/// kernel cannot be asked.
fn on_link(s: &Settings) -> Option<OnLink> {
    let ip = s.target.ip().to_canonical();
    let scope = match s.target {
        SocketAddr::V6(a) if a.scope_id() != 0 => Some(a.scope_id()),
        _ => None,
    };
    let oif = s
        .connect
        .iface
        .as_deref()
        .and_then(sys::interface_index)
        .or(scope);
    let route = neigh::route_to(ip, oif).ok()?;
    if route.kind != RouteType::Unicast || route.gateway.is_some() {
        return None;
    }
    let ifindex = route.oif?;
    let neighbour = neigh::lookup(ip, ifindex).ok().flatten().map(|n| n.state);
    Some(OnLink {
        iface: sys::interface_name(ifindex).unwrap_or_else(|| format!("if{ifindex}")),
        neighbour,
    })
}

impl Report {
    /// Exit 0? The destination answered SYN-ACK.
    pub fn passed(&self) -> bool {
        matches!(self.ending, Ending::Open { .. })
    }
}

/// What `run` says while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The setup checked out; the first probes go next.
    Started,
    /// A hop is complete (hops come in order).
    Hop(Hop),
}

/// Which probe goes next and when the trace is over: no sockets, no clock.
#[derive(Debug)]
pub struct Schedule {
    max_hops: u8,
    queries: u8,
    max_silent: u8,
    cap: usize,
    /// `replies[h - 1][q]`, for every hop with a probe sent.
    replies: Vec<Vec<Option<Reply>>>,
    /// The next probe to send: (hop, query); `None` past hop 255.
    next: Option<(u8, u8)>,
    in_flight: usize,
    /// Hops handed out by [`Schedule::take_hops`].
    done: u8,
    /// The highest hop any probe of which was answered.
    highest_answer: u8,
    /// The lowest hop with an answer that ends the trace.
    first_end: Option<u8>,
    silent_run: u8,
    /// The last complete hop that answered, and who.
    last_answer: Option<(u8, Option<IpAddr>)>,
    ending: Option<Ending>,
}

impl Schedule {
    /// `max_hops`, `queries`, `max_silent` and `cap` at least 1.
    pub fn new(max_hops: u8, queries: u8, max_silent: u8, cap: usize) -> Schedule {
        Schedule {
            max_hops: max_hops.max(1),
            queries: queries.max(1),
            max_silent: max_silent.max(1),
            cap: cap.max(1),
            replies: Vec::new(),
            next: Some((1, 0)),
            in_flight: 0,
            done: 0,
            highest_answer: 0,
            first_end: None,
            silent_run: 0,
            last_answer: None,
            ending: None,
        }
    }

    /// The last hop worth a probe now: the trace ends by then whatever
    /// the probes in flight say.
    fn horizon(&self) -> u8 {
        let mut h = self
            .max_hops
            .min(self.highest_answer.saturating_add(self.max_silent));
        if let Some(end) = self.first_end {
            h = h.min(end);
        }
        h
    }

    /// The probe to send now, as (hop, query index), if any: `None` when
    /// [`IN_FLIGHT`] (the cap) are out, the next hop is past the horizon,
    /// or the trace is over.
    pub fn next_probe(&mut self) -> Option<(u8, u8)> {
        if self.ending.is_some() || self.in_flight >= self.cap {
            return None;
        }
        let (hop, q) = self.next?;
        if hop > self.horizon() {
            return None;
        }
        if q == 0 {
            self.replies.push(vec![None; usize::from(self.queries)]);
        }
        self.next = if q + 1 < self.queries {
            Some((hop, q + 1))
        } else {
            hop.checked_add(1).map(|h| (h, 0))
        };
        self.in_flight += 1;
        Some((hop, q))
    }

    /// A probe's reply. A probe not sent, or recorded twice, is ignored.
    pub fn record(&mut self, hop: u8, q: u8, reply: Reply) {
        let Some(slot) = usize::from(hop)
            .checked_sub(1)
            .and_then(|h| self.replies.get_mut(h))
            .and_then(|r| r.get_mut(usize::from(q)))
        else {
            return;
        };
        if slot.is_some() {
            return;
        }
        if reply.answered() {
            self.highest_answer = self.highest_answer.max(hop);
        }
        if reply.ends() {
            self.first_end = Some(self.first_end.map_or(hop, |e| e.min(hop)));
        }
        *slot = Some(reply);
        self.in_flight -= 1;
    }

    /// Probes sent and not yet recorded.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The hops complete since the last call, in order; the ending is
    /// decided here, at the first hop that brings it.
    pub fn take_hops(&mut self) -> Vec<Hop> {
        let mut out = Vec::new();
        while self.ending.is_none() {
            let h = self.done.saturating_add(1);
            let Some(replies) = self.replies.get(usize::from(h) - 1) else {
                break;
            };
            if replies.iter().any(Option::is_none) {
                break;
            }
            let probes: Vec<Reply> = replies.iter().flatten().cloned().collect();
            self.done = h;
            self.conclude(h, &probes);
            out.push(Hop { hop: h, probes });
        }
        out
    }

    /// Whether hop `h` (with `probes`) ends the trace, after the hops
    /// before it.
    fn conclude(&mut self, h: u8, probes: &[Reply]) {
        if let Some(end) = probes.iter().filter(|r| r.ends()).min_by_key(|r| r.rank()) {
            self.ending = Some(match end {
                Reply::SynAck { from, .. } => Ending::Open {
                    hop: h,
                    from: *from,
                },
                Reply::Rst { from, .. } => Ending::Closed {
                    hop: h,
                    from: *from,
                },
                Reply::Unreachable {
                    kind, from, icmp, ..
                } => Ending::Unreachable {
                    hop: h,
                    kind: *kind,
                    from: *from,
                    from_hop: from.and_then(|f| self.hop_of(f, h)),
                    icmp: *icmp,
                },
                Reply::Error { error, .. } => Ending::Error {
                    hop: h,
                    error: error.clone(),
                },
                Reply::TimeExceeded { .. } | Reply::None { .. } => unreachable!("filtered"),
            });
            return;
        }
        if probes.iter().any(Reply::answered) {
            self.silent_run = 0;
            self.last_answer = Some((h, probes.iter().find_map(Reply::from)));
        } else {
            self.silent_run += 1;
            if self.silent_run >= self.max_silent {
                self.ending = Some(Ending::Silent {
                    after_hop: self.last_answer.map(|(h, _)| h),
                    last_from: self.last_answer.and_then(|(_, f)| f),
                    silent_hops: self.silent_run,
                });
                return;
            }
        }
        if h >= self.max_hops {
            self.ending = Some(Ending::MaxHops {
                max_hops: self.max_hops,
                last_hop: self.last_answer.map(|(h, _)| h),
                last_from: self.last_answer.and_then(|(_, f)| f),
            });
        }
    }

    /// The hop before `before` whose router at `addr` answered with
    /// time exceeded.
    fn hop_of(&self, addr: IpAddr, before: u8) -> Option<u8> {
        (1..before).find(|&h| {
            self.replies[usize::from(h) - 1]
                .iter()
                .flatten()
                .any(|x| matches!(x, Reply::TimeExceeded { from, .. } if *from == addr))
        })
    }

    /// Stop here (Ctrl-C).
    pub fn interrupt(&mut self) {
        if self.ending.is_none() {
            self.ending = Some(Ending::Interrupted);
        }
    }

    pub fn ending(&self) -> Option<&Ending> {
        self.ending.as_ref()
    }

    /// Hops handed out so far.
    pub fn hops_done(&self) -> u8 {
        self.done
    }
}

/// Milliseconds, to the microsecond (what a user-space clock can claim).
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// ICMP time exceeded: IPv4 type 11, `ICMPv6` type 3.
fn is_time_exceeded(i: &Icmp) -> bool {
    matches!((i.version, i.icmp_type), (4, 11) | (6, 3))
}

/// A failed connect, with what the error queue says, as a probe's reply.
fn reply_of(err: &io::Error, queued: Option<QueuedError>, rtt: Duration, target: IpAddr) -> Reply {
    let rtt_ms = ms(rtt);
    let icmp = queued
        .filter(|q| q.origin == SO_EE_ORIGIN_ICMP || q.origin == SO_EE_ORIGIN_ICMP6)
        .map(|q| Icmp {
            version: if q.origin == SO_EE_ORIGIN_ICMP6 { 6 } else { 4 },
            icmp_type: q.icmp_type,
            code: q.icmp_code,
            from: q.offender,
        });
    if let Some(i) = icmp {
        if let (true, Some(from)) = (is_time_exceeded(&i), i.from) {
            return Reply::TimeExceeded {
                from,
                rtt_ms,
                icmp: i,
            };
        }
        let kind = match IcmpKind::of(&i) {
            IcmpKind::PortUnreachable => Unreachable::Port,
            IcmpKind::HostUnreachable => Unreachable::Host,
            IcmpKind::NetUnreachable => Unreachable::Net,
            IcmpKind::Prohibited => Unreachable::AdminProhibited,
            IcmpKind::Other => Unreachable::Other,
        };
        return Reply::Unreachable {
            kind,
            from: i.from,
            rtt_ms,
            icmp: Some(i),
        };
    }
    let local = |kind| Reply::Unreachable {
        kind,
        from: None,
        rtt_ms,
        icmp: None,
    };
    match err.raw_os_error() {
        Some(errno::ECONNREFUSED) => Reply::Rst {
            from: target,
            rtt_ms,
        },
        // The handshake completed and a RST came before we looked: the
        // destination was reached and accepted.
        Some(errno::ECONNRESET) => Reply::SynAck {
            from: target,
            rtt_ms,
        },
        Some(errno::ENETUNREACH) => local(Unreachable::Net),
        Some(errno::EHOSTUNREACH) => local(Unreachable::Host),
        _ => Reply::Error {
            rtt_ms,
            error: err.to_string(),
        },
    }
}

/// A socket for `target` whose SYN leaves with TTL / hop limit `hop`.
fn probe_socket(target: SocketAddr, o: &ConnectOpts, hop: u8) -> io::Result<Socket> {
    let s = super::new_socket(target, o)?;
    if target.is_ipv6() {
        s.set_unicast_hops_v6(u32::from(hop))?;
    } else {
        s.set_ttl_v4(u32::from(hop))?;
    }
    Ok(s)
}

/// A probe on its way.
struct Live {
    hop: u8,
    q: u8,
    sock: Socket,
    t0: Instant,
}

/// Send one probe: on its way, or already answered by our own kernel.
fn launch(s: &Settings, hop: u8, q: u8) -> io::Result<Result<Live, Reply>> {
    let sock = probe_socket(s.target, &s.connect, hop)?;
    let addr: SockAddr = s.target.into();
    let t0 = Instant::now();
    match sock.connect(&addr) {
        Err(e) if e.raw_os_error() == Some(errno::EINPROGRESS) => {}
        Ok(()) => {
            super::close(sock, true);
            return Ok(Err(Reply::SynAck {
                from: s.target.ip(),
                rtt_ms: ms(t0.elapsed()),
            }));
        }
        Err(e) => {
            let queued = sys::take_queued_error(sock.as_fd());
            return Ok(Err(reply_of(&e, queued, t0.elapsed(), s.target.ip())));
        }
    }
    Ok(Ok(Live { hop, q, sock, t0 }))
}

/// A probe whose socket woke: connected, or failed with the reason.
fn finish(l: Live, rtt: Duration, target: IpAddr) -> Reply {
    match l.sock.take_error() {
        Ok(None) => {
            super::close(l.sock, true);
            Reply::SynAck {
                from: target,
                rtt_ms: ms(rtt),
            }
        }
        Ok(Some(e)) => {
            let queued = sys::take_queued_error(l.sock.as_fd());
            reply_of(&e, queued, rtt, target)
        }
        Err(e) => Reply::Error {
            rtt_ms: ms(rtt),
            error: e.to_string(),
        },
    }
}

/// Trace the path to `s.target`, calling `on_event` as hops complete.
///
/// # Errors
/// [`ProbeError::Setup`] before anything is emitted when a socket cannot
/// be set up (and later when no socket can be opened, e.g. out of file
/// descriptors); [`ProbeError::Test`] when waiting on the sockets fails;
/// [`ProbeError::Output`] with the callback's error, at once.
pub fn run(
    s: &Settings,
    on_event: &mut impl FnMut(Event) -> io::Result<()>,
) -> Result<Report, ProbeError> {
    let setup = |error| ProbeError::Setup {
        target: s.target,
        error,
    };
    probe_socket(s.target, &s.connect, 1)
        .map(drop)
        .map_err(setup)?;
    sys::catch_interrupt();
    on_event(Event::Started).map_err(ProbeError::Output)?;
    let started = Instant::now();
    let mut sched = Schedule::new(s.max_hops, s.queries, s.max_silent, IN_FLIGHT);
    let mut live: Vec<Live> = Vec::new();
    let mut sent = 0u32;
    let timeout = s.connect.timeout;
    loop {
        while let Some((hop, q)) = sched.next_probe() {
            sent += 1;
            match launch(s, hop, q).map_err(setup)? {
                Ok(l) => live.push(l),
                Err(reply) => sched.record(hop, q, reply),
            }
        }
        for h in sched.take_hops() {
            on_event(Event::Hop(h)).map_err(ProbeError::Output)?;
        }
        if sched.ending().is_some() {
            break;
        }
        if sys::interrupted() || live.is_empty() {
            // Nothing in flight and no ending cannot happen (the horizon
            // is where the trace ends at the latest); stop all the same.
            sched.interrupt();
            break;
        }
        let now = Instant::now();
        let wait = live
            .iter()
            .map(|l| (l.t0 + timeout).saturating_duration_since(now))
            .min();
        let mut fds: Vec<PollFd<'_>> = live
            .iter()
            .map(|l| PollFd::new(l.sock.as_fd(), POLLOUT))
            .collect();
        match poll_many(&mut fds, wait) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                sched.interrupt();
                break;
            }
            Err(e) => return Err(ProbeError::Test(e)),
        }
        let mut revents: Vec<i16> = fds.iter().map(PollFd::revents).collect();
        drop(fds);
        let now = Instant::now();
        let mut i = 0;
        while i < live.len() {
            let waited = now - live[i].t0;
            if revents[i] == 0 && waited < timeout {
                i += 1;
                continue;
            }
            let l = live.swap_remove(i);
            let woke = revents.swap_remove(i) != 0;
            let (hop, q) = (l.hop, l.q);
            let reply = if woke {
                finish(l, waited, s.target.ip())
            } else {
                // Closing a SYN_SENT socket sends nothing.
                drop(l);
                Reply::None {
                    waited_ms: ms(waited),
                }
            };
            sched.record(hop, q, reply);
        }
    }
    drop(live);
    let ending = sched.ending().cloned().unwrap_or(Ending::Interrupted);
    let on_link = match ending {
        Ending::Silent {
            after_hop: None, ..
        } => on_link(s),
        _ => None,
    };
    Ok(Report {
        target: s.target,
        ending,
        hops: sched.hops_done(),
        probes_sent: sent,
        elapsed_s: started.elapsed().as_secs_f64(),
        on_link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(last: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, last])
    }

    fn te(last: u8) -> Reply {
        Reply::TimeExceeded {
            from: router(last),
            rtt_ms: 0.1,
            icmp: Icmp {
                version: 4,
                icmp_type: 11,
                code: 0,
                from: Some(router(last)),
            },
        }
    }

    fn none() -> Reply {
        Reply::None { waited_ms: 1000.0 }
    }

    fn syn_ack() -> Reply {
        Reply::SynAck {
            from: router(14),
            rtt_ms: 0.2,
        }
    }

    #[test]
    fn routers_then_syn_ack_ends_open_at_that_hop() {
        let path = |h: u8| if h < 4 { te(4 * h - 2) } else { syn_ack() };
        // The first batch goes no further than max_silent hops.
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT);
        let first: Vec<_> = std::iter::from_fn(|| s.next_probe()).collect();
        assert_eq!(first.len(), 15);
        assert_eq!(first.last(), Some(&(5, 2)));
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT);
        let hops = drive_until(&mut s, path);
        assert_eq!(hops.len(), 4);
        for (i, h) in hops.iter().enumerate() {
            assert_eq!(usize::from(h.hop), i + 1);
            assert_eq!(h.probes.len(), 3);
        }
        assert_eq!(hops[2].probes[0].from(), Some(router(10)));
        assert_eq!(
            s.ending(),
            Some(&Ending::Open {
                hop: 4,
                from: router(14)
            })
        );
        assert_eq!(s.next_probe(), None, "nothing after the end");
    }

    /// Sends every probe the schedule allows, answering each with
    /// `answer(hop)`, until it ends; returns the hops handed out.
    fn drive_until(s: &mut Schedule, answer: impl Fn(u8) -> Reply) -> Vec<Hop> {
        let mut hops = Vec::new();
        while s.ending().is_none() {
            let batch: Vec<_> = std::iter::from_fn(|| s.next_probe()).collect();
            assert!(!batch.is_empty(), "stuck: {s:?}");
            assert!(s.in_flight() <= IN_FLIGHT);
            for (h, q) in batch {
                s.record(h, q, answer(h));
            }
            hops.extend(s.take_hops());
        }
        hops
    }

    #[test]
    fn silence_after_a_hop_ends_after_max_silent_hops() {
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT);
        let hops = drive_until(&mut s, |h| if h <= 3 { te(4 * h - 2) } else { none() });
        assert_eq!(hops.len(), 8, "hops 4-8 listed silent");
        assert!(
            hops[3..]
                .iter()
                .all(|h| h.probes.iter().all(|p| !p.answered()))
        );
        assert_eq!(
            s.ending(),
            Some(&Ending::Silent {
                after_hop: Some(3),
                last_from: Some(router(10)),
                silent_hops: 5
            })
        );
        let mut s = Schedule::new(30, 1, 2, IN_FLIGHT);
        let _ = drive_until(&mut s, |_| none());
        assert_eq!(
            s.ending(),
            Some(&Ending::Silent {
                after_hop: None,
                last_from: None,
                silent_hops: 2
            })
        );
    }

    #[test]
    fn a_silent_router_in_the_middle_does_not_end_it() {
        let mut s = Schedule::new(30, 3, 2, IN_FLIGHT);
        let hops = drive_until(&mut s, |h| match h {
            2 => none(),
            5 => syn_ack(),
            h => te(h),
        });
        assert_eq!(hops.len(), 5);
        assert!(matches!(s.ending(), Some(Ending::Open { hop: 5, .. })));
    }

    #[test]
    fn a_reject_by_an_earlier_router_names_its_hop() {
        let mut s = Schedule::new(30, 2, 5, IN_FLIGHT);
        let prohibited = Reply::Unreachable {
            kind: Unreachable::AdminProhibited,
            from: Some(router(10)),
            rtt_ms: 0.3,
            icmp: Some(Icmp {
                version: 4,
                icmp_type: 3,
                code: 13,
                from: Some(router(10)),
            }),
        };
        let _ = drive_until(&mut s, |h| match h {
            1..=3 => te(4 * h - 2),
            _ => prohibited.clone(),
        });
        assert_eq!(
            s.ending(),
            Some(&Ending::Unreachable {
                hop: 4,
                kind: Unreachable::AdminProhibited,
                from: Some(router(10)),
                from_hop: Some(3),
                icmp: Some(Icmp {
                    version: 4,
                    icmp_type: 3,
                    code: 13,
                    from: Some(router(10))
                }),
            })
        );
    }

    #[test]
    fn max_hops_ends_it_and_nothing_goes_past() {
        let mut s = Schedule::new(3, 3, 5, IN_FLIGHT);
        let hops = drive_until(&mut s, te);
        assert_eq!(hops.len(), 3);
        assert_eq!(
            s.ending(),
            Some(&Ending::MaxHops {
                max_hops: 3,
                last_hop: Some(3),
                last_from: Some(router(3))
            })
        );
        assert_eq!(s.next_probe(), None);
        // 255 hops of routers: the TTL never wraps, and not one probe
        // more than 255 x 2 goes out.
        let mut s = Schedule::new(255, 2, 1, IN_FLIGHT);
        let mut sent = 0;
        let mut last = 0;
        while s.ending().is_none() {
            let batch: Vec<_> = std::iter::from_fn(|| s.next_probe()).collect();
            assert!(!batch.is_empty(), "stuck at {sent}");
            for (h, q) in batch {
                sent += 1;
                s.record(h, q, te(h));
            }
            last = s.take_hops().last().map_or(last, |h| h.hop);
        }
        assert_eq!((sent, last), (510, 255));
        assert_eq!(s.in_flight(), 0);
        assert_eq!(s.next_probe(), None);
        assert!(matches!(
            s.ending(),
            Some(Ending::MaxHops { max_hops: 255, .. })
        ));
    }

    #[test]
    fn hops_come_in_order_whatever_order_replies_come_in() {
        let mut s = Schedule::new(30, 2, 5, IN_FLIGHT);
        let batch: Vec<_> = std::iter::from_fn(|| s.next_probe()).collect();
        assert_eq!(batch.len(), 10);
        // Hop 2 answers first: nothing is complete until hop 1 is.
        s.record(2, 0, te(6));
        s.record(2, 1, te(6));
        assert!(s.take_hops().is_empty());
        s.record(1, 1, te(2));
        assert!(s.take_hops().is_empty());
        // Recorded twice, or never sent: ignored.
        s.record(1, 1, none());
        s.record(9, 0, te(9));
        s.record(0, 0, te(9));
        s.record(1, 0, none());
        let hops = s.take_hops();
        assert_eq!(hops.iter().map(|h| h.hop).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(hops[0].probes, vec![none(), te(2)]);
        assert_eq!(s.in_flight(), 6);
    }

    #[test]
    fn the_window_bounds_probes_in_flight() {
        let mut s = Schedule::new(30, 10, 255, IN_FLIGHT);
        let batch: Vec<_> = std::iter::from_fn(|| s.next_probe()).collect();
        assert_eq!(batch.len(), IN_FLIGHT);
        s.record(1, 0, te(1));
        assert_eq!(s.next_probe(), Some((2, 6)));
        assert_eq!(s.next_probe(), None);
    }

    #[test]
    fn errors_and_queued_icmp_become_replies() {
        let target = router(14);
        let rtt = Duration::from_micros(1500);
        let e = |n| io::Error::from_raw_os_error(n);
        let q = |origin, t, c, from: [u8; 4]| {
            Some(QueuedError {
                errno: errno::EHOSTUNREACH,
                origin,
                icmp_type: t,
                icmp_code: c,
                offender: Some(IpAddr::from(from)),
                dest: None,
            })
        };
        assert_eq!(
            reply_of(
                &e(errno::EHOSTUNREACH),
                q(SO_EE_ORIGIN_ICMP, 11, 0, [198, 51, 100, 6]),
                rtt,
                target
            ),
            Reply::TimeExceeded {
                from: router(6),
                rtt_ms: 1.5,
                icmp: Icmp {
                    version: 4,
                    icmp_type: 11,
                    code: 0,
                    from: Some(router(6))
                }
            }
        );
        let v6 = reply_of(
            &e(errno::EHOSTUNREACH),
            Some(QueuedError {
                errno: errno::EHOSTUNREACH,
                origin: SO_EE_ORIGIN_ICMP6,
                icmp_type: 3,
                icmp_code: 0,
                offender: Some("2001:db8:1::2".parse().unwrap()),
                dest: None,
            }),
            rtt,
            target,
        );
        assert!(
            matches!(v6, Reply::TimeExceeded { from, .. } if from == "2001:db8:1::2".parse::<IpAddr>().unwrap())
        );
        for ((t, c), kind) in [
            ((3, 3), Unreachable::Port),
            ((3, 1), Unreachable::Host),
            ((3, 0), Unreachable::Net),
            ((3, 13), Unreachable::AdminProhibited),
            ((3, 4), Unreachable::Other),
        ] {
            let r = reply_of(
                &e(errno::EHOSTUNREACH),
                q(SO_EE_ORIGIN_ICMP, t, c, [198, 51, 100, 10]),
                rtt,
                target,
            );
            assert!(
                matches!(r, Reply::Unreachable { kind: k, from: Some(_), .. } if k == kind),
                "{t}/{c}: {r:?}"
            );
            assert!(r.ends());
        }
        assert_eq!(
            reply_of(&e(errno::ECONNREFUSED), None, rtt, target),
            Reply::Rst {
                from: target,
                rtt_ms: 1.5
            }
        );
        assert!(matches!(
            reply_of(&e(errno::ENETUNREACH), None, rtt, target),
            Reply::Unreachable {
                kind: Unreachable::Net,
                from: None,
                icmp: None,
                ..
            }
        ));
        assert!(matches!(
            reply_of(&e(errno::EACCES), None, rtt, target),
            Reply::Error { .. }
        ));
    }

    fn loopback(port: u16) -> Settings {
        Settings {
            target: SocketAddr::from(([127, 0, 0, 1], port)),
            max_hops: 30,
            queries: 3,
            max_silent: 5,
            connect: ConnectOpts {
                timeout: Duration::from_secs(2),
                iface: None,
                source: None,
                observe: Duration::ZERO,
            },
        }
    }

    #[test]
    fn a_listener_on_loopback_is_open_at_hop_1() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = loopback(l.local_addr().unwrap().port());
        let mut events = Vec::new();
        let r = run(&s, &mut |e| {
            events.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        let Event::Hop(h) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(h.hop, 1);
        assert!(
            h.probes.iter().all(|p| matches!(p, Reply::SynAck { .. })),
            "{h:?}"
        );
        assert_eq!(
            r.ending,
            Ending::Open {
                hop: 1,
                from: IpAddr::from([127, 0, 0, 1])
            }
        );
        assert!(r.passed());
        assert_eq!(r.hops, 1);
    }

    #[test]
    fn a_closed_port_on_loopback_is_closed_at_hop_1() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let r = run(&loopback(port), &mut |_| Ok(())).unwrap();
        assert!(matches!(r.ending, Ending::Closed { hop: 1, .. }), "{r:?}");
        assert!(!r.passed());
    }
}
