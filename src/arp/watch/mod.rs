//! The pure core of `nettool arp --watch`: what captured ARP and NDP frames
//! say ([`Observation`]), the machine that turns them into events
//! ([`Watch`]), and the station database (`--db FILE`, [`db`]).
//!
//! Flow: the capture loop ([`run`]) reads a frame, stamps it with the wall
//! clock and its interface index and maps it to an [`Observation`]
//! ([`from_arp_frame`]; NDP through [`Observation::ndp_solicit`] and
//! [`Observation::ndp_advert`]) -> [`Watch::observe`] appends the events it
//! makes -> the front end renders them ([`Event`] serializes as one JSON line
//! of schema [`EVENT_SCHEMA`]) and, at the end, [`Watch::summary`]. No
//! socket and no clock in here: tests script frames with made-up times.
//!
//! A *station* is an IP address on an interface, bound to the MAC address
//! that last claimed it. The claim is the protocol's: ARP's sender (sha,
//! spa); an NS's IPv6 source and source link-layer option; an NA's target
//! and target link-layer option. Only claims by a unicast MAC for an
//! address that belongs on the interface make stations; the rest are bogons
//! ([`BogonReason`]) or DAD probes (counted, no event). Frames from an
//! interface not given to [`Watch::new`] are counted and otherwise ignored.
//! The Ethernet source is checked against the sender MAC on every frame,
//! station or not (for NDP only when the link-layer option is present).
//!
//! When each event is reported, "once" made precise:
//! - `new_station`: the first claim for (interface, IP) while no station for
//!   it is held (stations from the database are held from the start). An
//!   evicted station claimed again is new again.
//! - `changed`: a station's claim moves to a MAC it has not had (among the
//!   MACs its history remembers); the frames that repeat the new binding
//!   are the binding, not changes.
//! - `flip_flop`: a station's claim moves back to a MAC in its history; once
//!   per station and pair of MACs (unordered) while both stay in the
//!   history: a host and a spoofer taking turns give one `changed` and one
//!   `flip_flop`, whatever the number of turns (the rest are counted in the
//!   summary's `repeated_flips`).
//! - `many_ips`: the number of stations on an interface bound to one MAC
//!   reaches the threshold; once while that MAC holds at least one station.
//! - `announcement`: a gratuitous ARP (spa == tpa, request or reply) or an
//!   NA without the solicited flag; once per station and announcing MAC
//!   while that MAC stays in the station's history (a host and a spoofer
//!   announcing in turns give two).
//! - `bogon` and `ether_mismatch`: once per (interface, sender IP, sender
//!   MAC, reason or Ethernet source) while that key is remembered; the
//!   remembered keys are capped ([`Limits::reports`]) and the oldest is
//!   forgotten first (counted as `forgotten_reports`).
//!
//! Memory is bounded whatever a flood sends ([`Limits`]): at most
//! `stations` stations. When a new one arrives at the cap, the least
//! recently seen station that has been seen on one frame only is evicted,
//! else the least recently seen of all: a flood of one-frame addresses
//! evicts itself, not the stations that talk. Each station remembers at
//! most `history` earlier MACs (the least recently seen is dropped). Every
//! eviction is counted in the [`Summary`]. Flip-flop pairs, announcement
//! and `many_ips` flags are per run, not stored in the database; a MAC
//! that holds `many_ips` stations as the database is loaded is not
//! reported. A flood still makes an event per distinct station or key
//! (each is news once): rate-limiting their display is the front end's.

pub mod db;
mod machine;
pub mod run;

pub use machine::{
    BogonReason, Counts, Event, EventKind, Limits, PastMac, Station, Summary, Watch, WatchIface,
    What,
};

use std::net::IpAddr;
use std::time::SystemTime;

use crate::wire::arp::{self, Operation};
use crate::wire::ethernet::{ETHERTYPE_ARP, Frame};
use crate::wire::{MacAddr, WireError};

/// The `schema` of every `--watch --json` line.
pub const EVENT_SCHEMA: &str = "nettool.arp.event/1";

/// What kind of frame an observation came from, with an NA's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    ArpRequest,
    ArpReply,
    /// An `ICMPv6` Neighbor Solicitation.
    NdpSolicit,
    /// An `ICMPv6` Neighbor Advertisement, with its flags.
    NdpAdvert(NaFlags),
}

/// A Neighbor Advertisement's R, S and O flags (RFC 4861 4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NaFlags {
    pub router: bool,
    pub solicited: bool,
    pub override_: bool,
}

