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
//! [`Schedule`] is the pure part (the clock is passed in): which probe
//! goes next (hop by hop: the next hop as soon as this one has a router's
//! time exceeded, or after a short patience without any answer, so the
//! destination sees only its own hop's probes; at most [`IN_FLIGHT`] at
//! once and never past the hop where the trace must end by then), which
//! hops are complete (handed out in order), and when the trace is over.
//! [`run`] drives it over sockets and the clock. Round trips are the
//! kernel's where it has one (the ICMP message's receive stamp, the
//! handshake's RTT sample); our own kernel's errors have none. Every
//! socket a probe opened is closed by the end of `run`; a connection that
//! completed is closed with RST at once.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use socket2::{SockAddr, Socket};

use super::{ConnectOpts, Failure, Icmp, IcmpKind, ProbeError};
use crate::neigh;
use crate::sys::poll::{POLLOUT, PollFd, poll_many};
use crate::sys::{self, QueuedError, errno};
use crate::wire::rtnetlink::{NudState, RouteType};

/// Probes in flight at once, over all hops: traceroute's default (`-N 16`).
/// Enough for the five silent hops past the last one that answered (with
/// `-q 3`) to be pending together, so they cost about one timeout.
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
    /// ICMP destination unreachable; or, with `icmp`, `from` and `rtt_ms`
    /// absent, our own kernel's (no route, no ARP / NDP answer).
    Unreachable {
        kind: Unreachable,
        from: Option<IpAddr>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rtt_ms: Option<f64>,
        icmp: Option<Icmp>,
    },
    /// Anything else our own kernel said (no round trip: nothing left).
    Error { error: String },
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

    /// The round trip, for an answer from the network.
    pub fn rtt_ms(&self) -> Option<f64> {
        match self {
            Reply::TimeExceeded { rtt_ms, .. }
            | Reply::SynAck { rtt_ms, .. }
            | Reply::Rst { rtt_ms, .. } => Some(*rtt_ms),
            Reply::Unreachable { rtt_ms, .. } => *rtt_ms,
            Reply::Error { .. } | Reply::None { .. } => None,
        }
    }

    /// Our own kernel's answer (no route, no neighbour, a local error):
    /// nothing went on the wire, or nothing came back.
    pub fn local(&self) -> bool {
        matches!(
            self,
            Reply::Error { .. } | Reply::Unreachable { icmp: None, .. }
        )
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
    /// RST in the destination's name: nothing listens there, or a
    /// firewall on the way resets the connection.
    Closed {
        hop: u8,
        from: IpAddr,
        /// The earlier hop where that same address answered time exceeded
        /// (it is a router on the path, so the RST is not the
        /// destination's own word), if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        from_hop: Option<u8>,
    },
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
    /// Asked only when the trace ended at hop 1 with our own kernel's
    /// error, or no hop answered at all: the kernel's route to the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<LocalRoute>,
}

/// Our own kernel's route toward the target, asked when the trace ended
/// at hop 1 with a local error, or with no hop answering: what `ip route
/// get` says, and the next hop's neighbour entry (ARP / NDP).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalRoute {
    /// `unicast`, or a route that refuses: `unreachable`, `prohibit`,
    /// `blackhole`, `throw`.
    pub kind: RouteType,
    /// The router the route goes through; `None` on a directly connected
    /// network.
    pub gateway: Option<IpAddr>,
    pub iface: Option<String>,
    /// The next hop's (the gateway's, or the target's on the link)
    /// neighbour entry state, when there is one: `failed` or `incomplete`
    /// means nobody answered ARP / NDP at that address.
    pub neighbour: Option<NudState>,
}

impl LocalRoute {
    /// No host answered the kernel's ARP / NDP for the next hop.
    pub fn nobody(&self) -> bool {
        matches!(
            self.neighbour,
            Some(NudState::Failed | NudState::Incomplete)
        )
    }

    /// A unicast route with no gateway: the target is on the link.
    pub fn on_link(&self) -> bool {
        self.kind == RouteType::Unicast && self.gateway.is_none()
    }
}

