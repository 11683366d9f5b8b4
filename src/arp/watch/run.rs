//! The capture loop of `nettool arp --watch`: one [`PacketRing`] per
//! interface (ARP and NS/NA only, filtered in the kernel, promiscuous off),
//! each frame mapped to an [`Observation`] and fed to the [`Watch`]
//! machine, its events handed to the caller as they happen; the station
//! database loaded at start and saved at the end.
//!
//! Order of setup, so that every problem is found before the watch starts:
//! interfaces, rings (the only step that needs `CAP_NET_RAW`, dropped
//! right after), the database read (a corrupt file is moved aside and
//! named in a warning; a foreign one stops us), then a check that the
//! database can be written: a watch that could never save says so now, not
//! after hours.
//!
//! The loop takes frames from every ring in turn, a bounded batch each so
//! a flooded interface does not starve the others, and sleeps in one
//! `poll` on all of them when none has a frame. It stops at `count`
//! events, at `duration`, at SIGINT/SIGTERM, or when the caller says so.

use std::io;
use std::net::IpAddr;
use std::ops::ControlFlow;
use std::os::fd::AsFd as _;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::db::{self, DbError};
use super::{Event, Limits, Observation, Summary, Watch, WatchIface, from_arp_frame};
use crate::addr::Cidr;
use crate::arp::{self, ArpError};
use crate::sys::Frames;
use crate::sys::poll::{POLLIN, PollFd, poll_many};
use crate::sys::ring::PacketRing;
use crate::wire::ethernet::{ETHERTYPE_ARP, Frame};
use crate::wire::icmpv6::{self, NdRepr, NdpFrame};
use crate::wire::ipv6;

/// Frames taken from one ring before the next ring's turn.
const BATCH: usize = 1024;
/// The longest sleep in `poll`: how late a signal or the end of
/// `duration` may be noticed when the link is quiet (a signal also ends
/// the sleep at once).
const NAP: Duration = Duration::from_millis(100);

/// What to watch and when to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Interfaces by name; empty: the default route's.
    pub interfaces: Vec<String>,
    /// The station database, loaded at start and saved at the end.
    pub db: Option<PathBuf>,
    /// Stop after this many events.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    pub limits: Limits,
}

/// Why the watch could not start, or failed while running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Setup(#[from] ArpError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("reading frames on {iface}: {source}")]
    Capture { iface: String, source: io::Error },
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Count,
    Duration,
    /// SIGINT or SIGTERM (the number).
    Signal(i32),
    /// The caller's `on_event` said stop (say, stdout closed).
    Caller,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Count => "count",
            Stop::Duration => "duration",
            Stop::Signal(_) => "signal",
            Stop::Caller => "output",
        }
    }
}

