//! What each `nettool arp` call found, as plain data for any front end:
//! `cmd::arp` renders the lines, tables, closing statistics and the JSON
//! documents from these. Every count is bounded the way the loops bound
//! it (at most `MAX_MACS` MACs, `NAMED` examples, listed replies per
//! request).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::Serialize;

use super::AdvertReject;
use super::cache::Entry;
use super::link::Drops;
use super::local6::{Asker, Outcome6, Station};
use super::probe::{BadMac, Me, Reply, RttStats, Sample, Source, Tracker};
use super::sweep::{Host, Outcome};
use crate::addr::Cidr;
use crate::wire::MacAddr;

/// A MAC is written as text, `02:11:22:33:44:55`. (Here rather than in
/// `wire/`, which another change owns; it belongs beside `MacAddr`.)
fn as_text<S: serde::Serializer>(nets: &[Cidr], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(ToString::to_string))
}

/// Rejected advertisements as `{count, first: [[mac, reason]]}`.
fn rejects_as_text<S: serde::Serializer>(
    r: &Sample<(MacAddr, AdvertReject)>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let first: Vec<(MacAddr, String)> = r.first.iter().map(|(m, w)| (*m, w.to_string())).collect();
    Sample {
        count: r.count,
        first,
    }
    .serialize(s)
}

/// A probe (`Probe`) or duplicate address detection (`-D`).
#[derive(Debug, Serialize)]
pub struct ProbeReport {
    pub dad: bool,
    pub interface: String,
    pub source: Source,
    pub target: IpAddr,
    /// The replies shown one by one as they came (the first `NAMED` per
    /// request); the rest are counted in `unlisted`.
    pub replies: Vec<Listed>,
    pub sent: u64,
    /// Requests that got at least one answer.
    pub received: u64,
    /// MACs that answered, in order of first answer, with their reply
    /// counts: the first `MAX_MACS`.
    pub macs: Vec<(MacAddr, u64)>,
    /// Replies from MACs past the first `MAX_MACS`: counted, not kept.
    pub not_kept: u64,
    /// Replies not listed one by one.
    pub unlisted: u64,
    /// Replies for the target with a sender MAC no host has.
    pub invalid: Sample<(MacAddr, BadMac)>,
    /// Advertisements for the target that failed NDP's checks (IPv6), with
    /// why, in words.
    #[serde(serialize_with = "rejects_as_text")]
    pub rejected: Sample<(MacAddr, AdvertReject)>,
    /// Frames dropped unread (a flood).
    pub dropped: Drops,
    /// `None` when nothing answered.
    pub rtt: Option<RttStats>,
}

/// One listed reply and who sent it.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub from: IpAddr,
    pub reply: Reply,
}

impl ProbeReport {
    pub(super) fn new(
        dad: bool,
        interface: String,
        source: Source,
        target: IpAddr,
        replies: Vec<Listed>,
        t: Tracker,
    ) -> ProbeReport {
        ProbeReport {
            dad,
            interface,
            source,
            target,
            replies,
            sent: t.sent,
            received: t.received,
            rtt: t.stats(),
            not_kept: t.not_kept,
            unlisted: t.unlisted,
            dropped: t.dropped,
            macs: t.macs,
            invalid: t.invalid,
            rejected: t.rejected,
        }
    }

    pub fn loss_pct(&self) -> f64 {
        super::probe::loss_pct(self.sent, self.received)
    }

    /// Someone answered: under `-D`, the address is in use.
    pub fn in_use(&self) -> bool {
        self.received > 0
    }

    /// More than one MAC answered, one no host has, or an advertisement
    /// failed NDP's checks: what `-d` fails on.
    pub fn suspicious(&self) -> bool {
        self.macs.len() > 1
            || self.not_kept > 0
            || self.invalid.count > 0
            || self.rejected.count > 0
    }
}

/// Gratuitous ARP sent (`-U`, `-A`).
#[derive(Debug, Serialize)]
pub struct AnnounceReport {
    pub interface: String,
    pub source: Source,
    /// A reply (`-A`), else a request.
    pub as_reply: bool,
    /// IPv6: the router flag was set (this host forwards IPv6 there).
    pub router: bool,
    pub sent: u64,
}

/// A sweep: who answered on which networks.
#[derive(Debug, Serialize)]
pub struct SweepReport {
    pub interface: String,
    pub source: Me,
    /// Written as their networks, `198.51.100.0/24`.
    #[serde(serialize_with = "as_text")]
    pub networks: Vec<Cidr>,
    /// Sorted by address.
    pub hosts: Vec<Found>,
    /// Addresses asked (the networks' hosts less our own).
    pub scanned: usize,
    pub sent: u64,
    pub elapsed: Duration,
    /// Replies that answered no request of ours: (address, MAC).
    pub unsolicited: Sample<(Ipv4Addr, MacAddr)>,
    /// Replies with a sender MAC no host has.
    pub invalid: Sample<(Ipv4Addr, MacAddr, BadMac)>,
    pub dropped: Drops,
}

/// A host that answered a sweep, with the vendor of its MAC.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub host: Host,
    /// From the IEEE registry, else `(locally administered)` or
    /// `(unknown)`.
    pub vendor: String,
}