/// The kernel's route to `s.target` (see [`LocalRoute`]); `None` when
/// there is no route at all (`ENETUNREACH`) or the kernel cannot be asked.
fn local_route(s: &Settings) -> Option<LocalRoute> {
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
    let refusing = |kind| LocalRoute {
        kind,
        gateway: None,
        iface: None,
        neighbour: None,
    };
    // `ip route get` to a route that refuses fails with that route's
    // error (`fib_props`, `ip6_rt_type_to_error`).
    let route = match neigh::route_to(ip, oif) {
        Ok(r) => r,
        Err(e) => {
            return match e.raw_os_error() {
                Some(errno::EHOSTUNREACH) => Some(refusing(RouteType::Unreachable)),
                Some(errno::EACCES) => Some(refusing(RouteType::Prohibit)),
                Some(errno::EINVAL) => Some(refusing(RouteType::Blackhole)),
                Some(errno::EAGAIN) => Some(refusing(RouteType::Throw)),
                _ => None,
            };
        }
    };
    if route.kind != RouteType::Unicast {
        return Some(refusing(route.kind));
    }
    let ifindex = route.oif;
    let next = route.gateway.unwrap_or(ip);
    let neighbour = ifindex
        .and_then(|i| neigh::lookup(next, i).ok().flatten())
        .map(|n| n.state);
    Some(LocalRoute {
        kind: route.kind,
        gateway: route.gateway,
        iface: ifindex.map(|i| sys::interface_name(i).unwrap_or_else(|| format!("if{i}"))),
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

/// The shortest patience: before any round trip is known, and on paths
/// where every round trip is a fraction of a millisecond (a LAN, the lab),
/// a router's time exceeded still comes from its control plane, which can
/// take a scheduler tick or two; 50 ms covers that and is still a small
/// part of the default 1 s timeout.
pub const MIN_PATIENCE: Duration = Duration::from_millis(50);

/// Which probe goes next and when the trace is over: no sockets; the
/// clock is passed in (`now`).
///
/// Hops are probed one after the other, not in one window: hop h + 1's
/// probes go out as soon as hop h has a time exceeded (a router: the path
/// goes on), or once hop h has been pending without any answer for
/// [`Schedule::patience`] (it may be a silent router, or the SYN was
/// dropped). So the destination normally sees only the probes of its own
/// hop, while a run of silent hops costs one timeout plus a patience each,
/// not a timeout each.
#[derive(Debug)]
pub struct Schedule {
    max_hops: u8,
    queries: u8,
    max_silent: u8,
    cap: usize,
    /// `-W`: the patience is kept well under it.
    timeout: Duration,
    /// `replies[h - 1][q]`, for every hop with a probe sent.
    replies: Vec<Vec<Option<Reply>>>,
    /// When each hop's first probe went out.
    launched: Vec<Instant>,
    /// The next probe to send: (hop, query); `None` past hop 255.
    next: Option<(u8, u8)>,
    in_flight: usize,
    /// Hops handed out by [`Schedule::take_hops`].
    done: u8,
    /// The highest hop any probe of which was answered.
    highest_answer: u8,
    /// The lowest hop with an answer that ends the trace.
    first_end: Option<u8>,
    /// The largest round trip of an answer from the network so far.
    max_rtt: Duration,
    silent_run: u8,
    /// The last complete hop that answered, and who.
    last_answer: Option<(u8, Option<IpAddr>)>,
    ending: Option<Ending>,
}

impl Schedule {
    /// `max_hops`, `queries`, `max_silent` and `cap` at least 1; `timeout`
    /// is each probe's wait.
    pub fn new(
        max_hops: u8,
        queries: u8,
        max_silent: u8,
        cap: usize,
        timeout: Duration,
    ) -> Schedule {
        Schedule {
            max_hops: max_hops.max(1),
            queries: queries.max(1),
            max_silent: max_silent.max(1),
            cap: cap.max(1),
            timeout,
            replies: Vec::new(),
            launched: Vec::new(),
            next: Some((1, 0)),
            in_flight: 0,
            done: 0,
            highest_answer: 0,
            first_end: None,
            max_rtt: Duration::ZERO,
            silent_run: 0,
            last_answer: None,
            ending: None,
        }
    }

    /// How long a hop may stay without any answer before the next hop is
    /// probed: four times the largest round trip seen (the next hop is
    /// one link further, and a router's ICMP is slower than its
    /// forwarding), at least [`MIN_PATIENCE`], and at most a tenth of the
    /// timeout, so that five silent hops cost about 1.5 timeouts at most.
    pub fn patience(&self) -> Duration {
        (self.max_rtt * 4).max(MIN_PATIENCE).min(self.timeout / 10)
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

    /// When hop `hop` (not the first) may be probed: `Some(now)`-ish at
    /// once when the hop before has a time exceeded, after the patience
    /// when it has no answer yet, never when it ended the trace.
    fn opens_at(&self, hop: u8) -> Option<Instant> {
        let before = usize::from(hop) - 2;
        let replies = self.replies.get(before)?;
        let since = *self.launched.get(before)?;
        if replies
            .iter()
            .flatten()
            .any(|r| matches!(r, Reply::TimeExceeded { .. }))
        {
            return Some(since);
        }
        if replies.iter().flatten().any(Reply::answered) {
            // Answered, but not by a router: it ends the trace (the
            // horizon stops there) or is our kernel's own error.
            return None;
        }
        Some(since + self.patience())
    }

    /// When the next hop may be probed if nothing is answered before:
    /// the caller wakes then to call [`Schedule::next_probe`] again.
    pub fn wake_at(&self) -> Option<Instant> {
        if self.ending.is_some() {
            return None;
        }
        let (hop, q) = self.next?;
        if q != 0 || hop == 1 || hop > self.horizon() {
            return None;
        }
        self.opens_at(hop)
    }

    /// The probe to send at `now`, as (hop, query index), if any: `None`
    /// when the cap ([`IN_FLIGHT`]) is out, the next hop is past the
    /// horizon or not open yet (see [`Schedule`]), or the trace is over.
    pub fn next_probe(&mut self, now: Instant) -> Option<(u8, u8)> {
        if self.ending.is_some() || self.in_flight >= self.cap {
            return None;
        }
        let (hop, q) = self.next?;
        if hop > self.horizon() {
            return None;
        }
        if q == 0 {
            if hop > 1 && self.opens_at(hop).is_none_or(|t| now < t) {
                return None;
            }
            self.replies.push(vec![None; usize::from(self.queries)]);
            self.launched.push(now);
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
        if let Some(rtt) = reply.rtt_ms() {
            self.max_rtt = self
                .max_rtt
                .max(Duration::from_secs_f64(rtt.max(0.0) / 1e3));
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
                    from_hop: self.hop_of(*from, h),
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

/// A failed connect, with what the error queue says, as a probe's reply;
/// `rtt` is the round trip when the reply came from the network.
fn reply_of(err: &io::Error, queued: Option<QueuedError>, rtt: Duration, target: IpAddr) -> Reply {
    let rtt_ms = ms(rtt);
    let local = |kind| Reply::Unreachable {
        kind,
        from: None,
        rtt_ms: None,
        icmp: None,
    };
    match Failure::of(err, queued) {
        Failure::Icmp(i) => {
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
            Reply::Unreachable {
                kind,
                from: i.from,
                rtt_ms: Some(rtt_ms),
                icmp: Some(i),
            }
        }
        Failure::Rst => Reply::Rst {
            from: target,
            rtt_ms,
        },
        // The handshake completed and a RST came before we looked: the
        // destination was reached and accepted.
        Failure::Reset => Reply::SynAck {
            from: target,
            rtt_ms,
        },
        Failure::LocalNet => local(Unreachable::Net),
        Failure::LocalHost => local(Unreachable::Host),
        Failure::Other => Reply::Error {
            error: err.to_string(),
        },
    }
}

/// A socket for `target` whose SYN leaves with TTL / hop limit `hop`, and
/// whose queued ICMP errors carry the kernel's arrival time.
fn probe_socket(target: SocketAddr, o: &ConnectOpts, hop: u8) -> io::Result<Socket> {
    let s = super::new_socket(target, o)?;
    if target.is_ipv6() {
        s.set_unicast_hops_v6(u32::from(hop))?;
    } else {
        s.set_ttl_v4(u32::from(hop))?;
    }
    sys::set_timestamps(s.as_fd())?;
    Ok(s)
}

/// A probe on its way.
struct Live {
    hop: u8,
    q: u8,
    sock: Socket,
    t0: Instant,
    /// `t0` on the wall clock, against which the kernel stamps ICMP.
    wall0: SystemTime,
}

/// Send one probe: on its way, or already answered by our own kernel.
fn launch(s: &Settings, hop: u8, q: u8) -> io::Result<Result<Live, Reply>> {
    let sock = probe_socket(s.target, &s.connect, hop)?;
    let addr: SockAddr = s.target.into();
    let wall0 = SystemTime::now();
    let t0 = Instant::now();
    match sock.connect(&addr) {
        Err(e) if e.raw_os_error() == Some(errno::EINPROGRESS) => {}
        Ok(()) => {
            let rtt = t0.elapsed();
            super::close(sock, true);
            return Ok(Err(Reply::SynAck {
                from: s.target.ip(),
                rtt_ms: ms(rtt),
            }));
        }
        Err(e) => {
            let queued = sys::take_queued_error(sock.as_fd());
            let rtt = queued
                .and_then(|q| q.arrived)
                .and_then(|at| at.duration_since(wall0).ok())
                .unwrap_or_else(|| t0.elapsed());
            return Ok(Err(reply_of(&e, queued, rtt, s.target.ip())));
        }
    }
    Ok(Ok(Live {
        hop,
        q,
        sock,
        t0,
        wall0,
    }))
}

/// A probe whose socket woke at `now`: connected, or failed with the
/// reason. The round trip is the kernel's own measure where it has one:
/// the ICMP message's arrival stamp, the handshake's first RTT sample
/// (`tcpi_rtt`); else the wake-up time (a RST).
fn finish(l: Live, now: Instant, target: IpAddr) -> Reply {
    let woke = now.saturating_duration_since(l.t0);
    match l.sock.take_error() {
        Ok(None) => {
            let rtt = sys::tcp_info(l.sock.as_fd())
                .ok()
                .map(|i| Duration::from_micros(u64::from(i.rtt_us)))
                .filter(|r| !r.is_zero() && *r <= woke)
                .unwrap_or(woke);
            super::close(l.sock, true);
            Reply::SynAck {
                from: target,
                rtt_ms: ms(rtt),
            }
        }
        Ok(Some(e)) => {
            let queued = sys::take_queued_error(l.sock.as_fd());
            let rtt = queued
                .and_then(|q| q.arrived)
                .and_then(|at| at.duration_since(l.wall0).ok())
                .filter(|r| *r <= woke + Duration::from_millis(1))
                .unwrap_or(woke);
            reply_of(&e, queued, rtt, target)
        }
        Err(e) => Reply::Error {
            error: e.to_string(),
        },
    }
}

/// Collect the answers of the probes in flight that woke (`revents`
/// non-zero, one per probe) or whose wait ran out by `now`.
fn collect(
    live: &mut Vec<Live>,
    revents: &mut Vec<i16>,
    now: Instant,
    timeout: Duration,
    target: IpAddr,
    sched: &mut Schedule,
) {
    let mut i = 0;
    while i < live.len() {
        let waited = now.saturating_duration_since(live[i].t0);
        if revents[i] == 0 && waited < timeout {
            i += 1;
            continue;
        }
        let l = live.swap_remove(i);
        let woke = revents.swap_remove(i) != 0;
        let (hop, q) = (l.hop, l.q);
        let reply = if woke {
            finish(l, now, target)
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

/// Poll the probes in flight for up to `wait` (zero: just look), and
/// record what woke or ran out.
fn poll_live(
    live: &mut Vec<Live>,
    wait: Option<Duration>,
    timeout: Duration,
    target: IpAddr,
    sched: &mut Schedule,
) -> io::Result<()> {
    let mut fds: Vec<PollFd<'_>> = live
        .iter()
        .map(|l| PollFd::new(l.sock.as_fd(), POLLOUT))
        .collect();
    poll_many(&mut fds, wait)?;
    let mut revents: Vec<i16> = fds.iter().map(PollFd::revents).collect();
    drop(fds);
    collect(live, &mut revents, Instant::now(), timeout, target, sched);
    Ok(())
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
    // Held open to the end: it keeps the kernel's receive stamping on
    // (see `sys::set_timestamps`) between one probe's socket and the next.
    let _stamping = probe_socket(s.target, &s.connect, 1).map_err(setup)?;
    sys::catch_interrupt();
    on_event(Event::Started).map_err(ProbeError::Output)?;
    let started = Instant::now();
    let timeout = s.connect.timeout;
    let mut sched = Schedule::new(s.max_hops, s.queries, s.max_silent, IN_FLIGHT, timeout);
    let mut live: Vec<Live> = Vec::new();
    let mut sent = 0u32;
    let target = s.target.ip();
    let interrupted = |e: &io::Error| e.kind() == io::ErrorKind::Interrupted;
    loop {
        while let Some((hop, q)) = sched.next_probe(Instant::now()) {
            sent += 1;
            match launch(s, hop, q).map_err(setup)? {
                Ok(l) => live.push(l),
                Err(reply) => sched.record(hop, q, reply),
            }
            // Look at once, so that no answer waits behind the launches
            // that follow (its round trip would grow by theirs).
            match poll_live(&mut live, Some(Duration::ZERO), timeout, target, &mut sched) {
                Ok(()) => {}
                Err(e) if interrupted(&e) => break,
                Err(e) => return Err(ProbeError::Test(e)),
            }
        }
        for h in sched.take_hops() {
            on_event(Event::Hop(h)).map_err(ProbeError::Output)?;
        }
        if sched.ending().is_some() {
            break;
        }
        let wake = sched.wake_at();
        if sys::interrupted() || (live.is_empty() && wake.is_none()) {
            // Nothing in flight, nothing to wait for and no ending cannot
            // happen (the horizon is where the trace ends at the latest);
            // stop all the same.
            sched.interrupt();
            break;
        }
        let now = Instant::now();
        let wait = live
            .iter()
            .map(|l| l.t0 + timeout)
            .chain(wake)
            .min()
            .map(|t| t.saturating_duration_since(now));
        match poll_live(&mut live, wait, timeout, target, &mut sched) {
            Ok(()) => {}
            Err(e) if interrupted(&e) => {
                sched.interrupt();
                break;
            }
            Err(e) => return Err(ProbeError::Test(e)),
        }
    }
    drop(live);
    let ending = sched.ending().cloned().unwrap_or(Ending::Interrupted);
    let route = match ending {
        Ending::Silent {
            after_hop: None, ..
        }
        | Ending::Error { hop: 1, .. }
        | Ending::Unreachable {
            hop: 1, icmp: None, ..
        } => local_route(s),
        _ => None,
    };
    Ok(Report {
        target: s.target,
        ending,
        hops: sched.hops_done(),
        probes_sent: sent,
        elapsed_s: started.elapsed().as_secs_f64(),
        route,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::errqueue::{SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6};

    const W: Duration = Duration::from_secs(1);

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
        // The first batch is hop 1's probes alone.
        let t0 = Instant::now();
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT, W);
        let first: Vec<_> = std::iter::from_fn(|| s.next_probe(t0)).collect();
        assert_eq!(first, [(1, 0), (1, 1), (1, 2)]);
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT, W);
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
        assert_eq!(s.next_probe(Instant::now()), None, "nothing after the end");
    }

    /// Sends every probe the schedule allows, answering each with
    /// `answer(hop)`, until it ends; returns the hops handed out.
    fn drive_until(s: &mut Schedule, answer: impl Fn(u8) -> Reply) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut now = Instant::now();
        while s.ending().is_none() {
            let mut batch: Vec<_> = std::iter::from_fn(|| s.next_probe(now)).collect();
            if batch.is_empty() {
                // Silent hops: wait for the patience, as `run` does.
                now = s.wake_at().expect("a hop to wait for");
                batch = std::iter::from_fn(|| s.next_probe(now)).collect();
            }
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
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT, W);
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
        let mut s = Schedule::new(30, 1, 2, IN_FLIGHT, W);
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
        let mut s = Schedule::new(30, 3, 2, IN_FLIGHT, W);
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
        let mut s = Schedule::new(30, 2, 5, IN_FLIGHT, W);
        let prohibited = Reply::Unreachable {
            kind: Unreachable::AdminProhibited,
            from: Some(router(10)),
            rtt_ms: Some(0.3),
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

    /// A RST in the name of an address that answered as a router earlier
    /// is not the destination's word: the ending names that hop.
    #[test]
    fn a_rst_from_an_earlier_routers_address_names_its_hop() {
        let mut s = Schedule::new(30, 1, 5, IN_FLIGHT, W);
        let rst = |from| Reply::Rst {
            from: router(from),
            rtt_ms: 0.1,
        };
        let _ = drive_until(&mut s, |h| match h {
            1 => te(2),
            2 => te(14),
            _ => rst(14),
        });
        assert_eq!(
            s.ending(),
            Some(&Ending::Closed {
                hop: 3,
                from: router(14),
                from_hop: Some(2)
            })
        );
        let mut s = Schedule::new(30, 1, 5, IN_FLIGHT, W);
        let _ = drive_until(&mut s, |h| if h < 3 { te(h) } else { rst(14) });
        assert!(matches!(
            s.ending(),
            Some(Ending::Closed { from_hop: None, .. })
        ));
    }

    #[test]
    fn max_hops_ends_it_and_nothing_goes_past() {
        let mut s = Schedule::new(3, 3, 5, IN_FLIGHT, W);
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
        assert_eq!(s.next_probe(Instant::now()), None);
        // 255 hops of routers: the TTL never wraps, and not one probe
        // more than 255 x 2 goes out.
        let mut s = Schedule::new(255, 2, 1, IN_FLIGHT, W);
        let mut sent = 0;
        let mut last = 0;
        let now = Instant::now();
        while s.ending().is_none() {
            let batch: Vec<_> = std::iter::from_fn(|| s.next_probe(now)).collect();
            assert!(!batch.is_empty(), "stuck at {sent}");
            for (h, q) in batch {
                sent += 1;
                s.record(h, q, te(h));
            }
            last = s.take_hops().last().map_or(last, |h| h.hop);
        }
        assert_eq!((sent, last), (510, 255));
        assert_eq!(s.in_flight(), 0);
        assert_eq!(s.next_probe(Instant::now()), None);
        assert!(matches!(
            s.ending(),
            Some(Ending::MaxHops { max_hops: 255, .. })
        ));
    }

    #[test]
    fn hops_come_in_order_whatever_order_replies_come_in() {
        let t0 = Instant::now();
        let mut s = Schedule::new(30, 2, 5, IN_FLIGHT, W);
        assert_eq!(s.next_probe(t0), Some((1, 0)));
        assert_eq!(s.next_probe(t0), Some((1, 1)));
        // Hop 1 silent past the patience: hop 2 goes out.
        let later = t0 + s.patience();
        assert_eq!(s.next_probe(later), Some((2, 0)));
        assert_eq!(s.next_probe(later), Some((2, 1)));
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
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn the_window_bounds_probes_in_flight() {
        let t0 = Instant::now();
        let mut s = Schedule::new(30, 10, 255, IN_FLIGHT, W);
        let batch: Vec<_> = std::iter::from_fn(|| s.next_probe(t0)).collect();
        assert_eq!(batch.len(), 10, "hop 1 alone");
        let later = t0 + s.patience();
        let batch: Vec<_> = std::iter::from_fn(|| s.next_probe(later)).collect();
        assert_eq!(batch.len(), IN_FLIGHT - 10, "hop 2 up to the cap");
        s.record(1, 0, te(1));
        assert_eq!(s.next_probe(later), Some((2, 6)));
        assert_eq!(s.next_probe(later), None);
    }

    /// Review of issue 14: the first window ran to hop `max_silent`, so
    /// every probe past the destination completed a handshake there.
    #[test]
    fn the_destination_sees_only_its_own_hops_probes() {
        // Routers at hops 1 and 2 answer at once, the destination (hop 3)
        // after 40 ms: within the patience, no hop 4 goes out.
        let t0 = Instant::now();
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT, W);
        let mut sent = Vec::new();
        let mut now = t0;
        for h in 1..=2 {
            let batch: Vec<_> = std::iter::from_fn(|| s.next_probe(now)).collect();
            assert_eq!(batch, [(h, 0), (h, 1), (h, 2)], "hop {h} alone");
            sent.extend(batch.iter().copied());
            for (h, q) in batch {
                s.record(h, q, te(h));
            }
            now += Duration::from_micros(300);
        }
        let batch: Vec<_> = std::iter::from_fn(|| s.next_probe(now)).collect();
        assert_eq!(batch, [(3, 0), (3, 1), (3, 2)]);
        assert_eq!(s.wake_at(), Some(now + MIN_PATIENCE));
        assert_eq!(s.next_probe(now + Duration::from_millis(40)), None);
        for (h, q) in batch {
            s.record(h, q, syn_ack());
        }
        assert_eq!(s.next_probe(now + Duration::from_secs(5)), None);
        assert_eq!(s.take_hops().len(), 3);
        assert!(matches!(s.ending(), Some(Ending::Open { hop: 3, .. })));
        assert_eq!(s.wake_at(), None);
    }

    #[test]
    fn a_time_exceeded_opens_the_next_hop_before_the_rest_answer() {
        let t0 = Instant::now();
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT, W);
        let _: Vec<_> = std::iter::from_fn(|| s.next_probe(t0)).collect();
        assert_eq!(s.next_probe(t0), None);
        s.record(1, 1, te(2));
        assert_eq!(
            s.next_probe(t0),
            Some((2, 0)),
            "one router answer is enough"
        );
        // Our kernel's own error at hop 1 ends it there, no look-ahead.
        let mut s = Schedule::new(30, 1, 5, IN_FLIGHT, W);
        assert_eq!(s.next_probe(t0), Some((1, 0)));
        s.record(
            1,
            0,
            Reply::Error {
                error: "Permission denied".into(),
            },
        );
        assert_eq!(s.next_probe(t0 + W), None);
        assert_eq!(s.wake_at(), None);
    }

    #[test]
    fn the_patience_follows_the_round_trips_within_bounds() {
        let mut s = Schedule::new(30, 1, 5, IN_FLIGHT, W);
        assert_eq!(s.patience(), MIN_PATIENCE, "no round trip yet");
        let t0 = Instant::now();
        s.next_probe(t0);
        s.record(
            1,
            0,
            Reply::TimeExceeded {
                from: router(2),
                rtt_ms: 20.0,
                icmp: Icmp {
                    version: 4,
                    icmp_type: 11,
                    code: 0,
                    from: Some(router(2)),
                },
            },
        );
        assert_eq!(s.patience(), Duration::from_millis(80), "4 round trips");
        let short = Schedule::new(30, 1, 5, IN_FLIGHT, Duration::from_millis(100));
        assert_eq!(short.patience(), Duration::from_millis(10), "a tenth of -W");
    }

    /// Five silent hops after the last router: each opens a patience after
    /// the one before, so the whole run costs about one timeout.
    #[test]
    fn silent_hops_cost_one_timeout_and_a_patience_each() {
        let t0 = Instant::now();
        let mut s = Schedule::new(30, 3, 5, IN_FLIGHT, W);
        let mut now = t0;
        let mut live: Vec<(u8, u8, Instant)> = Vec::new();
        loop {
            while let Some((h, q)) = s.next_probe(now) {
                if h == 1 {
                    s.record(h, q, te(2));
                } else {
                    live.push((h, q, now));
                }
            }
            s.take_hops();
            if s.ending().is_some() {
                break;
            }
            let due = live.iter().map(|l| l.2 + W).chain(s.wake_at()).min();
            now = due.expect("something to wait for");
            live.retain(|&(h, q, t)| {
                if t + W <= now {
                    s.record(h, q, none());
                    false
                } else {
                    true
                }
            });
        }
        assert!(matches!(
            s.ending(),
            Some(Ending::Silent {
                after_hop: Some(1),
                silent_hops: 5,
                ..
            })
        ));
        let took = now - t0;
        assert!(
            took <= W + MIN_PATIENCE * 5,
            "{took:?}: not one timeout per silent hop"
        );
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
                arrived: None,
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
                arrived: None,
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
            reply_of(&e(errno::ENETUNREACH), None, rtt, target),
            Reply::Unreachable { rtt_ms: None, .. }
        ));
        let r = reply_of(&e(errno::EACCES), None, rtt, target);
        assert!(matches!(r, Reply::Error { .. }));
        assert!(
            r.local() && r.rtt_ms().is_none(),
            "our kernel: no round trip"
        );
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
