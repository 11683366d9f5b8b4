//! Many probes at once: every (host, port) of the targets once, each
//! classified as a single attempt is ([`super::start`], then
//! [`super::Pending::finish`] or [`super::Pending::silent`] after `-W`).
//!
//! One thread drives up to `parallel` non-blocking connects with one
//! `poll` over their descriptors, starting new ones as others end, paced by
//! a [`TokenBucket`] when a rate is asked for. Targets are walked lazily
//! (a network is never listed), so memory is the sockets in flight plus
//! one result per probe. `parallel` is kept within the open-files limit,
//! which is first raised to its hard limit.
//!
//! Results come back sorted by host then port (IPv4 before IPv6, numeric
//! order) with a count of states per host; a (host, port) named twice is
//! probed once. SIGINT ends the scan; the report then holds the probes
//! that ended; so does the deadline of [`run_until`] (one round of
//! [`super::rounds`]).

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Instant;

use serde::Serialize;

use super::neighbour::{self, Unresolved};
use super::rate::TokenBucket;
use super::targets::Ports;
use super::{Attempt, CloseWith, ConnectOpts, Outcome, Pending, Start};
use crate::addr::Cidr;
use crate::sys::{self, OpenFiles, PollFd, poll::POLLOUT};

/// The hosts of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosts {
    /// One address; `scope_id` names the link of a link-local IPv6
    /// address (0 otherwise).
    One { ip: IpAddr, scope_id: u32 },
    /// Every address of a network, network and broadcast addresses too.
    Net(Cidr),
}

/// Hosts and the ports to probe on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub hosts: Hosts,
    pub ports: Ports,
}

impl Target {
    /// (host, port) pairs, duplicates of other targets included.
    pub fn probes(&self) -> u128 {
        let hosts = match self.hosts {
            Hosts::One { .. } => 1,
            Hosts::Net(net) => net.size(),
        };
        hosts * u128::from(self.ports.count())
    }

    /// Every (host, port), host by host, ports ascending; lazily.
    fn addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        let (one, net) = match self.hosts {
            Hosts::One { ip, scope_id } => (Some((ip, scope_id)), None),
            Hosts::Net(net) => (None, Some(net)),
        };
        let hosts = one.into_iter().chain(
            net.into_iter()
                .flat_map(|n| n.addresses().map(|ip| (ip, 0))),
        );
        hosts.flat_map(move |(ip, scope_id)| {
            self.ports.iter().map(move |port| match ip {
                IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope_id)),
                IpAddr::V4(_) => SocketAddr::new(ip, port),
            })
        })
    }
}

/// A validated scan.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub targets: Vec<Target>,
    /// Probes in flight at once, at least 1 (lowered to fit the
    /// open-files limit).
    pub parallel: usize,
    /// New probes per second at most (positive); `None`: as fast as
    /// `parallel` allows.
    pub rate: Option<f64>,
    /// `timeout` is each probe's wait for an answer; `observe` is best 0
    /// (a scan does not wait for the peer's first move).
    pub connect: ConnectOpts,
    /// How open connections are closed.
    pub close: CloseWith,
}

/// The answer to a probe in coarse terms, for the counts per host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The handshake completed.
    Open,
    /// A RST answered the SYN: the host is up, nothing listens.
    Closed,
    /// An ICMP port unreachable answered the SYN (a firewall's reject).
    Rejected,
    /// No answer within the timeout.
    Filtered,
    /// Host or network unreachable (ICMP, or our own kernel).
    Unreachable,
    /// ICMP administratively prohibited.
    Prohibited,
    /// The handshake completed, then the peer reset the connection.
    Reset,
    /// Anything else, as the kernel said it.
    Error,
    /// No ARP / NDP reply on the local link: no host at the address (or
    /// the gateway on the way is gone).
    Absent,
}

impl State {
    /// Every state, in the order they are shown.
    pub const ALL: [State; 9] = [
        State::Open,
        State::Closed,
        State::Rejected,
        State::Filtered,
        State::Unreachable,
        State::Prohibited,
        State::Reset,
        State::Error,
        State::Absent,
    ];

