//! `nettool arp`: ARP requests and IPv6 neighbour solicitations over a raw
//! datalink channel (like arping and ndisc6), subnet sweeps (like
//! arp-scan) and the kernel's neighbour table.
//!
//! Flow: [`Settings`] (plain data from the flags) -> a call in [`run`]
//! resolves the interface and source (route lookup, no privilege) ->
//! `PnetLink::open` (the one privileged step; capabilities are dropped
//! right after) -> [`run_probe`] (both families: [`Ask`]) or [`sweep::run`]
//! drive the pure logic in [`probe`] and [`probe6`] with frames and
//! timestamps from the link, telling the caller
//! what happens through events -> a typed report ([`report`]).

pub mod cache;
pub mod link;
pub mod local6;
pub mod oui;
pub mod probe;
pub mod probe6;
pub mod report;
pub mod route;
pub mod run;
pub mod settings;
#[cfg(test)]
mod sim;
pub mod sweep;
pub mod watch;

pub use crate::wire::icmpv6::AdvertReject;
pub use settings::{
    AnnounceSettings, CacheSettings, Job, Local6Settings, Networks, OurAddr, ProbeSettings,
    Settings, SweepSettings,
};

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use pnet_datalink::NetworkInterface;

use crate::addr::Cidr;
use crate::sys::iface::{IFF_LOOPBACK, IFF_NOARP, IFF_UP};
use crate::wire::MacAddr;
use link::Link;
use probe::{BadMac, Heard, Me, Reply, Source, Tracker};
use probe6::Ask6;

/// Setup problems, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ArpError {
    #[error(
        "raw ARP and NDP frames (sent, or captured by --watch) need CAP_NET_RAW: run as root or `setcap cap_net_raw+ep $(which nettool)`"
    )]
    NoPrivilege,
    #[error("no interface named {name}: the interfaces here are {have}")]
    NoSuchInterface { name: String, have: String },
    #[error("interface {0} does not do ARP or NDP ({1}): name an Ethernet interface with -I")]
    NoArp(String, &'static str),
    #[error("interface {0} is down: bring it up with `ip link set {0} up`")]
    Down(String),
    #[error("no route to {0}: add one, or name the interface with -I")]
    NoRoute(IpAddr),
    #[error(
        "{target} is not on a directly connected network (the route goes via {gateway} on {iface}); ARP and neighbour discovery do not cross routers: probe the gateway {gateway} instead"
    )]
    BehindGateway {
        target: IpAddr,
        gateway: IpAddr,
        iface: String,
    },
    #[error("interface {0} has no IPv4 address: give a source address with -s")]
    NoSource(String),
    #[error(
        "interface {0} has no IPv6 address: enable IPv6 on it (sysctl net.ipv6.conf.{0}.disable_ipv6=0) or pick another with -I"
    )]
    NoSource6(String),
    #[error("{addr} is not an address of {iface} (it has: {have}); use one of those with -s")]
    ForeignSource {
        addr: IpAddr,
        iface: String,
        have: String,
    },
    #[error(
        "{0} is a link-local address and more than one interface could reach it: add the zone, as in {0}%IFACE, or name the interface with -I"
    )]
    NeedsZone(Ipv6Addr),
    #[error(
        "{0} is a link-local address, and no interface here has IPv6 on it (a link-local address of its own): name one with -I or as {0}%IFACE"
    )]
    NoLinkLocal(Ipv6Addr),
    #[error("cannot open a raw channel on {iface}: {source}")]
    Channel {
        iface: String,
        source: std::io::Error,
    },
    #[error("no interface that does ARP is up: name one with -I")]
    NoArpInterface,
    #[error(
        "{net} on {iface} is wider than /{}: sweep a narrower range by CIDR instead",
        sweep::MAX_SWEEP_PREFIX
    )]
    LocalNetTooWide { net: Cidr, iface: String },
    #[error("{0} is not an IPv4 network: ARP is IPv4 only")]
    NotIpv4(Cidr),
    #[error("no network to sweep: give one as ADDR/LEN")]
    NoNetwork,
    #[error("{0} is not an address of any interface here: -U announces an address of ours")]
    NotOurs(IpAddr),
}

