//! `nettool arp --prometheus` / `--textfile`: the probe of one address,
//! a sweep, the neighbour table and `--watch`, from their reports.
//!
//! Labels, and why their number is bounded:
//! - probe and `-D`: `target` (the address asked for) and `interface`,
//!   one each per run; `mac` on `nettool_arp_replies` only, one series per
//!   MAC that answered, at most `MAX_MACS` (64) kept by the probe itself:
//!   more than one is the duplicate the family exists to show.
//! - sweep (a CIDR, `--localnet`, `--localnet -6`): `interface`, `family`
//!   and (IPv4) `networks`, the networks swept as written: one set per run.
//!   No series per host: a sweep may ask a /16, and each station that
//!   answers would be a series whose MAC and address change with the
//!   network's churn. The station list is `--json`'s job, and watching
//!   stations come, go and change MAC is `--watch`'s.
//! - neighbour table: `family` (2), `interface` (this host's, bounded by
//!   its links) and `state` (the kernel's nine NUD states): counts, never
//!   a series per entry.
//! - `--watch`: `interfaces` (those watched, joined by commas: one value
//!   per run, so two watches writing two files never give the same series)
//!   and `kind` (the seven event kinds). The watch's families are counters
//!   (`_total`): during a run they only go up, and a new run starts them
//!   at zero, which `rate()` reads as the counter reset it is.
//!
//! `-U`/`-A` send and measure nothing: `cmd::arp` refuses them.

use super::{Exposition, ExpositionError, Kind};
use crate::arp::report::{CacheReport, Local6Report, ProbeReport, SweepReport};
use crate::arp::watch::{EventKind, Summary};

#[allow(
    clippy::cast_precision_loss,
    reason = "counts of frames, replies and entries, far below 2^53"
)]
fn count(n: u64) -> f64 {
    n as f64
}

/// A probe of one address (`dad`: `-D`, whether it is in use).
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn probe(r: &ProbeReport) -> Result<Exposition, ExpositionError> {
    let mut e = Exposition::new();
    let target = r.target.to_string();
    let l = [
        ("target", target.as_str()),
        ("interface", r.interface.as_str()),
    ];
    let answered = if r.received > 0 { 1.0 } else { 0.0 };
    if r.dad {
        e.family(
            "nettool_arp_dad_in_use",
            "1 when duplicate address detection (-D) found the address in use (something answered), 0 when it is free.",
            Kind::Gauge,
        )?
        .sample(&l, answered)?;
    } else {
        e.family(
            "nettool_arp_up",
            "1 when the address answered the ARP (IPv6: NDP) requests, else 0.",
            Kind::Gauge,
        )?
        .sample(&l, answered)?;
    }
    e.family(
        "nettool_arp_requests_sent",
        "ARP requests (IPv6: neighbour solicitations) sent for the address in this run.",
        Kind::Gauge,
    )?
    .sample(&l, count(r.sent))?;
    e.family(
        "nettool_arp_requests_answered",
        "Requests of this run that got at least one answer.",
        Kind::Gauge,
    )?
    .sample(&l, count(r.received))?;
    let mut f = e.family(
        "nettool_arp_replies",
        "Replies in this run from each MAC that answered for the address; more than one MAC is a duplicate address or spoofing.",
        Kind::Gauge,
    )?;
    for (mac, n) in &r.macs {
        let mac = mac.to_string();
        f.sample(&[l[0], l[1], ("mac", &mac)], count(*n))?;
    }
    e.family(
        "nettool_arp_duplicate",
        "1 when more than one MAC answered for the address, else 0.",
        Kind::Gauge,
    )?
    .sample(
        &l,
        if r.macs.len() > 1 || r.not_kept > 0 {
            1.0
        } else {
            0.0
        },
    )?;
    let mut f = e.family(
        "nettool_arp_rtt_seconds",
        "Average time from a request to its first reply, when something answered.",
        Kind::Gauge,
    )?;
    if let Some(rtt) = &r.rtt {
        f.sample(&l, rtt.avg_ms / 1e3)?;
    }
    e.family(
        "nettool_arp_invalid_replies",
        "Replies for the address refused as no host's (a zero, broadcast or multicast sender MAC) or failing NDP's checks.",
        Kind::Gauge,
    )?
    .sample(&l, count(r.invalid.count + r.rejected.count))?;
    e.family(
        "nettool_arp_dropped_frames",
        "Frames received but dropped unread in this run (a flood).",
        Kind::Gauge,
    )?
    .sample(&l, count(r.dropped.total()))?;
    Ok(e)
}