    pub fn of(o: &Outcome) -> State {
        match o {
            Outcome::Open { .. } => State::Open,
            Outcome::ResetAfterAccept { .. } => State::Reset,
            Outcome::RefusedRst { .. } => State::Closed,
            Outcome::RefusedIcmp { .. } => State::Rejected,
            Outcome::Filtered { .. } => State::Filtered,
            Outcome::HostUnreachable { .. } | Outcome::NetworkUnreachable { .. } => {
                State::Unreachable
            }
            Outcome::AdminProhibited { .. } => State::Prohibited,
            Outcome::Error { .. } => State::Error,
            Outcome::NoNeighbour(_) => State::Absent,
        }
    }

    /// As shown (and as the JSON keys of [`Counts`]).
    pub fn label(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Closed => "closed",
            State::Rejected => "rejected",
            State::Filtered => "filtered",
            State::Unreachable => "unreachable",
            State::Prohibited => "prohibited",
            State::Reset => "reset",
            State::Error => "error",
            State::Absent => "absent",
        }
    }
}

/// What `nmap -sT --reason` (7.93, Linux) says of a port whose probe ended
/// with `o`: its state (`open`, `closed`, `filtered`) and reason, found by
/// running both against the same nft rules (`tests/probe_scan.rs` checks it
/// port by port). nmap's connect scan sees only `connect()`'s errno, so
/// nettool is finer in four places:
/// - a RST and an ICMP port unreachable are both ECONNREFUSED: `closed`,
///   `conn-refused` (nettool: closed / rejected, with the ICMP sender);
/// - ICMP host unreachable and IPv4 admin prohibited (codes 10, 13) are
///   both EHOSTUNREACH: `filtered`, `host-unreach` (nettool: unreachable /
///   prohibited); IPv4 network prohibited (code 9) is ENETUNREACH:
///   `net-unreach`;
/// - IPv6 admin prohibited, policy failure and reject route (codes 1, 5,
///   6) are EACCES: `filtered`, `admin-prohibited`;
/// - a reset right after the handshake is still `open`, `syn-ack`
///   (nettool: reset).
///
/// Silence is `filtered`, `no-response`. An [`Outcome::Error`] (say, an
/// ICMP protocol unreachable) is `filtered` with a reason from its errno,
/// which the outcome keeps only as text: `None`.
pub fn nmap_state(o: &Outcome) -> (&'static str, Option<&'static str>) {
    match o {
        Outcome::Open { .. } | Outcome::ResetAfterAccept { .. } => ("open", Some("syn-ack")),
        Outcome::RefusedRst { .. } | Outcome::RefusedIcmp { .. } => {
            ("closed", Some("conn-refused"))
        }
        Outcome::Filtered { .. } => ("filtered", Some("no-response")),
        Outcome::HostUnreachable { .. } => ("filtered", Some("host-unreach")),
        Outcome::NetworkUnreachable { .. } => ("filtered", Some("net-unreach")),
        Outcome::AdminProhibited { icmp, .. } => match (icmp.version, icmp.code) {
            (4, 9) => ("filtered", Some("net-unreach")),
            (4, _) => ("filtered", Some("host-unreach")),
            _ => ("filtered", Some("admin-prohibited")),
        },
        Outcome::Error { .. } => ("filtered", None),
        // The kernel gave up resolving (EHOSTUNREACH), or -W ended first.
        Outcome::NoNeighbour(n) => match n.state {
            Unresolved::Failed => ("filtered", Some("host-unreach")),
            Unresolved::Incomplete => ("filtered", Some("no-response")),
        },
    }
}

/// How many probes ended in each [`State`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub open: u64,
    pub closed: u64,
    pub rejected: u64,
    pub filtered: u64,
    pub unreachable: u64,
    pub prohibited: u64,
    pub reset: u64,
    pub error: u64,
    pub absent: u64,
}

impl Counts {
    fn slot(&mut self, s: State) -> &mut u64 {
        match s {
            State::Open => &mut self.open,
            State::Closed => &mut self.closed,
            State::Rejected => &mut self.rejected,
            State::Filtered => &mut self.filtered,
            State::Unreachable => &mut self.unreachable,
            State::Prohibited => &mut self.prohibited,
            State::Reset => &mut self.reset,
            State::Error => &mut self.error,
            State::Absent => &mut self.absent,
        }
    }