/// Why a call in [`run`] failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Before anything was sent: what to do about it is said.
    #[error(transparent)]
    Setup(#[from] ArpError),
    /// The link failed while sending or receiving.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("cannot read the neighbour table (rtnetlink RTM_GETNEIGH): {0}")]
    Cache(std::io::Error),
}

/// An interface that can do ARP and NDP, with its MAC and its IPv4 and
/// IPv6 networks.
#[derive(Debug, Clone)]
pub struct Iface {
    pub raw: NetworkInterface,
    pub mac: MacAddr,
    pub v4: Vec<(Ipv4Addr, u8)>,
    pub v6: Vec<(Ipv6Addr, u8)>,
}

impl Iface {
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// The address of ours on the same network as `target`, else the
    /// first one.
    pub fn source_for(&self, target: Ipv4Addr) -> Option<Ipv4Addr> {
        self.v4
            .iter()
            .find(|(a, len)| {
                Cidr::new(IpAddr::V4(*a), *len).is_ok_and(|n| n.contains(IpAddr::V4(target)))
            })
            .or(self.v4.first())
            .map(|(a, _)| *a)
    }

    /// `ip` if it is one of our addresses.
    ///
    /// # Errors
    /// [`ArpError::ForeignSource`], naming the addresses we have.
    pub fn ours(&self, ip: Ipv4Addr) -> Result<Ipv4Addr, ArpError> {
        if self.v4.iter().any(|(a, _)| *a == ip) {
            return Ok(ip);
        }
        Err(ArpError::ForeignSource {
            addr: IpAddr::V4(ip),
            iface: self.name().to_string(),
            have: self.have(false),
        })
    }

    /// The source of a solicitation for `target`: `preferred` (the
    /// kernel's choice from the route) when it is ours; else a link-local
    /// address of ours for a link-local target; else one on the target's
    /// network; else any, link-local last (RFC 4861 7.2.2: any address of
    /// the interface will do).
    pub fn source6_for(&self, target: Ipv6Addr, preferred: Option<Ipv6Addr>) -> Option<Ipv6Addr> {
        if let Some(p) = preferred.filter(|p| self.v6.iter().any(|(a, _)| a == p)) {
            return Some(p);
        }
        let on_net = |(a, len): &&(Ipv6Addr, u8)| {
            Cidr::new(IpAddr::V6(*a), *len).is_ok_and(|n| n.contains(IpAddr::V6(target)))
        };
        let pick = if target.is_unicast_link_local() {
            self.v6.iter().find(|(a, _)| a.is_unicast_link_local())
        } else {
            self.v6
                .iter()
                .filter(|(a, _)| !a.is_unicast_link_local())
                .find(on_net)
                .or_else(|| self.v6.iter().find(|(a, _)| !a.is_unicast_link_local()))
        };
        pick.or(self.v6.first()).map(|(a, _)| *a)
    }

    /// `ip` if it is one of our IPv6 addresses.
    ///
    /// # Errors
    /// [`ArpError::ForeignSource`], naming the addresses we have.
    pub fn ours6(&self, ip: Ipv6Addr) -> Result<Ipv6Addr, ArpError> {
        if self.v6.iter().any(|(a, _)| *a == ip) {
            return Ok(ip);
        }
        Err(ArpError::ForeignSource {
            addr: IpAddr::V6(ip),
            iface: self.name().to_string(),
            have: self.have(true),
        })
    }