/// Where events go as they happen.
pub trait Sink {
    /// One event; `Break` stops the watch (say, stdout closed).
    fn event(&mut self, e: &Event) -> ControlFlow<()>;
    /// No frame is waiting on any interface: a moment to flush what was
    /// buffered, so a lone event on a quiet link is not held back while a
    /// flood's are written in big writes. `Break` stops the watch.
    fn idle(&mut self) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// How often the sink wants [`Sink::progress`] while the watch runs;
    /// `None` (the default): never, and the loop counts nothing extra.
    fn progress_every(&self) -> Option<Duration> {
        None
    }
    /// What the watch has seen so far, at most every `progress_every`
    /// (and not at the end: the [`Report`] says that). `Break` stops the
    /// watch.
    fn progress(&mut self, _p: &Progress<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// What a watch has seen so far, as the [`Report`] will say it.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub interfaces: &'a [String],
    pub frames: u64,
    pub ignored: u64,
    pub drops: u64,
    pub summary: Summary,
}

/// What a run saw.
#[derive(Debug)]
pub struct Report {
    /// The interfaces watched, in the order given.
    pub interfaces: Vec<String>,
    /// Frames read from the rings.
    pub frames: u64,
    /// Frames that said nothing a watch can use: malformed, not NS/NA, or
    /// failing NDP's checks (hop limit 255, checksum, code 0).
    pub ignored: u64,
    /// Frames the kernel dropped because a ring was full
    /// (`PACKET_STATISTICS`), all interfaces.
    pub drops: u64,
    /// Stations read from the database.
    pub loaded: usize,
    /// The database was corrupt and moved aside: the warning said where.
    pub moved_aside: Option<PathBuf>,
    /// Stations saved at the end (`None` without `--db`), or why not.
    pub saved: Option<Result<usize, DbError>>,
    pub stopped_by: Stop,
    pub summary: Summary,
}

/// Frames one NS/NA must pass before a watch believes it: RFC 4861 7.1.1
/// and 7.1.2's hop limit 255, checksum and code 0. Its link-layer option
/// may differ from the Ethernet source: that is for the machine to report.
///
/// # Errors
/// A description of the first check failed.
fn ndp_observation(at: SystemTime, iface: u32, bytes: &[u8]) -> Result<Observation, &'static str> {
    let f = Frame::new_checked(bytes).map_err(|_| "truncated Ethernet")?;
    let ip = ipv6::Packet::new_checked(f.payload()).map_err(|_| "truncated IPv6")?;
    if ip.hop_limit() != 255 {
        return Err("hop limit not 255");
    }
    let (next, icmp) = ip.upper_layer().map_err(|_| "bad IPv6 options headers")?;
    if next != ipv6::NEXT_HEADER_ICMPV6 {
        return Err("not ICMPv6");
    }
    let icmp = icmpv6::Packet::new_checked(icmp).map_err(|_| "truncated ICMPv6")?;
    if icmp.code() != 0 {
        return Err("code not 0");
    }
    if !icmp.verify_checksum(ip.src(), ip.dst()) {
        return Err("bad checksum");
    }
    let nd = NdpFrame::parse(bytes).map_err(|_| "not NS/NA")?;
    Ok(match nd.message {
        NdRepr::Solicit(ns) => {
            Observation::ndp_solicit(at, iface, nd.eth_src, nd.ip_src, ns.target, ns.source_mac)
        }
        NdRepr::Advert(na) => {
            if na.target.is_multicast() {
                return Err("multicast target");
            }
            Observation::ndp_advert(
                at,
                iface,
                nd.eth_src,
                nd.ip_dst,
                na.target,
                na.target_mac,
                super::NaFlags {
                    router: na.flags.router,
                    solicited: na.flags.solicited,
                    override_: na.flags.override_,
                },
            )
        }
    })
}