/// The families every sweep has, IPv4 or IPv6.
struct SweepCounts<'a> {
    labels: Vec<(&'static str, &'a str)>,
    /// `None` for `--localnet -6`, which asks all nodes at once.
    addresses: Option<u64>,
    up: u64,
    duplicates: u64,
    sent: u64,
    invalid: u64,
    dropped: u64,
}

fn sweep_families(c: &SweepCounts<'_>) -> Result<Exposition, ExpositionError> {
    let mut e = Exposition::new();
    let l = c.labels.as_slice();
    if let Some(n) = c.addresses {
        e.family(
            "nettool_arp_sweep_addresses",
            "Addresses the sweep asked for (the networks' hosts less our own).",
            Kind::Gauge,
        )?
        .sample(l, count(n))?;
    }
    e.family(
        "nettool_arp_sweep_hosts_up",
        "Hosts that answered the sweep (IPv6: stations, by MAC).",
        Kind::Gauge,
    )?
    .sample(l, count(c.up))?;
    e.family(
        "nettool_arp_sweep_duplicates",
        "Addresses that more than one MAC answered for (address conflict or spoofing).",
        Kind::Gauge,
    )?
    .sample(l, count(c.duplicates))?;
    e.family(
        "nettool_arp_sweep_requests_sent",
        "Requests the sweep sent, retries included.",
        Kind::Gauge,
    )?
    .sample(l, count(c.sent))?;
    e.family(
        "nettool_arp_sweep_invalid_replies",
        "Replies refused as no host's (a zero, broadcast or multicast sender MAC).",
        Kind::Gauge,
    )?
    .sample(l, count(c.invalid))?;
    e.family(
        "nettool_arp_sweep_dropped_frames",
        "Frames received but dropped unread during the sweep (a flood).",
        Kind::Gauge,
    )?
    .sample(l, count(c.dropped))?;
    Ok(e)
}

/// An IPv4 sweep (a CIDR or `--localnet`).
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn sweep(r: &SweepReport) -> Result<Exposition, ExpositionError> {
    let networks: Vec<String> = r.networks.iter().map(ToString::to_string).collect();
    let networks = networks.join(",");
    sweep_families(&SweepCounts {
        labels: vec![
            ("interface", r.interface.as_str()),
            ("family", "ipv4"),
            ("networks", networks.as_str()),
        ],
        addresses: Some(r.scanned as u64),
        up: r.hosts.len() as u64,
        duplicates: r.hosts.iter().filter(|h| !h.host.others.is_empty()).count() as u64,
        sent: r.sent,
        invalid: r.invalid.count,
        dropped: r.dropped.total(),
    })
}

/// `--localnet -6`: the stations that answered an echo to all nodes.
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn local6(r: &Local6Report) -> Result<Exposition, ExpositionError> {
    let mut shared: Vec<_> = r.stations.iter().flat_map(|s| &s.shared).collect();
    shared.sort_unstable();
    shared.dedup();
    sweep_families(&SweepCounts {
        labels: vec![("interface", r.interface.as_str()), ("family", "ipv6")],
        addresses: None,
        up: r.stations.len() as u64 + r.not_kept,
        duplicates: shared.len() as u64,
        sent: r.sent,
        invalid: r.invalid.count,
        dropped: r.dropped.total(),
    })
}

/// The neighbour table: entries per family, interface and state, in the
/// table's order (family, interface), states as `ip neigh` names them.
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn cache(r: &CacheReport) -> Result<Exposition, ExpositionError> {
    let mut counts: std::collections::BTreeMap<(&str, &str, String), u64> =
        std::collections::BTreeMap::new();
    for en in &r.entries {
        *counts
            .entry((en.family.name(), en.iface.as_str(), en.state.name()))
            .or_default() += 1;
    }
    let mut e = Exposition::new();
    let mut f = e.family(
        "nettool_arp_neighbours",
        "Entries of the kernel's neighbour table (ARP and NDP), by family, interface and NUD state.",
        Kind::Gauge,
    )?;
    for ((family, iface, state), n) in &counts {
        f.sample(
            &[("family", family), ("interface", iface), ("state", state)],
            count(*n),
        )?;
    }
    Ok(e)
}

