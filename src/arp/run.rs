//! The library calls behind `nettool arp`: each takes its settings, finds
//! the interface and our address, opens the link, tells the caller what
//! happens through events (the first as soon as the channel is open, then
//! each reply as it comes, so a front end can print live), and returns a
//! typed report. None of them prints or installs a signal handler: `stop`
//! is polled, and the caller decides what stops the run.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::link::PnetLink;
use super::local6::{self, Asker};
use super::probe::Me;
use super::probe6::{self, Ask6};
use super::report::{AnnounceReport, CacheReport, Listed, Local6Report, ProbeReport, SweepReport};
use super::settings::{
    AnnounceSettings, CacheSettings, Local6Settings, Networks, OurAddr, ProbeSettings,
    SweepSettings,
};
use super::sweep::{self, MAX_SWEEP_PREFIX, Plan};
use super::{ArpError, Ask, Error, Event, Iface, Mode, ProbeConfig, cache, run_probe};
use crate::addr::Cidr;
use crate::sys::Frames;

/// Probe `s.target` (arping over ARP for IPv4, neighbour solicitation
/// for IPv6), or check it is free (`-D`). Events: [`Event::Ready`], then
/// every reply, every invalid reply and every rejected advertisement for
/// the target (their `listed` says whether to show them one by one; the
/// report keeps the listed replies).
///
/// # Errors
/// [`Error::Setup`] before anything is sent (no route, no such interface,
/// a source that is not ours, no privilege), [`Error::Io`] when the link
/// fails.
pub fn probe(
    s: &ProbeSettings,
    on_event: &mut dyn FnMut(&Event),
    stop: &dyn Fn() -> bool,
) -> Result<ProbeReport, Error> {
    let (iface, ask) = match s.target {
        IpAddr::V4(target) => {
            let iface = super::interface_for(target, s.interface.as_deref())?;
            let ip = if s.dad {
                Ipv4Addr::UNSPECIFIED
            } else {
                match s.source {
                    Some(IpAddr::V4(ip)) => iface.ours(ip)?,
                    Some(ip @ IpAddr::V6(_)) => {
                        return Err(foreign(ip, &iface).into());
                    }
                    None => iface.source_for(target).ok_or_else(|| iface.no_source())?,
                }
            };
            let me = Me { mac: iface.mac, ip };
            (iface, Ask::V4 { me, target })
        }
        IpAddr::V6(target) => {
            let (iface, preferred) = super::interface_for6(target, s.interface.as_deref())?;
            if iface.v6.is_empty() {
                return Err(iface.no_source6().into());
            }
            let ip = if s.dad {
                Ipv6Addr::UNSPECIFIED
            } else {
                match s.source {
                    Some(IpAddr::V6(ip)) => iface.ours6(ip)?,
                    Some(ip @ IpAddr::V4(_)) => {
                        return Err(foreign(ip, &iface).into());
                    }
                    None => iface
                        .source6_for(target, preferred)
                        .ok_or_else(|| iface.no_source6())?,
                }
            };
            let ask = Ask6 {
                mac: iface.mac,
                ip,
                target,
                nonce: probe6::nonce(),
            };
            (iface, Ask::V6(ask))
        }
    };
    let cfg = ProbeConfig {
        mode: if s.dad { Mode::Dad } else { Mode::Probe },
        ask,
        count: s.count,
        interval: s.interval,
        deadline: s.deadline,
        first: s.first,
        unicast: s.unicast,
    };
    let mut link = open(&iface, s.target)?;
    let interface = iface.name().to_string();
    let me = ask.source();
    on_event(&Event::Ready {
        interface: interface.clone(),
        me,
    });
    // Only listed replies (the first few per request) are kept: the rest
    // are counted by the tracker.
    let mut replies = Vec::new();
    let tracker = run_probe(
        &mut link,
        &cfg,
        &mut |ev| {
            if let Event::Reply { from, reply } = ev
                && reply.listed
            {
                replies.push(Listed {
                    from: *from,
                    reply: reply.clone(),
                });
            }
            on_event(ev);
        },
        stop,
    )?;
    Ok(ProbeReport::new(
        s.dad, interface, me, s.target, replies, tracker,
    ))
}

/// The raw channel for `target`'s family: ARP or NDP frames.
fn open(iface: &Iface, target: IpAddr) -> Result<PnetLink, ArpError> {
    let frames = if target.is_ipv4() {
        Frames::Arp
    } else {
        Frames::Ndp
    };
    PnetLink::open_for(&iface.raw, frames)
}