    pub fn add(&mut self, s: State) {
        *self.slot(s) += 1;
    }

    pub fn get(&self, s: State) -> u64 {
        match s {
            State::Open => self.open,
            State::Closed => self.closed,
            State::Rejected => self.rejected,
            State::Filtered => self.filtered,
            State::Unreachable => self.unreachable,
            State::Prohibited => self.prohibited,
            State::Reset => self.reset,
            State::Error => self.error,
            State::Absent => self.absent,
        }
    }

    pub fn total(&self) -> u64 {
        State::ALL.iter().map(|&s| self.get(s)).sum()
    }
}

/// One probe, as it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probed {
    pub target: SocketAddr,
    /// Our end, when the handshake completed.
    pub local: Option<SocketAddr>,
    pub outcome: Outcome,
    /// How the connection was closed, when it was open.
    pub closed_with: Option<CloseWith>,
}

/// The counts of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostCounts {
    pub host: IpAddr,
    pub counts: Counts,
}

/// What `run` says while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The open-files limit holds fewer sockets than `--parallel` asked
    /// for, even raised to its hard limit: `allowed` in flight instead.
    ParallelLowered {
        asked: usize,
        allowed: usize,
        limit: u64,
    },
    /// The setup checked out; `probes` (host, port) pairs follow, at most
    /// `parallel` in flight.
    Started { probes: u64, parallel: usize },
    /// A probe ended (events come in the order probes end).
    Probed(Probed),
}

/// The scan's results.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Sorted by host then port.
    pub results: Vec<Probed>,
    /// Sorted by host.
    pub hosts: Vec<HostCounts>,
    pub total: Counts,
    /// Probes made (each (host, port) once).
    pub probes: u64,
    /// In flight at most.
    pub parallel: usize,
    pub elapsed_s: f64,
    pub probes_per_second: f64,
    /// Ctrl-C ended the scan before every probe was made.
    pub interrupted: bool,
    /// The deadline given to [`run_until`] came before every probe ended.
    pub cut_by_deadline: bool,
}

impl Report {
    /// Exit 0? Every probe was open, or with `open_only` at least one;
    /// and the scan was not cut short.
    pub fn passed(&self, open_only: bool) -> bool {
        let open = self.total.open;
        !self.interrupted && open > 0 && (open_only || open == self.probes)
    }
}

/// Why `run` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A socket could not be set up (no such interface, a source address
    /// not ours, out of descriptors, ...).
    #[error("cannot set up a connection to {target}: {error}")]
    Setup {
        target: SocketAddr,
        #[source]
        error: io::Error,
    },
    /// Waiting on the sockets, or reading one's state, failed.
    #[error("waiting for answers: {0}")]
    Wait(io::Error),
    /// The event callback failed (e.g. stdout closed).
    #[error(transparent)]
    Output(io::Error),
}

/// Descriptors kept free for everything else (stdio, the resolver, ...).
const SPARE_FDS: u64 = 16;

/// How many sockets fit in flight under `limit`.
fn fit(asked: usize, limit: Option<OpenFiles>) -> usize {
    let Some(l) = limit else { return asked };
    let room = usize::try_from(l.soft.saturating_sub(SPARE_FDS)).unwrap_or(usize::MAX);
    asked.min(room).max(1)
}

struct InFlight {
    target: SocketAddr,
    pending: Pending,
    deadline: Instant,
}

/// Probe every (host, port) of `s.targets` once, calling `on_event` as
/// things happen.
///
/// # Errors
/// [`ScanError::Setup`] when a socket cannot be set up (before anything is
/// sent, for a bad `-I` or `-s`); [`ScanError::Wait`] when `poll` fails;
/// [`ScanError::Output`] with the callback's error, at once.
pub fn run(
    s: &Settings,
    on_event: &mut impl FnMut(Event) -> io::Result<()>,
) -> Result<Report, ScanError> {
    run_until(s, None, on_event)
}