impl SweepReport {
    pub(super) fn new(
        interface: String,
        source: Me,
        networks: Vec<Cidr>,
        o: Outcome,
    ) -> SweepReport {
        let vendors = super::oui::vendors(
            o.hosts
                .iter()
                .flat_map(|h| std::iter::once(h.mac).chain(h.others.iter().copied())),
        );
        let hosts = o
            .hosts
            .into_iter()
            .map(|host| Found {
                vendor: super::oui::label(host.mac, &vendors),
                host,
            })
            .collect();
        SweepReport {
            interface,
            source,
            networks,
            hosts,
            scanned: o.scanned,
            sent: o.sent,
            elapsed: o.elapsed,
            unsolicited: o.unsolicited,
            invalid: o.invalid,
            dropped: o.dropped,
        }
    }
}

/// `--localnet -6`: who answered an echo request to all nodes.
#[derive(Debug, Serialize)]
pub struct Local6Report {
    pub interface: String,
    pub mac: MacAddr,
    /// The addresses we asked from.
    pub sources: Vec<Ipv6Addr>,
    /// Sorted by MAC.
    pub stations: Vec<Station6>,
    /// Stations past [`super::local6::MAX_STATIONS`]: counted, not kept.
    pub not_kept: u64,
    pub sent: u64,
    pub elapsed: Duration,
    /// Replies with a source MAC no host has.
    pub invalid: Sample<(Ipv6Addr, MacAddr, BadMac)>,
    pub dropped: Drops,
}

/// A station that answered, with its vendor, and whether one of its
/// addresses also answered from another MAC.
#[derive(Debug, Clone, Serialize)]
pub struct Station6 {
    #[serde(flatten)]
    pub station: Station,
    pub vendor: String,
    /// Its addresses that another MAC answered from too.
    pub shared: Vec<Ipv6Addr>,
}

impl Local6Report {
    pub(super) fn new(interface: String, me: &Asker, o: Outcome6) -> Local6Report {
        let vendors = super::oui::vendors(o.stations.iter().map(|s| s.mac));
        let mut owners: HashMap<Ipv6Addr, usize> = HashMap::new();
        for a in o.stations.iter().flat_map(|s| &s.addrs) {
            *owners.entry(*a).or_default() += 1;
        }
        let stations = o
            .stations
            .into_iter()
            .map(|station| Station6 {
                vendor: super::oui::label(station.mac, &vendors),
                shared: station
                    .addrs
                    .iter()
                    .copied()
                    .filter(|a| owners.get(a).is_some_and(|n| *n > 1))
                    .collect(),
                station,
            })
            .collect();
        Local6Report {
            interface,
            mac: me.mac,
            sources: me.sources.clone(),
            stations,
            not_kept: o.not_kept,
            sent: o.sent,
            elapsed: o.elapsed,
            invalid: o.invalid,
            dropped: o.dropped,
        }
    }
}

/// The kernel's neighbour table (IPv4 and IPv6), sorted by family,
/// interface and address; `cmd::arp` renders it (the JSON there is its
/// schema).
#[derive(Debug)]
pub struct CacheReport {
    pub entries: Vec<Entry>,
    /// `-n`: no names were looked up.
    pub numeric: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_probe_report_serializes_macs_as_text_and_reasons_as_words() {
        let b = MacAddr([2, 0, 0, 0, 0, 2]);
        let mut t = Tracker::default();
        let t0 = Instant::now();
        t.on_send(t0);
        let reply = t.on_reply(b, t0 + Duration::from_millis(2));
        t.on_invalid(MacAddr::ZERO, BadMac::Zero);
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let from = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
        let r = ProbeReport::new(
            false,
            "veth0".into(),
            me.into(),
            from,
            vec![Listed { from, reply }],
            t,
        );
        // An invalid reply is what -d fails on.
        assert!(r.in_use() && r.suspicious());
        assert!(r.loss_pct().abs() < 1e-9);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["source"]["mac"], "02:00:00:00:00:01");
        assert_eq!(v["replies"][0]["reply"]["mac"], "02:00:00:00:00:02");
        assert_eq!(v["macs"][0][0], "02:00:00:00:00:02");
        assert_eq!(v["invalid"]["first"][0][1], "zero");
        assert_eq!(v["invalid"]["count"], 1);
        assert_eq!(v["rtt"]["min_ms"], 2.0);
    }

    #[test]
    fn a_sweep_report_names_networks_as_text_and_flattens_hosts() {
        let host = Host {
            ip: Ipv4Addr::new(198, 51, 100, 2),
            mac: MacAddr([2, 0, 0, 0, 0, 2]),
            rtt: Duration::from_millis(1),
            others: vec![],
            others_not_kept: 0,
        };
        let outcome = Outcome {
            hosts: vec![host],
            scanned: 254,
            sent: 300,
            elapsed: Duration::from_secs(1),
            unsolicited: Sample::default(),
            invalid: Sample::default(),
            dropped: Drops::default(),
        };
        let me = Me {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            ip: Ipv4Addr::new(198, 51, 100, 1),
        };
        let net = Cidr::parse("198.51.100.9/24").unwrap();
        let r = SweepReport::new("veth0".into(), me, vec![net], outcome);
        assert_eq!(r.hosts[0].vendor, "(locally administered)");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["networks"][0], "198.51.100.0/24");
        assert_eq!(v["hosts"][0]["ip"], "198.51.100.2");
        assert_eq!(v["hosts"][0]["vendor"], "(locally administered)");
    }
}