/// A source of the other family than the target's: not one of the
/// interface's addresses for this exchange.
fn foreign(ip: IpAddr, iface: &Iface) -> ArpError {
    let r = match ip {
        IpAddr::V4(a) => iface.ours(a).map(|_| ()),
        IpAddr::V6(a) => iface.ours6(a).map(|_| ()),
    };
    r.err().unwrap_or(ArpError::ForeignSource {
        addr: ip,
        iface: iface.name().to_string(),
        have: "addresses of the target's family only".into(),
    })
}

/// The interface that holds IPv6 `addr` (an announcement of ours needs no
/// route, and the route to a local address is the loopback's).
fn interface_holding6(addr: Ipv6Addr) -> Result<Iface, ArpError> {
    pnet_datalink::interfaces()
        .iter()
        .filter_map(|i| super::interface(&i.name).ok())
        .find(|i| i.v6.iter().any(|(a, _)| *a == addr))
        .ok_or(ArpError::NotOurs(IpAddr::V6(addr)))
}

/// Whether this host forwards IPv6 on `iface` (its namespace's
/// `net.ipv6.conf.IFACE.forwarding`): then it is a router there, and says
/// so in what it advertises, as the kernel does. Unreadable: no.
fn forwards_ipv6(iface: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{iface}/forwarding"))
        .is_ok_and(|v| v.trim() == "1")
}

/// Announce an address of ours (`-U`, `-A`; for IPv6, `-U`: an
/// unsolicited neighbour advertisement). The one event is
/// [`Event::Ready`]: no replies are expected.
///
/// # Errors
/// As [`probe`].
pub fn announce(
    s: &AnnounceSettings,
    on_event: &mut dyn FnMut(&Event),
    stop: &dyn Fn() -> bool,
) -> Result<AnnounceReport, Error> {
    let iface = match &s.addr {
        OurAddr::Given {
            interface: Some(name),
            ..
        }
        | OurAddr::FirstOf(name) => super::interface(name)?,
        OurAddr::Given {
            addr: IpAddr::V4(addr),
            interface: None,
        } => super::interface_for(*addr, None)?,
        OurAddr::Given {
            addr: IpAddr::V6(addr),
            interface: None,
        } => interface_holding6(*addr)?,
    };
    let ask = match s.addr {
        OurAddr::Given {
            addr: IpAddr::V4(addr),
            ..
        } => {
            let ip = iface.ours(addr)?;
            Ask::V4 {
                me: Me { mac: iface.mac, ip },
                target: ip,
            }
        }
        OurAddr::Given {
            addr: IpAddr::V6(addr),
            ..
        } => {
            let ip = iface.ours6(addr)?;
            Ask::V6(Ask6 {
                mac: iface.mac,
                ip,
                target: ip,
                nonce: [0; 6],
            })
        }
        OurAddr::FirstOf(_) => {
            let ip = *iface
                .v4
                .first()
                .map(|(a, _)| a)
                .ok_or_else(|| iface.no_source())?;
            Ask::V4 {
                me: Me { mac: iface.mac, ip },
                target: ip,
            }
        }
    };
    let router = match ask {
        Ask::V6(_) => forwards_ipv6(iface.name()),
        Ask::V4 { .. } => false,
    };
    let cfg = ProbeConfig {
        mode: Mode::Announce {
            as_reply: s.as_reply,
            router,
        },
        ask,
        count: s.count,
        interval: s.interval,
        deadline: s.deadline,
        first: false,
        unicast: false,
    };
    let me = ask.source();
    let mut link = open(&iface, me.ip)?;
    let interface = iface.name().to_string();
    on_event(&Event::Ready {
        interface: interface.clone(),
        me,
    });
    let t = run_probe(&mut link, &cfg, on_event, stop)?;
    Ok(AnnounceReport {
        interface,
        source: me,
        as_reply: s.as_reply,
        router,
        sent: t.sent,
    })
}

/// Something a sweep reports as it happens.
#[derive(Debug)]
pub enum SweepEvent {
    /// The channel is open and nothing is sent yet: `targets` addresses
    /// will be asked, paced by `plan`.
    Ready { targets: usize, plan: Plan },
    /// A request went out: `sent` of at most `total`.
    Sent { sent: u64, total: u64 },
}