impl FrameKind {
    /// The name in events: `arp_request`, `arp_reply`, `ns`, `na`.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameKind::ArpRequest => "arp_request",
            FrameKind::ArpReply => "arp_reply",
            FrameKind::NdpSolicit => "ns",
            FrameKind::NdpAdvert(_) => "na",
        }
    }

    pub fn is_arp(self) -> bool {
        matches!(self, FrameKind::ArpRequest | FrameKind::ArpReply)
    }
}

/// What one captured frame says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// When it was captured (the wall clock: stored and shown).
    pub at: SystemTime,
    /// The interface index it arrived on (`sll_ifindex`).
    pub iface: u32,
    /// The Ethernet source address.
    pub eth_src: MacAddr,
    pub kind: FrameKind,
    /// The address the sender claims: ARP's spa, an NS's IPv6 source (`::`
    /// for a DAD probe), an NA's target.
    pub sender_ip: IpAddr,
    /// The MAC the protocol gives for `sender_ip`: ARP's sha, an NS's
    /// source link-layer option, an NA's target link-layer option; the
    /// Ethernet source when the NDP option is absent.
    pub sender_mac: MacAddr,
    /// ARP's tpa; an NS's target; an NA's IPv6 destination.
    pub target_ip: IpAddr,
}

impl Observation {
    /// A gratuitous ARP (RFC 5227's announcement: spa == tpa, request or
    /// reply) or an unsolicited NA (S flag clear).
    pub fn is_announcement(&self) -> bool {
        match self.kind {
            FrameKind::ArpRequest | FrameKind::ArpReply => self.sender_ip == self.target_ip,
            FrameKind::NdpAdvert(f) => !f.solicited,
            FrameKind::NdpSolicit => false,
        }
    }

    /// Duplicate address detection: an ARP probe (RFC 5227: request from
    /// 0.0.0.0) or an NS from `::` (RFC 4862), asking about a unicast
    /// address.
    pub fn is_dad_probe(&self) -> bool {
        let asks_unicast = match self.target_ip {
            IpAddr::V4(t) => !t.is_unspecified() && !t.is_broadcast() && !t.is_multicast(),
            IpAddr::V6(t) => !t.is_unspecified() && !t.is_multicast(),
        };
        matches!(self.kind, FrameKind::ArpRequest | FrameKind::NdpSolicit)
            && self.sender_ip.is_unspecified()
            && asks_unicast
    }

    /// An NS as the NDP codec gives it: the IPv6 source and destination
    /// are the IPv6 header's, `target` the NS's, `slla` its source
    /// link-layer option (absent from `::`, optional in unicast NS).
    pub fn ndp_solicit(
        at: SystemTime,
        iface: u32,
        eth_src: MacAddr,
        source: std::net::Ipv6Addr,
        target: std::net::Ipv6Addr,
        slla: Option<MacAddr>,
    ) -> Observation {
        Observation {
            at,
            iface,
            eth_src,
            kind: FrameKind::NdpSolicit,
            sender_ip: IpAddr::V6(source),
            sender_mac: slla.unwrap_or(eth_src),
            target_ip: IpAddr::V6(target),
        }
    }

    /// An NA as the NDP codec gives it: `target` is the address advertised,
    /// `tlla` the target link-layer option, `destination` the IPv6
    /// header's destination; `flags` its R, S, O.
    pub fn ndp_advert(
        at: SystemTime,
        iface: u32,
        eth_src: MacAddr,
        destination: std::net::Ipv6Addr,
        target: std::net::Ipv6Addr,
        tlla: Option<MacAddr>,
        flags: NaFlags,
    ) -> Observation {
        Observation {
            at,
            iface,
            eth_src,
            kind: FrameKind::NdpAdvert(flags),
            sender_ip: IpAddr::V6(target),
            sender_mac: tlla.unwrap_or(eth_src),
            target_ip: IpAddr::V6(destination),
        }
    }
}

/// Why a captured frame is not an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotObserved {
    #[error("not ARP (ethertype {0:#06x})")]
    NotArp(u16),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("ARP operation {0} is neither request nor reply")]
    Operation(u16),
}