/// What a watch has seen, at its end or while it runs.
#[derive(Debug, Clone, Copy)]
pub struct WatchView<'a> {
    pub interfaces: &'a [String],
    pub frames: u64,
    pub ignored: u64,
    pub drops: u64,
    /// Events per kind, in [`EventKind::ALL`]'s order.
    pub events: [u64; EventKind::ALL.len()],
    pub stations: u64,
    pub evicted_stations: u64,
}

impl<'a> WatchView<'a> {
    /// The frames and drops counted by the capture loop, the rest from
    /// the watch machine's summary.
    pub fn new(
        interfaces: &'a [String],
        (frames, ignored, drops): (u64, u64, u64),
        s: &Summary,
    ) -> WatchView<'a> {
        WatchView {
            interfaces,
            frames,
            ignored,
            drops,
            events: EventKind::ALL.map(|k| s.events.get(k)),
            stations: s.stations,
            evicted_stations: s.evicted_stations,
        }
    }
}

/// `--watch`: events per kind, frames, drops, stations held.
///
/// # Errors
/// Only a renderer bug (a bad name or label): the format's checks.
pub fn watch(v: &WatchView<'_>) -> Result<Exposition, ExpositionError> {
    let interfaces = v.interfaces.join(",");
    let l = [("interfaces", interfaces.as_str())];
    let mut e = Exposition::new();
    let mut f = e.family(
        "nettool_arp_watch_events_total",
        "Events the watch reported, by kind (new_station, changed, flip_flop, many_ips, announcement, bogon, ether_mismatch).",
        Kind::Counter,
    )?;
    for (k, n) in EventKind::ALL.iter().zip(v.events) {
        f.sample(&[l[0], ("kind", k.as_str())], count(n))?;
    }
    e.family(
        "nettool_arp_watch_frames_total",
        "ARP and NDP frames the watch read.",
        Kind::Counter,
    )?
    .sample(&l, count(v.frames))?;
    e.family(
        "nettool_arp_watch_ignored_frames_total",
        "Frames read that said nothing a watch can use (malformed, or failing NDP's checks).",
        Kind::Counter,
    )?
    .sample(&l, count(v.ignored))?;
    e.family(
        "nettool_arp_watch_kernel_drops_total",
        "Frames the kernel dropped because the capture ring was full.",
        Kind::Counter,
    )?
    .sample(&l, count(v.drops))?;
    e.family(
        "nettool_arp_watch_stations",
        "Stations (address and MAC) the watch holds, the database's included.",
        Kind::Gauge,
    )?
    .sample(&l, count(v.stations))?;
    e.family(
        "nettool_arp_watch_evicted_stations_total",
        "Stations forgotten because the watch held as many as it may.",
        Kind::Counter,
    )?
    .sample(&l, count(v.evicted_stations))?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::cache::Entry;
    use crate::arp::link::Drops;
    use crate::arp::probe::{Sample, Source};
    use crate::arp::report::Found;
    use crate::arp::sweep::Host;
    use crate::output::stats::Spread;
    use crate::wire::MacAddr;
    use crate::wire::rtnetlink::NudState;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;

    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
    const C: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);

    fn samples(e: Exposition) -> Vec<String> {
        e.finish()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(String::from)
            .collect()
    }

    fn probe_report(dad: bool, macs: Vec<(MacAddr, u64)>) -> ProbeReport {
        let answered = !macs.is_empty();
        ProbeReport {
            dad,
            interface: "veth0".into(),
            source: Source {
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
                ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            },
            target: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2)),
            replies: vec![],
            sent: 3,
            received: if answered { 3 } else { 0 },
            macs,
            not_kept: 0,
            unlisted: 0,
            invalid: Sample::default(),
            rejected: Sample::default(),
            dropped: Drops::default(),
            rtt: answered.then_some(Spread {
                min_ms: 0.1,
                avg_ms: 0.25,
                max_ms: 0.5,
                mdev_ms: 0.1,
            }),
        }
    }

    #[test]
    fn a_probe_that_two_macs_answered() {
        let e = probe(&probe_report(false, vec![(B, 3), (C, 1)])).unwrap();
        assert_eq!(
            e.finish(),
            "# HELP nettool_arp_up 1 when the address answered the ARP (IPv6: NDP) requests, else 0.\n\
             # TYPE nettool_arp_up gauge\n\
             nettool_arp_up{target=\"198.51.100.2\",interface=\"veth0\"} 1\n\
             # HELP nettool_arp_requests_sent ARP requests (IPv6: neighbour solicitations) sent for the address in this run.\n\
             # TYPE nettool_arp_requests_sent gauge\n\
             nettool_arp_requests_sent{target=\"198.51.100.2\",interface=\"veth0\"} 3\n\
             # HELP nettool_arp_requests_answered Requests of this run that got at least one answer.\n\
             # TYPE nettool_arp_requests_answered gauge\n\
             nettool_arp_requests_answered{target=\"198.51.100.2\",interface=\"veth0\"} 3\n\
             # HELP nettool_arp_replies Replies in this run from each MAC that answered for the address; more than one MAC is a duplicate address or spoofing.\n\
             # TYPE nettool_arp_replies gauge\n\
             nettool_arp_replies{target=\"198.51.100.2\",interface=\"veth0\",mac=\"02:00:00:00:00:02\"} 3\n\
             nettool_arp_replies{target=\"198.51.100.2\",interface=\"veth0\",mac=\"02:00:00:00:00:03\"} 1\n\
             # HELP nettool_arp_duplicate 1 when more than one MAC answered for the address, else 0.\n\
             # TYPE nettool_arp_duplicate gauge\n\
             nettool_arp_duplicate{target=\"198.51.100.2\",interface=\"veth0\"} 1\n\
             # HELP nettool_arp_rtt_seconds Average time from a request to its first reply, when something answered.\n\
             # TYPE nettool_arp_rtt_seconds gauge\n\
             nettool_arp_rtt_seconds{target=\"198.51.100.2\",interface=\"veth0\"} 0.00025\n\
             # HELP nettool_arp_invalid_replies Replies for the address refused as no host's (a zero, broadcast or multicast sender MAC) or failing NDP's checks.\n\
             # TYPE nettool_arp_invalid_replies gauge\n\
             nettool_arp_invalid_replies{target=\"198.51.100.2\",interface=\"veth0\"} 0\n\
             # HELP nettool_arp_dropped_frames Frames received but dropped unread in this run (a flood).\n\
             # TYPE nettool_arp_dropped_frames gauge\n\
             nettool_arp_dropped_frames{target=\"198.51.100.2\",interface=\"veth0\"} 0\n"
        );
    }

    #[test]
    fn an_absent_address_and_a_free_one() {
        let s = samples(probe(&probe_report(false, vec![])).unwrap());
        assert_eq!(
            s[0],
            "nettool_arp_up{target=\"198.51.100.2\",interface=\"veth0\"} 0"
        );
        assert!(!s.iter().any(|l| l.starts_with("nettool_arp_replies{")));
        assert!(!s.iter().any(|l| l.starts_with("nettool_arp_rtt_seconds")));
        assert!(s.contains(
            &"nettool_arp_duplicate{target=\"198.51.100.2\",interface=\"veth0\"} 0".to_string()
        ));
        let s = samples(probe(&probe_report(true, vec![])).unwrap());
        assert_eq!(
            s[0],
            "nettool_arp_dad_in_use{target=\"198.51.100.2\",interface=\"veth0\"} 0"
        );
        assert!(!s.iter().any(|l| l.starts_with("nettool_arp_up")));
    }

    #[test]
    fn a_sweep_counts_hosts_and_duplicates() {
        let host = |last: u8, others: Vec<MacAddr>| Found {
            host: Host {
                ip: Ipv4Addr::new(198, 51, 100, last),
                mac: B,
                rtt: Duration::from_millis(1),
                others,
                others_not_kept: 0,
            },
            vendor: String::new(),
        };
        let r = SweepReport {
            interface: "veth0".into(),
            source: crate::arp::probe::Me {
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
                ip: Ipv4Addr::new(198, 51, 100, 1),
            },
            networks: vec![crate::addr::Cidr::parse("198.51.100.0/29").unwrap()],
            hosts: vec![host(2, vec![]), host(3, vec![C])],
            scanned: 5,
            sent: 9,
            elapsed: Duration::from_secs(1),
            unsolicited: Sample::default(),
            invalid: Sample::default(),
            dropped: Drops::default(),
        };
        let l = "interface=\"veth0\",family=\"ipv4\",networks=\"198.51.100.0/29\"";
        assert_eq!(
            samples(sweep(&r).unwrap()),
            [
                format!("nettool_arp_sweep_addresses{{{l}}} 5"),
                format!("nettool_arp_sweep_hosts_up{{{l}}} 2"),
                format!("nettool_arp_sweep_duplicates{{{l}}} 1"),
                format!("nettool_arp_sweep_requests_sent{{{l}}} 9"),
                format!("nettool_arp_sweep_invalid_replies{{{l}}} 0"),
                format!("nettool_arp_sweep_dropped_frames{{{l}}} 0"),
            ]
        );
    }

    #[test]
    fn the_neighbour_table_is_counted_by_family_interface_and_state() {
        let entry = |addr: &str, iface: &str, state| Entry {
            family: if addr.contains(':') {
                crate::neigh::Family::V6
            } else {
                crate::neigh::Family::V4
            },
            address: addr.parse().unwrap(),
            mac: None,
            state,
            router: false,
            iface: iface.into(),
            name: None,
            ages: None,
            probes: None,
        };
        let r = CacheReport {
            entries: vec![
                entry("198.51.100.2", "veth0", NudState::Reachable),
                entry("198.51.100.3", "veth0", NudState::Reachable),
                entry("198.51.100.4", "veth0", NudState::Failed),
                entry("2001:db8::2", "veth0", NudState::Stale),
            ],
            numeric: true,
        };
        assert_eq!(
            cache(&r).unwrap().finish(),
            "# HELP nettool_arp_neighbours Entries of the kernel's neighbour table (ARP and NDP), by family, interface and NUD state.\n\
             # TYPE nettool_arp_neighbours gauge\n\
             nettool_arp_neighbours{family=\"ipv4\",interface=\"veth0\",state=\"failed\"} 1\n\
             nettool_arp_neighbours{family=\"ipv4\",interface=\"veth0\",state=\"reachable\"} 2\n\
             nettool_arp_neighbours{family=\"ipv6\",interface=\"veth0\",state=\"stale\"} 1\n"
        );
    }

    #[test]
    fn a_watch_has_counters_per_kind() {
        let ifaces = ["a0".to_string(), "b0".to_string()];
        let summary = Summary {
            stations: 4,
            ..Summary::default()
        };
        let mut v = WatchView::new(&ifaces, (10, 1, 0), &summary);
        assert_eq!((v.events, v.stations), ([0; 7], 4));
        v.events = [3, 1, 0, 0, 2, 0, 0];
        let s = samples(watch(&v).unwrap());
        assert_eq!(
            s,
            [
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"new_station\"} 3",
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"changed\"} 1",
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"flip_flop\"} 0",
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"many_ips\"} 0",
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"announcement\"} 2",
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"bogon\"} 0",
                "nettool_arp_watch_events_total{interfaces=\"a0,b0\",kind=\"ether_mismatch\"} 0",
                "nettool_arp_watch_frames_total{interfaces=\"a0,b0\"} 10",
                "nettool_arp_watch_ignored_frames_total{interfaces=\"a0,b0\"} 1",
                "nettool_arp_watch_kernel_drops_total{interfaces=\"a0,b0\"} 0",
                "nettool_arp_watch_stations{interfaces=\"a0,b0\"} 4",
                "nettool_arp_watch_evicted_stations_total{interfaces=\"a0,b0\"} 0",
            ]
        );
    }
}