    /// Our networks of one family, "a/len, b/len", or "none".
    fn have(&self, v6: bool) -> String {
        let v: Vec<String> = if v6 {
            self.v6.iter().map(|(a, l)| format!("{a}/{l}")).collect()
        } else {
            self.v4.iter().map(|(a, l)| format!("{a}/{l}")).collect()
        };
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    /// The error for an interface without an IPv4 address.
    pub fn no_source(&self) -> ArpError {
        ArpError::NoSource(self.name().to_string())
    }

    /// The error for an interface without an IPv6 address.
    pub fn no_source6(&self) -> ArpError {
        ArpError::NoSource6(self.name().to_string())
    }
}

/// How many interfaces the unknown-interface error names at most: a
/// host with thousands (containers, VLANs) still gets a one-line error.
const NAMED_INTERFACES: usize = 16;

/// The error for an interface `name` that does not exist, naming those
/// that do (the first [`NAMED_INTERFACES`], then how many more).
fn no_such_interface(name: &str, all: &[NetworkInterface]) -> ArpError {
    ArpError::NoSuchInterface {
        name: name.to_string(),
        have: names_capped(all.iter().map(|i| i.name.as_str())),
    }
}

/// "a, b, c", at most [`NAMED_INTERFACES`] names, then "and N more".
fn names_capped<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    if total == 0 {
        return "none".into();
    }
    let mut text = names.take(NAMED_INTERFACES).collect::<Vec<_>>().join(", ");
    if total > NAMED_INTERFACES {
        let _ = write!(text, " and {} more", total - NAMED_INTERFACES);
    }
    text
}

/// Check that an interface named `name` exists (any kind: the cache view
/// shows loopback and NOARP entries too).
///
/// # Errors
/// [`ArpError::NoSuchInterface`], naming those that exist.
pub fn check_interface_exists(name: &str) -> Result<(), ArpError> {
    let all = pnet_datalink::interfaces();
    if all.iter().any(|i| i.name == name) {
        Ok(())
    } else {
        Err(no_such_interface(name, &all))
    }
}

/// Find `name` and check it can do ARP.
///
/// # Errors
/// It does not exist, is loopback, NOARP, has no MAC, or is down.
pub fn interface(name: &str) -> Result<Iface, ArpError> {
    let all = pnet_datalink::interfaces();
    let raw = match all.iter().find(|i| i.name == name) {
        Some(i) => i.clone(),
        None => return Err(no_such_interface(name, &all)),
    };
    if raw.flags & IFF_LOOPBACK != 0 {
        return Err(ArpError::NoArp(name.to_string(), "loopback"));
    }
    if raw.flags & IFF_NOARP != 0 {
        return Err(ArpError::NoArp(name.to_string(), "NOARP flag set"));
    }
    let mac = match raw.mac.map(|m| MacAddr(m.octets())) {
        Some(m) if m != MacAddr::ZERO => m,
        _ => return Err(ArpError::NoArp(name.to_string(), "no Ethernet address")),
    };
    if raw.flags & IFF_UP == 0 {
        return Err(ArpError::Down(name.to_string()));
    }
    let v4 = raw
        .ips
        .iter()
        .filter_map(|n| match n.ip() {
            IpAddr::V4(a) => Some((a, n.prefix())),
            IpAddr::V6(_) => None,
        })
        .collect();
    let v6 = raw
        .ips
        .iter()
        .filter_map(|n| match n.ip() {
            IpAddr::V6(a) => Some((a, n.prefix())),
            IpAddr::V4(_) => None,
        })
        .collect();
    Ok(Iface { raw, mac, v4, v6 })
}

/// The interface the kernel routes `target` through, refusing targets that
/// are behind a gateway.
///
/// # Errors
/// No route, a route via a gateway, or an interface that cannot do ARP.
pub fn interface_for(target: Ipv4Addr, only: Option<&str>) -> Result<Iface, ArpError> {
    let routes = route::read_routes().unwrap_or_default();
    let Some(r) = route::lookup(&routes, target, only) else {
        // With -I and no matching route the user knows the segment: trust
        // them (arping does too); without -I we cannot guess.
        return match only {
            Some(name) => interface(name),
            None => Err(ArpError::NoRoute(IpAddr::V4(target))),
        };
    };
    if let Some(gateway) = r.gateway {
        return Err(ArpError::BehindGateway {
            target: IpAddr::V4(target),
            gateway: IpAddr::V4(gateway),
            iface: r.iface.clone(),
        });
    }
    interface(&r.iface)
}