/// [`run`], ended at `end` if it comes first: the probes in flight then
/// are dropped unanswered and the report says [`Report::cut_by_deadline`]
/// (its results are the probes that ended before).
///
/// # Errors
/// As [`run`].
pub fn run_until(
    s: &Settings,
    end: Option<Instant>,
    on_event: &mut impl FnMut(Event) -> io::Result<()>,
) -> Result<Report, ScanError> {
    // One check per family: a bad -I or -s is an error before any SYN.
    let mut checked = (false, false);
    for t in &s.targets {
        let Some(a) = t.addrs().next() else { continue };
        let family = if a.is_ipv4() {
            &mut checked.0
        } else {
            &mut checked.1
        };
        if !*family {
            super::check_setup(a, &s.connect)
                .map_err(|error| ScanError::Setup { target: a, error })?;
            *family = true;
        }
    }
    let limit = sys::raise_open_files().ok();
    let parallel = fit(s.parallel.max(1), limit);
    if parallel < s.parallel {
        on_event(Event::ParallelLowered {
            asked: s.parallel,
            allowed: parallel,
            limit: limit.map_or(0, |l| l.soft),
        })
        .map_err(ScanError::Output)?;
    }
    let planned: u128 = s.targets.iter().map(Target::probes).sum();
    sys::catch_interrupt();
    on_event(Event::Started {
        probes: u64::try_from(planned).unwrap_or(u64::MAX),
        parallel,
    })
    .map_err(ScanError::Output)?;
    let started = Instant::now();
    let mut engine = Engine {
        s,
        on_event,
        results: Vec::new(),
    };
    let ended = engine.drive(parallel, end)?;
    let (interrupted, cut_by_deadline) = (ended == Ended::Interrupted, ended == Ended::Deadline);
    let mut results = engine.results;
    let elapsed_s = started.elapsed().as_secs_f64();
    results.sort_unstable_by_key(|p| p.target);
    let hosts: Vec<HostCounts> = results
        .chunk_by_mut(|a, b| a.target.ip() == b.target.ip())
        .map(|host| settle_host(s.connect.iface.as_deref(), host))
        .collect();
    let mut total = Counts::default();
    for p in &results {
        total.add(State::of(&p.outcome));
    }
    let probes = total.total();
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let probes_per_second = probes as f64 / elapsed_s.max(1e-9);
    Ok(Report {
        results,
        hosts,
        total,
        probes,
        parallel,
        elapsed_s,
        probes_per_second,
        interrupted,
        cut_by_deadline,
    })
}

/// The one place where a host's results are final: called once per host
/// after every probe of the scan has ended, with the host's probes
/// (never none; sorted by port), it counts their states. A finer word
/// for the host's silent outcomes (filtered, or host unreachable from our
/// own kernel), such as what the neighbour table says of an address on a
/// directly connected network, goes here, before the count: `results` is
/// mutable for that.
fn settle_host(iface: Option<&str>, results: &mut [Probed]) -> HostCounts {
    // The neighbour entry is the host's, not a port's: ask once, and only
    // when it says nobody answered at all ask for each silent port (its own
    // wait decides between INCOMPLETE and FAILED).
    if let Some(first) = results.iter_mut().find(|p| is_silent(&p.outcome)) {
        first.outcome = neighbour::explain(first.target, iface, first.outcome.clone());
        if matches!(first.outcome, Outcome::NoNeighbour(_)) {
            for p in results.iter_mut().filter(|p| is_silent(&p.outcome)) {
                p.outcome = neighbour::explain(p.target, iface, p.outcome.clone());
            }
        }
    }
    let mut counts = Counts::default();
    for p in results.iter() {
        counts.add(State::of(&p.outcome));
    }
    HostCounts {
        host: results[0].target.ip(),
        counts,
    }
}

/// An outcome the neighbour table may explain: silence, or a host
/// unreachable that may come from our own kernel.
fn is_silent(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Filtered { .. } | Outcome::HostUnreachable { .. }
    )
}

/// Why [`Engine::drive`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Every probe was made.
    All,
    /// Ctrl-C.
    Interrupted,
    /// The deadline.
    Deadline,
}

/// The probes in flight and what has ended.
struct Engine<'a, F> {
    s: &'a Settings,
    on_event: &'a mut F,
    results: Vec<Probed>,
}