/// Whether a captured frame is an IPv6 packet with no NS or NA behind its
/// extension headers. The filter passes every frame that starts with one
/// for us to look behind (MLD's reports and queries among them): those
/// are not the link's neighbour traffic, counted neither as read nor as
/// ignored. Headers that cannot be walked are the watch's to ignore.
fn not_neighbour_traffic(bytes: &[u8]) -> bool {
    let Ok(f) = Frame::new_checked(bytes) else {
        return false;
    };
    if f.ethertype() != ipv6::ETHERTYPE_IPV6 {
        return false;
    }
    let Ok(ip) = ipv6::Packet::new_checked(f.payload()) else {
        return false;
    };
    match ip.upper_layer() {
        Ok((ipv6::NEXT_HEADER_ICMPV6, icmp)) => !matches!(
            icmp.first().map(|&t| icmpv6::Message::from(t)),
            Some(icmpv6::Message::NeighborSolicit | icmpv6::Message::NeighborAdvert)
        ),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// What a captured frame says, if anything.
pub fn observation(at: SystemTime, iface: u32, bytes: &[u8]) -> Option<Observation> {
    let f = Frame::new_checked(bytes).ok()?;
    if f.ethertype() == ETHERTYPE_ARP {
        from_arp_frame(at, iface, bytes).ok()
    } else {
        ndp_observation(at, iface, bytes).ok()
    }
}

/// An interface's networks, as the machine checks senders against them.
fn nets(i: &arp::Iface) -> Vec<Cidr> {
    let v4 = i.v4.iter().map(|&(a, l)| (IpAddr::V4(a), l));
    let v6 = i.v6.iter().map(|&(a, l)| (IpAddr::V6(a), l));
    v4.chain(v6)
        .filter_map(|(a, l)| Cidr::new(a, l).ok())
        .collect()
}

/// One watched interface: its ring and name.
struct Watched {
    name: String,
    ifindex: u32,
    ring: PacketRing,
}

/// Open everything: interfaces, rings, database.
fn setup(
    s: &Settings,
    warn: &mut dyn FnMut(String),
) -> Result<(Vec<Watched>, Watch, usize, Option<PathBuf>), Error> {
    let mut ifaces = Vec::new();
    if s.interfaces.is_empty() {
        ifaces.push(arp::default_interface()?);
    }
    for name in &s.interfaces {
        if !ifaces.iter().any(|i: &arp::Iface| i.name() == name) {
            ifaces.push(arp::interface(name)?);
        }
    }
    let mut watched = Vec::new();
    for i in &ifaces {
        let ring = PacketRing::open(Frames::ArpAndNdp, i.raw.index)
            .map_err(|e| arp::link::open_error(&i.raw, e))?;
        watched.push(Watched {
            name: i.name().to_string(),
            ifindex: i.raw.index,
            ring,
        });
    }
    // Nothing after this needs privilege, and the database is read and
    // written as what we are without it.
    crate::sys::drop_capabilities().map_err(|source| ArpError::Channel {
        iface: watched[0].name.clone(),
        source,
    })?;
    let mut stations = Vec::new();
    let mut moved_aside = None;
    if let Some(path) = &s.db {
        match db::load(path, SystemTime::now()) {
            Ok(v) => stations = v,
            Err(e @ DbError::Corrupt { .. }) => {
                if let DbError::Corrupt { moved_to, .. } = &e {
                    moved_aside = Some(moved_to.clone());
                }
                warn(format!("warning: {e}; starting with no known station"));
            }
            Err(e) => return Err(e.into()),
        }
        db::check_writable(path)?;
    }
    let mut watch = Watch::new(
        ifaces
            .iter()
            .map(|i| WatchIface {
                ifindex: i.raw.index,
                name: i.name().to_string(),
                nets: nets(i),
            })
            .collect(),
        s.limits,
    );
    watch.set_vendors(arp::oui::all_vendors());
    let loaded = stations.len();
    watch.restore(stations);
    Ok((watched, watch, loaded, moved_aside))
}

/// Watch until a stop condition; `sink` gets each event as it happens
/// (and word when the rings are empty), `warn` one-line warnings (a
/// corrupt database moved aside).
///
/// # Errors
/// Setup: [`Error::Setup`] (interface, privilege), [`Error::Db`] (a
/// database that is not ours, cannot be read, moved aside or written).
/// While running: [`Error::Capture`] when `poll` on a ring fails.
pub fn run(
    s: &Settings,
    sink: &mut dyn Sink,
    warn: &mut dyn FnMut(String),
) -> Result<Report, Error> {
    let (mut watched, mut watch, loaded, moved_aside) = setup(s, warn)?;
    let _signals = crate::sys::watch_termination().map_err(|source| Error::Capture {
        iface: watched[0].name.clone(),
        source,
    })?;
    let start = Instant::now();
    let stop_at = s.duration.map(|d| start + d);
    let (mut frames, mut ignored, mut seen) = (0u64, 0u64, 0u64);
    let mut events = Vec::new();
    let mut undelivered = Vec::new();
    let every = sink.progress_every();
    let names: Vec<String> = watched.iter().map(|w| w.name.clone()).collect();
    let mut progressed: Option<Instant> = None;
    let stop = 'watch: loop {
        if let Some(sig) = crate::sys::termination() {
            break Stop::Signal(sig);
        }
        let now = Instant::now();
        if stop_at.is_some_and(|t| now >= t) {
            break Stop::Duration;
        }
        if let Some(every) = every
            && progressed.is_none_or(|t| now.duration_since(t) >= every)
        {
            progressed = Some(now);
            let p = Progress {
                interfaces: &names,
                frames,
                ignored,
                drops: drops(&mut watched)?,
                summary: watch.summary(),
            };
            if sink.progress(&p).is_break() {
                break Stop::Caller;
            }
        }
        let mut got = 0;
        for w in &mut watched {
            for _ in 0..BATCH {
                let capture = |source| Error::Capture {
                    iface: w.name.clone(),
                    source,
                };
                let Some((bytes, at)) = w.ring.next(Duration::ZERO).map_err(capture)? else {
                    break;
                };
                got += 1;
                if not_neighbour_traffic(bytes) {
                    continue;
                }
                frames += 1;
                match observation(at, w.ifindex, bytes) {
                    Some(o) => watch.observe(&o, &mut events),
                    None => ignored += 1,
                }
                let stop = deliver(&events, sink, s.count, &mut seen, &mut undelivered);
                events.clear();
                if let Some(stop) = stop {
                    break 'watch stop;
                }
            }
        }
        if got == 0 {
            if sink.idle().is_break() {
                break Stop::Caller;
            }
            let nap = stop_at.map_or(NAP, |t| t.saturating_duration_since(now).min(NAP));
            let mut fds: Vec<PollFd<'_>> = watched
                .iter()
                .map(|w| PollFd::new(w.ring.as_fd(), POLLIN))
                .collect();
            if let Err(e) = poll_many(&mut fds, Some(nap))
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(Error::Capture {
                    iface: watched[0].name.clone(),
                    source: e,
                });
            }
        }
    };
    let drops = drops(&mut watched)?;
    let saved = s.db.as_ref().map(|path| {
        let stations = watch.stations();
        db::save(path, &stations).map(|()| stations.len())
    });
    Ok(Report {
        interfaces: watched.into_iter().map(|w| w.name).collect(),
        frames,
        ignored,
        drops,
        loaded,
        moved_aside,
        saved,
        stopped_by: stop,
        summary: delivered(watch.summary(), &undelivered),
    })
}