/// The interface the kernel routes IPv6 `target` through (`only`, the
/// zone or -I, pins it), and the source the kernel would pick for it.
/// A link-local target needs an interface: the zone, -I, or the only
/// interface that can do NDP.
///
/// # Errors
/// No route, a route via a gateway, a link-local target without a zone
/// where several interfaces could reach it, or an interface that cannot
/// do NDP.
pub fn interface_for6(
    target: Ipv6Addr,
    only: Option<&str>,
) -> Result<(Iface, Option<Ipv6Addr>), ArpError> {
    let oif = match only {
        Some(name) => Some(
            crate::sys::interface_index(name)
                .ok_or_else(|| no_such_interface(name, &pnet_datalink::interfaces()))?,
        ),
        None => None,
    };
    if target.is_unicast_link_local() && oif.is_none() {
        // Every link has fe80::/64: the route says nothing. One candidate
        // is unambiguous; more are the user's to choose.
        let candidates: Vec<Iface> = pnet_datalink::interfaces()
            .iter()
            .filter_map(|i| interface(&i.name).ok())
            .filter(|i| i.v6.iter().any(|(a, _)| a.is_unicast_link_local()))
            .collect();
        return match <[Iface; 1]>::try_from(candidates) {
            Ok([one]) => Ok((one, None)),
            Err(none) if none.is_empty() => Err(ArpError::NoLinkLocal(target)),
            Err(_) => Err(ArpError::NeedsZone(target)),
        };
    }
    let Ok(route) = crate::neigh::route_to(IpAddr::V6(target), oif) else {
        // With -I and no route the user knows the segment, as for IPv4.
        return match only {
            Some(name) => Ok((interface(name)?, None)),
            None => Err(ArpError::NoRoute(IpAddr::V6(target))),
        };
    };
    let name = match (route.oif.and_then(crate::sys::interface_name), only) {
        (Some(n), _) => n,
        (None, Some(name)) => name.to_string(),
        (None, None) => return Err(ArpError::NoRoute(IpAddr::V6(target))),
    };
    if let Some(gateway) = route.gateway {
        return Err(ArpError::BehindGateway {
            target: IpAddr::V6(target),
            gateway,
            iface: name,
        });
    }
    let preferred = match route.prefsrc {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    };
    Ok((interface(&name)?, preferred))
}

/// The interface of the default route, else the first that can do ARP.
///
/// # Errors
/// The default route's interface cannot do ARP, or no interface can.
pub fn default_interface() -> Result<Iface, ArpError> {
    let routes = route::read_routes().unwrap_or_default();
    if let Some(r) = routes.iter().find(|r| r.prefix_len() == 0) {
        return interface(&r.iface);
    }
    pnet_datalink::interfaces()
        .into_iter()
        .find_map(|i| interface(&i.name).ok())
        .ok_or(ArpError::NoArpInterface)
}

/// What the probe loop is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Ask for `target`, report replies.
    Probe,
    /// Duplicate address detection: sender 0.0.0.0, stop at the first
    /// reply.
    Dad,
    /// Gratuitous ARP for our own address (`as_reply`: as an ARP reply),
    /// or an unsolicited advertisement (`router`: this host forwards IPv6
    /// on the interface); no replies expected.
    Announce { as_reply: bool, router: bool },
}

/// Who asks what, in either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// ARP: `me.ip` is 0.0.0.0 in DAD, the announced address in an
    /// announcement (`target` too).
    V4 { me: Me, target: Ipv4Addr },
    /// NDP.
    V6(Ask6),
}

impl Ask {
    /// Our side, as reports show it.
    pub fn source(&self) -> Source {
        match self {
            Ask::V4 { me, .. } => (*me).into(),
            Ask::V6(a) => Source {
                mac: a.mac,
                ip: IpAddr::V6(a.ip),
            },
        }
    }