/// What an Ethernet frame carrying ARP says.
///
/// # Errors
/// Another ethertype, a truncated or non-Ethernet/IPv4 ARP packet, an
/// operation other than request or reply.
pub fn from_arp_frame(
    at: SystemTime,
    iface: u32,
    frame: &[u8],
) -> Result<Observation, NotObserved> {
    let f = Frame::new_checked(frame)?;
    if f.ethertype() != ETHERTYPE_ARP {
        return Err(NotObserved::NotArp(f.ethertype()));
    }
    let r = arp::Repr::parse(&arp::Packet::new_checked(f.payload())?)?;
    let kind = match r.operation {
        Operation::Request => FrameKind::ArpRequest,
        Operation::Reply => FrameKind::ArpReply,
        Operation::Unknown(n) => return Err(NotObserved::Operation(n)),
    };
    Ok(Observation {
        at,
        iface,
        eth_src: f.src(),
        kind,
        sender_ip: IpAddr::V4(r.sender_ip),
        sender_mac: r.sender_mac,
        target_ip: IpAddr::V4(r.target_ip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet;
    use crate::wire::tests::vector;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn the_arp_vectors_become_observations() {
        let req = vector("arp-request.hex").concat();
        let o = from_arp_frame(t0(), 7, &req).unwrap();
        assert_eq!(
            o,
            Observation {
                at: t0(),
                iface: 7,
                eth_src: "00:05:5d:61:58:a8".parse().unwrap(),
                kind: FrameKind::ArpRequest,
                sender_ip: Ipv4Addr::new(192, 168, 0, 55).into(),
                sender_mac: "00:05:5d:61:58:a8".parse().unwrap(),
                target_ip: Ipv4Addr::new(192, 168, 0, 2).into(),
            }
        );
        assert!(!o.is_announcement() && !o.is_dad_probe());
        let rep = vector("arp-reply.hex").concat();
        let o = from_arp_frame(t0(), 7, &rep).unwrap();
        assert_eq!(o.kind, FrameKind::ArpReply);
        assert_eq!(o.sender_ip, IpAddr::from(Ipv4Addr::new(192, 168, 0, 2)));
        assert_eq!(o.sender_mac.to_string(), "00:05:5d:a1:b8:40");
        assert_eq!(o.eth_src, o.sender_mac);
    }

    #[test]
    fn frames_that_are_not_arp_requests_or_replies_are_refused() {
        let good = vector("arp-reply.hex").concat();
        assert!(matches!(
            from_arp_frame(t0(), 1, &good[..13]),
            Err(NotObserved::Wire(_))
        ));
        assert!(matches!(
            from_arp_frame(t0(), 1, &good[..30]),
            Err(NotObserved::Wire(_))
        ));
        let mut ip = good.clone();
        ip[12..14].copy_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
        assert_eq!(
            from_arp_frame(t0(), 1, &ip),
            Err(NotObserved::NotArp(0x0800))
        );
        let mut rarp = good.clone();
        rarp[14 + 7] = 3;
        assert_eq!(
            from_arp_frame(t0(), 1, &rarp),
            Err(NotObserved::Operation(3))
        );
    }

    #[test]
    fn probes_and_announcements_are_told_apart() {
        let a = Ipv4Addr::new(198, 51, 100, 7);
        let mac: MacAddr = "02:00:00:00:00:07".parse().unwrap();
        let arp = |kind, s: Ipv4Addr, t: Ipv4Addr| Observation {
            at: t0(),
            iface: 1,
            eth_src: mac,
            kind,
            sender_ip: s.into(),
            sender_mac: mac,
            target_ip: t.into(),
        };
        let probe = arp(FrameKind::ArpRequest, Ipv4Addr::UNSPECIFIED, a);
        assert!(probe.is_dad_probe() && !probe.is_announcement());
        assert!(!arp(FrameKind::ArpReply, Ipv4Addr::UNSPECIFIED, a).is_dad_probe());
        let zero = Ipv4Addr::UNSPECIFIED;
        assert!(!arp(FrameKind::ArpRequest, zero, zero).is_dad_probe());
        assert!(!arp(FrameKind::ArpRequest, zero, Ipv4Addr::BROADCAST).is_dad_probe());
        assert!(arp(FrameKind::ArpRequest, a, a).is_announcement());
        assert!(arp(FrameKind::ArpReply, a, a).is_announcement());

        let b: Ipv6Addr = "2001:db8::7".parse().unwrap();
        let ns = Observation::ndp_solicit(t0(), 1, mac, Ipv6Addr::UNSPECIFIED, b, None);
        assert!(ns.is_dad_probe());
        assert_eq!(ns.sender_mac, mac, "no option: the Ethernet source");
        let other: MacAddr = "02:00:00:00:00:08".parse().unwrap();
        let flags = |solicited| NaFlags {
            router: false,
            solicited,
            override_: true,
        };
        let na = Observation::ndp_advert(
            t0(),
            1,
            mac,
            "ff02::1".parse().unwrap(),
            b,
            Some(other),
            flags(false),
        );
        assert!(na.is_announcement() && !na.is_dad_probe());
        assert_eq!((na.sender_ip, na.sender_mac), (IpAddr::V6(b), other));
        let solicited = Observation::ndp_advert(t0(), 1, mac, b, b, None, flags(true));
        assert!(!solicited.is_announcement());
    }
}