impl<F: FnMut(Event) -> io::Result<()>> Engine<'_, F> {
    /// Run every probe, at most `parallel` at once, until done, Ctrl-C or
    /// `end`.
    fn drive(&mut self, parallel: usize, end: Option<Instant>) -> Result<Ended, ScanError> {
        let s = self.s;
        let mut work = s.targets.iter().flat_map(Target::addrs);
        // A (host, port) twice only when targets overlap.
        let mut seen: Option<HashSet<SocketAddr>> = (s.targets.len() > 1).then(HashSet::new);
        let mut flight: Vec<InFlight> = Vec::with_capacity(parallel.min(4096));
        let mut bucket = s.rate.map(|r| TokenBucket::new(r, Instant::now()));
        let mut more = true;
        loop {
            if sys::interrupted() {
                return Ok(Ended::Interrupted);
            }
            if end.is_some_and(|e| Instant::now() >= e) {
                return Ok(Ended::Deadline);
            }
            while more && flight.len() < parallel {
                if let Some(b) = &mut bucket {
                    if !b.take(Instant::now()) {
                        break;
                    }
                }
                let next = work.find(|a| seen.as_mut().is_none_or(|seen| seen.insert(*a)));
                let Some(target) = next else {
                    more = false;
                    break;
                };
                match super::start(target, &s.connect) {
                    Ok(Start::Pending(pending)) => flight.push(InFlight {
                        target,
                        deadline: pending.started() + s.connect.timeout,
                        pending,
                    }),
                    Ok(Start::Done(a)) => self.done(target, a)?,
                    Err(error) => return Err(ScanError::Setup { target, error }),
                }
            }
            if flight.is_empty() && !more {
                return Ok(Ended::All);
            }
            let now = Instant::now();
            let mut wait = flight
                .iter()
                .map(|f| f.deadline.saturating_duration_since(now))
                .min();
            if more && flight.len() < parallel {
                if let Some(b) = &mut bucket {
                    let token = b.wait(now);
                    wait = Some(wait.map_or(token, |w| w.min(token)));
                }
            }
            if let Some(e) = end {
                let left = e.saturating_duration_since(now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            let ready: Vec<bool> = {
                let mut fds: Vec<PollFd<'_>> = flight
                    .iter()
                    .map(|f| PollFd::new(f.pending.fd(), POLLOUT))
                    .collect();
                match sys::poll_many(&mut fds, wait) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                        return Ok(Ended::Interrupted);
                    }
                    Err(e) => return Err(ScanError::Wait(e)),
                }
                fds.iter().map(|f| f.revents() != 0).collect()
            };
            let now = Instant::now();
            // From the end, so that swap_remove moves only entries
            // already looked at.
            for i in (0..flight.len()).rev() {
                if ready[i] {
                    let f = flight.swap_remove(i);
                    let a = f
                        .pending
                        .finish(s.connect.observe)
                        .map_err(ScanError::Wait)?;
                    self.done(f.target, a)?;
                } else if now >= flight[i].deadline {
                    let f = flight.swap_remove(i);
                    self.done(f.target, f.pending.silent())?;
                }
            }
        }
    }

    /// A probe ended: close its connection, keep its result, say so.
    fn done(&mut self, target: SocketAddr, a: Attempt) -> Result<(), ScanError> {
        let closed_with = a.outcome.is_open().then_some(self.s.close);
        if let Some(sock) = a.socket {
            super::close(sock, self.s.close == CloseWith::Rst);
        }
        let p = Probed {
            target,
            local: a.local,
            outcome: a.outcome,
            closed_with,
        };
        (self.on_event)(Event::Probed(p.clone())).map_err(ScanError::Output)?;
        self.results.push(p);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    fn settings(targets: Vec<Target>) -> Settings {
        Settings {
            targets,
            parallel: 64,
            rate: None,
            connect: ConnectOpts {
                timeout: Duration::from_secs(2),
                iface: None,
                source: None,
                observe: Duration::ZERO,
            },
            close: CloseWith::Rst,
        }
    }

    fn one(ip: &str, ports: &str) -> Target {
        Target {
            hosts: Hosts::One {
                ip: ip.parse().unwrap(),
                scope_id: 0,
            },
            ports: Ports::parse(ports).unwrap(),
        }
    }

    /// Listeners on some loopback ports; the ports between them are free
    /// (nothing listens: RST).
    fn listeners(n: usize) -> (Vec<TcpListener>, u16) {
        // A free stretch of ports: bind the first, then its neighbours.
        loop {
            let first = TcpListener::bind("127.0.0.1:0").unwrap();
            let base = first.local_addr().unwrap().port();
            if usize::from(base) + 2 * n >= 65535 {
                continue;
            }
            let mut ls = vec![first];
            let ok = (1..n).all(|i| {
                let p = base + u16::try_from(2 * i).unwrap();
                TcpListener::bind(("127.0.0.1", p))
                    .map(|l| ls.push(l))
                    .is_ok()
            });
            if ok {
                return (ls, base);
            }
        }
    }

    #[test]
    fn every_port_once_sorted_with_counts_per_host() {
        let (_ls, base) = listeners(20);
        let last = base + 39;
        // Listeners on base, base+2, ...; the odd ones refuse. Given
        // twice over two targets, and a second host (127.0.0.2, where
        // nothing listens).
        let s = settings(vec![
            one("127.0.0.2", &format!("{base}-{last}")),
            one("127.0.0.1", &format!("{base}-{last}")),
            one("127.0.0.1", &format!("{base},{last}")),
        ]);
        let mut probed = 0;
        let mut started = None;
        let r = run(&s, &mut |e| {
            match e {
                Event::Started { probes, .. } => started = Some(probes),
                Event::Probed(_) => probed += 1,
                Event::ParallelLowered { .. } => {}
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(started, Some(82), "planned, duplicates included");
        assert_eq!(probed, 80);
        assert_eq!(r.probes, 80);
        let order: Vec<SocketAddr> = r.results.iter().map(|p| p.target).collect();
        let mut want: Vec<SocketAddr> = (base..=last)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .collect();
        want.extend((base..=last).map(|p| SocketAddr::from(([127, 0, 0, 2], p))));
        assert_eq!(order, want);
        for p in &r.results {
            let even = (p.target.port() - base) % 2 == 0;
            let want = if even && p.target.ip() == IpAddr::from([127, 0, 0, 1]) {
                State::Open
            } else {
                State::Closed
            };
            assert_eq!(State::of(&p.outcome), want, "{p:?}");
            assert_eq!(p.closed_with.is_some(), want == State::Open);
        }
        assert_eq!(r.hosts.len(), 2);
        assert_eq!(r.hosts[0].host, IpAddr::from([127, 0, 0, 1]));
        assert_eq!((r.hosts[0].counts.open, r.hosts[0].counts.closed), (20, 20));
        assert_eq!((r.hosts[1].counts.open, r.hosts[1].counts.closed), (0, 40));
        assert_eq!(r.total.total(), 80);
        assert!(!r.passed(false) && r.passed(true) && !r.interrupted);
    }

    #[test]
    fn a_network_expands_to_every_address() {
        let port = listeners(1).1;
        let s = settings(vec![Target {
            hosts: Hosts::Net(Cidr::parse("127.0.0.4/30").unwrap()),
            ports: Ports::one(port),
        }]);
        let r = run(&s, &mut |_| Ok(())).unwrap();
        let hosts: Vec<String> = r.results.iter().map(|p| p.target.to_string()).collect();
        let want: Vec<String> = (4..8).map(|i| format!("127.0.0.{i}:{port}")).collect();
        assert_eq!(hosts, want);
    }

    /// Targets are walked, never listed: the first (host, port) of 2^64
    /// hosts x 65535 ports comes at once, host by host, ports ascending.
    #[test]
    fn targets_are_walked_lazily() {
        let t = Target {
            hosts: Hosts::Net(Cidr::parse("2001:db8::/64").unwrap()),
            ports: Ports::parse("1-65535").unwrap(),
        };
        assert_eq!(t.probes(), (1u128 << 64) * 65535);
        let first: Vec<String> = t
            .addrs()
            .skip(65534)
            .take(3)
            .map(|a| a.to_string())
            .collect();
        assert_eq!(
            first,
            ["[2001:db8::]:65535", "[2001:db8::1]:1", "[2001:db8::1]:2"]
        );
        let scoped = Target {
            hosts: Hosts::One {
                ip: "fe80::1".parse().unwrap(),
                scope_id: 7,
            },
            ports: Ports::one(22),
        };
        assert_eq!(scoped.addrs().next().unwrap().to_string(), "[fe80::1%7]:22");
    }

    #[test]
    fn the_rate_paces_the_starts() {
        let (_ls, base) = listeners(1);
        let mut s = settings(vec![one("127.0.0.1", &format!("{base}-{}", base + 9))]);
        s.rate = Some(50.0);
        let t0 = Instant::now();
        let r = run(&s, &mut |_| Ok(())).unwrap();
        // The first token is there at once, the other nine 20 ms apart.
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(170), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(r.probes, 10);
    }

    #[test]
    fn parallel_one_is_one_at_a_time_and_all_are_done() {
        let (_ls, base) = listeners(5);
        let mut s = settings(vec![one("127.0.0.1", &format!("{base}-{}", base + 9))]);
        s.parallel = 1;
        let r = run(&s, &mut |_| Ok(())).unwrap();
        assert_eq!((r.probes, r.total.open, r.total.closed), (10, 5, 5));
        assert_eq!(r.parallel, 1);
    }

    #[test]
    fn a_failing_callback_stops_the_scan() {
        let (_ls, base) = listeners(1);
        let s = settings(vec![one("127.0.0.1", &format!("{base}-{}", base + 99))]);
        let mut calls = 0;
        let e = run(&s, &mut |e| {
            calls += 1;
            match e {
                Event::Probed(_) => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
                _ => Ok(()),
            }
        })
        .unwrap_err();
        assert!(matches!(e, ScanError::Output(_)), "{e:?}");
        assert_eq!(calls, 2, "Started, then the first probe");
    }

    #[test]
    fn a_socket_that_cannot_be_set_up_is_an_error_before_any_event() {
        let mut s = settings(vec![one("127.0.0.1", "1-10")]);
        s.connect.source = Some("::1".parse().unwrap());
        let e = run(&s, &mut |e| panic!("{e:?}")).unwrap_err();
        assert!(matches!(e, ScanError::Setup { .. }), "{e:?}");
    }

    #[test]
    fn parallel_fits_the_open_files_limit() {
        let l = |soft| {
            Some(OpenFiles {
                soft,
                hard: soft,
                raised_from: None,
            })
        };
        assert_eq!(fit(256, l(1024)), 256);
        assert_eq!(fit(5000, l(1024)), 1008);
        assert_eq!(fit(5000, l(10)), 1);
        assert_eq!(fit(5000, None), 5000);
    }

    #[test]
    fn states_and_the_nmap_vocabulary() {
        use super::super::Icmp;
        let icmp = |version, code| Icmp {
            version,
            icmp_type: if version == 4 { 3 } else { 1 },
            code,
            from: None,
        };
        let prohibited = |version, code| Outcome::AdminProhibited {
            after_us: 1.0,
            icmp: icmp(version, code),
        };
        assert_eq!(
            nmap_state(&prohibited(4, 13)),
            ("filtered", Some("host-unreach"))
        );
        assert_eq!(
            nmap_state(&prohibited(4, 9)),
            ("filtered", Some("net-unreach"))
        );
        assert_eq!(
            nmap_state(&prohibited(6, 1)),
            ("filtered", Some("admin-prohibited"))
        );
        let rejected = Outcome::RefusedIcmp {
            after_us: 1.0,
            icmp: icmp(4, 3),
        };
        assert_eq!(State::of(&rejected), State::Rejected);
        assert_eq!(nmap_state(&rejected), ("closed", Some("conn-refused")));
        let mut c = Counts::default();
        for s in State::ALL {
            c.add(s);
            c.add(s);
            assert_eq!(c.get(s), 2);
        }
        assert_eq!(c.total(), 18);
        let labels: Vec<&str> = State::ALL.iter().map(|s| s.label()).collect();
        let json = serde_json::to_value(c).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted = labels.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted, "the JSON keys are the labels");
    }
}