    /// The frame to send next in `mode`; `unicast_to` is the MAC that
    /// answered first when follow-ups go unicast.
    fn frame(&self, mode: Mode, unicast_to: Option<MacAddr>) -> Vec<u8> {
        match (self, mode) {
            (Ask::V4 { me, .. }, Mode::Announce { as_reply, .. }) => {
                probe::announcement(*me, as_reply).to_vec()
            }
            (Ask::V4 { me, target }, _) => match unicast_to {
                Some(mac) => probe::request_unicast(*me, *target, mac).to_vec(),
                None => probe::request(*me, *target).to_vec(),
            },
            (Ask::V6(a), Mode::Announce { router, .. }) => probe6::announcement(a, router),
            (Ask::V6(a), Mode::Dad) => probe6::dad_probe(a),
            (Ask::V6(a), Mode::Probe) => probe6::solicitation(a, unicast_to),
        }
    }

    /// What a received frame means in `mode`.
    fn hear(&self, mode: Mode, bytes: &[u8], unicast_to: Option<MacAddr>) -> Heard {
        match (self, mode) {
            (_, Mode::Announce { .. }) => Heard::Nothing,
            (Ask::V4 { me, target }, _) => probe::hear(bytes, *me, *target),
            (Ask::V6(a), Mode::Dad) => probe6::hear_dad(a, bytes),
            (Ask::V6(a), Mode::Probe) => probe6::hear_probe(a, bytes, unicast_to),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub mode: Mode,
    pub ask: Ask,
    pub count: Option<u64>,
    pub interval: Duration,
    pub deadline: Option<Duration>,
    pub first: bool,
    /// After the first reply, ask its MAC directly (`--unicast`).
    pub unicast: bool,
}

/// Something a probe or an announcement reports as it happens.
#[derive(Debug)]
pub enum Event {
    /// The channel is open on `interface` and nothing is sent yet.
    Ready {
        interface: String,
        me: Source,
    },
    /// A request (or announcement) went out: the `sent`th.
    Sent {
        sent: u64,
    },
    Reply {
        from: IpAddr,
        reply: Reply,
    },
    /// A reply for the target with a sender MAC no host has; `listed` for
    /// the first few, to be shown.
    Invalid {
        from: IpAddr,
        mac: MacAddr,
        why: BadMac,
        listed: bool,
    },
    /// An advertisement for the target (IPv6) that fails NDP's checks,
    /// sent from `mac`; `listed` for the first few.
    Rejected {
        from: IpAddr,
        mac: MacAddr,
        why: AdvertReject,
        listed: bool,
    },
}

/// Run requests and collect replies until the count, the deadline, the
/// first reply (`-f`, `-D`) or `stop()` (Ctrl-C). After the last request
/// the loop waits one more interval for its answer, unless it has already
/// come. ARP and NDP share it: only the frames and their meaning differ
/// ([`Ask`]).
///
/// # Errors
/// The link failing to send or receive.
pub fn run_probe(
    link: &mut dyn Link,
    cfg: &ProbeConfig,
    on_event: &mut dyn FnMut(&Event),
    stop: &dyn Fn() -> bool,
) -> std::io::Result<Tracker> {
    let start = Instant::now();
    let deadline = cfg.deadline.map(|d| start + d);
    let mut t = Tracker::default();
    let mut next_send = start;
    let mut wait_until = start;
    let stop_at_first = cfg.first || cfg.mode == Mode::Dad;
    let announce = matches!(cfg.mode, Mode::Announce { .. });
    // Unicast follow-ups go to the first MAC that answered, once one did.
    let unicast_to = |t: &Tracker| {
        (cfg.unicast && cfg.mode == Mode::Probe)
            .then(|| t.macs.first().map(|(m, _)| *m))
            .flatten()
    };
    loop {
        let now = Instant::now();
        if stop() || deadline.is_some_and(|d| now >= d) {
            break;
        }
        let all_sent = cfg.count.is_some_and(|c| t.sent >= c);
        if all_sent && (now >= wait_until || !t.waiting() || announce) {
            break;
        }
        if !all_sent && now >= next_send {
            let frame = cfg.ask.frame(cfg.mode, unicast_to(&t));
            let at = link.send(&frame)?;
            t.on_send(at);
            on_event(&Event::Sent { sent: t.sent });
            next_send += cfg.interval;
            wait_until = at + cfg.interval;
            continue;
        }
        // Wake for the next send, the end of the wait, the deadline, and at
        // least every 100 ms to notice Ctrl-C.
        let mut until = if all_sent { wait_until } else { next_send };
        if let Some(d) = deadline {
            until = until.min(d);
        }
        until = until.min(now + Duration::from_millis(100));
        let Some((bytes, at)) = link.recv(until)? else {
            continue;
        };
        match cfg.ask.hear(cfg.mode, &bytes, unicast_to(&t)) {
            Heard::Nothing => {}
            Heard::Invalid { from, mac, why } => {
                let listed = t.on_invalid(mac, why);
                on_event(&Event::Invalid {
                    from,
                    mac,
                    why,
                    listed,
                });
            }
            Heard::Rejected { from, mac, why } => {
                let listed = t.on_rejected(mac, why);
                on_event(&Event::Rejected {
                    from,
                    mac,
                    why,
                    listed,
                });
            }
            Heard::Reply { from, mac } => {
                let reply = t.on_reply(mac, at);
                let counted = !reply.unsolicited;
                on_event(&Event::Reply { from, reply });
                if stop_at_first && counted {
                    break;
                }
            }
        }
    }
    t.dropped = link.drops();
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface_with(v6: &[(&str, u8)]) -> Iface {
        Iface {
            raw: NetworkInterface {
                name: "lab0".into(),
                description: String::new(),
                index: 7,
                mac: None,
                ips: Vec::new(),
                flags: 0,
            },
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            v4: Vec::new(),
            v6: v6.iter().map(|(a, l)| (a.parse().unwrap(), *l)).collect(),
        }
    }

    #[test]
    fn the_solicitation_source_matches_the_targets_scope_and_network() {
        let ip = |s: &str| s.parse::<Ipv6Addr>().unwrap();
        let i = iface_with(&[
            ("fe80::1", 64),
            ("2001:db8:1::1", 64),
            ("2001:db8:2::1", 64),
        ]);
        // The kernel's choice wins when it is ours; a foreign one is not.
        assert_eq!(
            i.source6_for(ip("2001:db8:1::9"), Some(ip("2001:db8:2::1"))),
            Some(ip("2001:db8:2::1"))
        );
        assert_eq!(
            i.source6_for(ip("2001:db8:1::9"), Some(ip("2001:db8:9::1"))),
            Some(ip("2001:db8:1::1"))
        );
        // Same network, else any global, link-local for link-local.
        assert_eq!(
            i.source6_for(ip("2001:db8:2::9"), None),
            Some(ip("2001:db8:2::1"))
        );
        assert_eq!(
            i.source6_for(ip("2001:db8:7::9"), None),
            Some(ip("2001:db8:1::1"))
        );
        assert_eq!(i.source6_for(ip("fe80::9"), None), Some(ip("fe80::1")));
        // Only a link-local address: it serves every target.
        let ll = iface_with(&[("fe80::1", 64)]);
        assert_eq!(ll.source6_for(ip("2001:db8::9"), None), Some(ip("fe80::1")));
        assert_eq!(iface_with(&[]).source6_for(ip("fe80::9"), None), None);
        // Ours or a one-line refusal naming what we have.
        assert_eq!(i.ours6(ip("2001:db8:2::1")).unwrap(), ip("2001:db8:2::1"));
        let e = i.ours6(ip("2001:db8:2::2")).unwrap_err().to_string();
        assert!(
            e.contains("fe80::1/64, 2001:db8:1::1/64, 2001:db8:2::1/64"),
            "{e}"
        );
    }

    #[test]
    fn the_unknown_interface_error_names_at_most_16() {
        let names: Vec<String> = (0..40).map(|i| format!("veth{i}")).collect();
        let text = names_capped(names.iter().map(String::as_str));
        assert_eq!(text.matches("veth").count(), 16, "{text}");
        assert!(text.starts_with("veth0, veth1, "), "{text}");
        assert!(text.ends_with("veth15 and 24 more"), "{text}");
        let few = ["lo", "eth0"];
        assert_eq!(names_capped(few.iter().copied()), "lo, eth0");
        assert_eq!(names_capped(std::iter::empty::<&str>()), "none");
        let sixteen: Vec<String> = (0..16).map(|i| format!("v{i}")).collect();
        assert!(!names_capped(sixteen.iter().map(String::as_str)).contains("more"));
    }

    /// A segment that also records the Ethernet destination of each frame
    /// sent.
    struct Recording(sim::Segment, Vec<MacAddr>);

    impl Link for Recording {
        fn send(&mut self, frame: &[u8]) -> std::io::Result<Instant> {
            self.1.extend(MacAddr::from_slice(&frame[..6]));
            self.0.send(frame)
        }
        fn recv(&mut self, until: Instant) -> std::io::Result<Option<(Vec<u8>, Instant)>> {
            self.0.recv(until)
        }
    }

    #[test]
    fn unicast_follow_ups_go_to_the_first_mac_that_answered() {
        let target = Ipv4Addr::new(198, 51, 100, 2);
        let (b, c) = (MacAddr([2, 0, 0, 0, 0, 2]), MacAddr([2, 0, 0, 0, 0, 3]));
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let run = |unicast: bool, hosts: Vec<(Ipv4Addr, MacAddr)>| {
            let mut link = Recording(
                sim::Segment {
                    me,
                    hosts,
                    drop_first: std::collections::HashSet::new(),
                    queue: std::collections::VecDeque::new(),
                    asked: Vec::new(),
                },
                Vec::new(),
            );
            let cfg = ProbeConfig {
                mode: Mode::Probe,
                ask: Ask::V4 { me, target },
                count: Some(3),
                interval: Duration::from_millis(2),
                deadline: Some(Duration::from_secs(5)),
                first: false,
                unicast,
            };
            run_probe(&mut link, &cfg, &mut |_| {}, &|| false).unwrap();
            link.1
        };
        let all = MacAddr::BROADCAST;
        assert_eq!(run(true, vec![(target, b), (target, c)]), [all, b, b]);
        assert_eq!(run(false, vec![(target, b)]), [all, all, all]);
        // Nobody answered yet: still broadcast.
        assert_eq!(run(true, vec![]), [all, all, all]);
    }

    #[test]
    fn a_probe_tells_each_reply_as_it_comes_and_counts_them() {
        let target = Ipv4Addr::new(198, 51, 100, 2);
        let b = MacAddr([2, 0, 0, 0, 0, 2]);
        let c = MacAddr([2, 0, 0, 0, 0, 3]);
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let mut peer = sim::Segment {
            me,
            hosts: vec![(target, b), (target, c)],
            drop_first: std::collections::HashSet::new(),
            queue: std::collections::VecDeque::new(),
            asked: Vec::new(),
        };
        let cfg = ProbeConfig {
            mode: Mode::Probe,
            ask: Ask::V4 { me, target },
            count: Some(2),
            interval: Duration::from_millis(5),
            deadline: Some(Duration::from_secs(5)),
            first: false,
            unicast: false,
        };
        let mut seen = Vec::new();
        let mut sent_at = Vec::new();
        let t = run_probe(
            &mut peer,
            &cfg,
            &mut |ev| match ev {
                Event::Reply { from, reply } => {
                    seen.push((*from, reply.mac, reply.duplicate(), reply.unsolicited));
                }
                Event::Sent { sent } => sent_at.push((*sent, seen.len())),
                _ => {}
            },
            &|| false,
        )
        .unwrap();
        assert_eq!(
            seen,
            [
                (IpAddr::V4(target), b, false, false),
                (IpAddr::V4(target), c, true, false),
                (IpAddr::V4(target), b, true, false),
            ]
        );
        // Each request is told before its answers.
        assert_eq!(sent_at, [(1, 0), (2, 2)]);
        // The run ends at the last request's first answer.
        assert_eq!((t.sent, t.received), (2, 2));
        assert_eq!(t.macs, [(b, 2), (c, 1)]);
        // Stopped before the first request: nothing is sent.
        let t = run_probe(&mut peer, &cfg, &mut |_| {}, &|| true).unwrap();
        assert_eq!(t.sent, 0);
    }
}