/// Ask every IPv6 node on the link who is there (`--localnet -6`, see
/// [`local6()`]): `on_ready` is called once the channel is open, before
/// anything is sent.
///
/// # Errors
/// As [`probe`]; also an interface without IPv6 addresses.
pub fn local6(
    s: &Local6Settings,
    on_ready: &mut dyn FnMut(),
    stop: &dyn Fn() -> bool,
) -> Result<Local6Report, Error> {
    let iface = match &s.interface {
        Some(name) => super::interface(name)?,
        None => super::default_interface()?,
    };
    // Link-local first: every host that speaks IPv6 has one, so that round
    // finds everyone who answers; a global source adds hosts' global
    // addresses. Tentative and deprecated addresses are the kernel's to
    // weigh: each one of ours gets its own request.
    let mut sources: Vec<Ipv6Addr> = iface
        .v6
        .iter()
        .map(|(a, _)| *a)
        .filter(|a| !a.is_multicast() && !a.is_loopback() && !a.is_unspecified())
        .collect();
    sources.sort_by_key(|a| (!a.is_unicast_link_local(), a.octets()));
    sources.dedup();
    if sources.is_empty() {
        return Err(iface.no_source6().into());
    }
    let nonce = probe6::nonce();
    let me = Asker {
        mac: iface.mac,
        sources,
        ident: u16::from_be_bytes([nonce[0], nonce[1]]),
    };
    let mut link = PnetLink::open_for(&iface.raw, Frames::EchoReply6)?;
    on_ready();
    let outcome = local6::run(&mut link, &me, s.plan, stop)?;
    Ok(Local6Report::new(iface.name().to_string(), &me, outcome))
}

/// Sweep the networks of `s` (arp-scan). Our own addresses are not asked.
///
/// # Errors
/// As [`probe`]; also a `--localnet` network wider than
/// /[`MAX_SWEEP_PREFIX`].
pub fn sweep(
    s: &SweepSettings,
    on_event: &mut dyn FnMut(&SweepEvent),
    stop: &dyn Fn() -> bool,
) -> Result<SweepReport, Error> {
    let (iface, nets) = match &s.networks {
        Networks::Given(nets) => {
            let first = first_ipv4(nets)?;
            let iface = match &s.interface {
                Some(name) => super::interface(name)?,
                None => super::interface_for(first, None)?,
            };
            (iface, nets.clone())
        }
        Networks::Local => {
            let iface = match &s.interface {
                Some(name) => super::interface(name)?,
                None => super::default_interface()?,
            };
            // An interface's IPv4 prefix is at most /32: none is left out.
            let nets: Vec<Cidr> = iface
                .v4
                .iter()
                .filter_map(|(addr, len)| Cidr::new(IpAddr::V4(*addr), *len).ok())
                .collect();
            if nets.is_empty() {
                return Err(iface.no_source().into());
            }
            if let Some(n) = nets.iter().find(|n| n.prefix_len() < MAX_SWEEP_PREFIX) {
                return Err(ArpError::LocalNetTooWide {
                    net: *n,
                    iface: iface.name().to_string(),
                }
                .into());
            }
            (iface, nets)
        }
    };
    let ip = match s.source {
        Some(ip) => iface.ours(ip)?,
        None => iface
            .source_for(first_ipv4(&nets)?)
            .ok_or_else(|| iface.no_source())?,
    };
    let me = Me { mac: iface.mac, ip };
    let mut targets: Vec<Ipv4Addr> = nets
        .iter()
        .filter_map(|n| n.ipv4_hosts())
        .flatten()
        .filter(|ip| !iface.v4.iter().any(|(mine, _)| mine == ip))
        .collect();
    targets.sort();
    targets.dedup();
    let mut link = PnetLink::open(&iface.raw)?;
    on_event(&SweepEvent::Ready {
        targets: targets.len(),
        plan: s.plan,
    });
    let outcome = sweep::run(
        &mut link,
        me,
        &targets,
        s.plan,
        &mut |sent, total| on_event(&SweepEvent::Sent { sent, total }),
        stop,
    )?;
    Ok(SweepReport::new(
        iface.name().to_string(),
        me,
        nets,
        outcome,
    ))
}

/// The first network's address, checking there is one and that every
/// network is IPv4 (as the settings from the flags always are).
fn first_ipv4(nets: &[Cidr]) -> Result<Ipv4Addr, ArpError> {
    if let Some(n) = nets.iter().find(|n| sweep::ipv4_network(**n).is_none()) {
        return Err(ArpError::NotIpv4(*n));
    }
    nets.first()
        .and_then(|n| sweep::ipv4_network(*n))
        .ok_or(ArpError::NoNetwork)
}

/// The kernel's neighbour table, IPv4 and IPv6: [`cache::view`].
///
/// # Errors
/// [`Error::Cache`] when the table cannot be read.
pub fn cache_view(s: &CacheSettings) -> Result<CacheReport, Error> {
    cache::view(s).map_err(Error::Cache)
}