/// Hands one frame's events to `sink`, counting them in `seen`, until
/// the sink or `count` says stop. One frame can make several events: the
/// kinds of those after the last one delivered go to `undelivered`, which
/// the exit summary takes back.
fn deliver(
    events: &[Event],
    sink: &mut dyn Sink,
    count: Option<u64>,
    seen: &mut u64,
    undelivered: &mut Vec<super::EventKind>,
) -> Option<Stop> {
    for (i, e) in events.iter().enumerate() {
        *seen += 1;
        let stop = if sink.event(e).is_break() {
            Stop::Caller
        } else if count.is_some_and(|n| *seen >= n) {
            Stop::Count
        } else {
            continue;
        };
        undelivered.extend(events[i + 1..].iter().map(Event::kind));
        return Some(stop);
    }
    None
}

/// `summary` less the events made but never delivered.
fn delivered(mut summary: Summary, undelivered: &[super::EventKind]) -> Summary {
    for &k in undelivered {
        summary.events.take_back(k);
    }
    summary
}

/// Frames the kernel dropped so far, every ring.
fn drops(watched: &mut [Watched]) -> Result<u64, Error> {
    let mut drops = 0;
    for w in watched {
        drops += w.ring.drops().map_err(|source| Error::Capture {
            iface: w.name.clone(),
            source,
        })?;
    }
    Ok(drops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::watch::FrameKind;
    use crate::wire::tests::{behind_hop_by_hop, vector};

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn the_ndp_vectors_become_observations() {
        let ns = vector("ndp-ns-resolve.hex").concat();
        let o = observation(t0(), 3, &ns).expect("NS");
        assert_eq!(o.kind, FrameKind::NdpSolicit);
        assert_eq!(o.sender_mac, o.eth_src, "the SLLA is the sender's");
        let dad = vector("ndp-ns-dad.hex").concat();
        assert!(observation(t0(), 3, &dad).expect("DAD").is_dad_probe());
        let na = vector("ndp-na-unsolicited.hex").concat();
        let o = observation(t0(), 3, &na).expect("NA");
        assert!(matches!(o.kind, FrameKind::NdpAdvert(f) if !f.solicited));
        assert!(o.is_announcement());
        let arp = vector("arp-reply.hex").concat();
        assert_eq!(
            observation(t0(), 3, &arp).unwrap().kind,
            FrameKind::ArpReply
        );
    }

    #[test]
    fn ndp_frames_failing_rfc_4861_checks_are_ignored() {
        let na = vector("ndp-na-solicited.hex").concat();
        // Ethernet 14 + IPv6: hop limit at 7; ICMPv6 at 54: code at 55.
        let mut hop = na.clone();
        hop[14 + 7] = 64;
        assert!(observation(t0(), 1, &hop).is_none());
        let mut code = na.clone();
        code[55] = 1;
        assert!(observation(t0(), 1, &code).is_none());
        let mut sum = na.clone();
        let last = sum.len() - 1;
        sum[last] ^= 0xff;
        assert!(observation(t0(), 1, &sum).is_none());
        assert!(observation(t0(), 1, &na[..40]).is_none());
        assert!(observation(t0(), 1, &na).is_some());
        // Behind a hop-by-hop header: still neighbour traffic; another
        // ICMPv6 message there (an MLD report, type 143) or UDP is not,
        // and neither is counted; ARP and a plain NA are.
        let at = crate::wire::ethernet::HEADER_LEN + ipv6::HEADER_LEN;
        let behind = |frame: &[u8], icmp_type: Option<u8>| {
            let mut b = behind_hop_by_hop(frame);
            if let Some(t) = icmp_type {
                b[at + 8] = t;
            }
            b
        };
        assert!(!not_neighbour_traffic(&behind(&na, None)));
        assert!(observation(t0(), 3, &behind(&na, None)).is_some());
        assert!(not_neighbour_traffic(&behind(&na, Some(143))));
        let mut udp = behind(&na, None);
        udp[at] = 17;
        assert!(not_neighbour_traffic(&udp));
        assert!(!not_neighbour_traffic(&na));
        assert!(!not_neighbour_traffic(&vector("arp-reply.hex").concat()));
    }
}
