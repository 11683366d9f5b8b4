//! [`Watch`]: observations in, events out (see the module above for what
//! each event means and when it is reported once).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{EVENT_SCHEMA, FrameKind, Observation};
use crate::addr::Cidr;
use crate::arp::oui;
use crate::arp::probe::BadMac;
use crate::output::time::iso;
use crate::wire::MacAddr;

/// An interface watched: its index (frames carry it), its name (events and
/// the database carry it) and its networks (a sender outside them is a
/// bogon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchIface {
    pub ifindex: u32,
    pub name: String,
    pub nets: Vec<Cidr>,
}

/// The caps that bound memory whatever the network sends, and the
/// `many_ips` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Stations held (at least 1).
    pub stations: usize,
    /// Earlier MACs remembered per station (at least 1).
    pub history: usize,
    /// Bogon and mismatch keys remembered as reported (at least 1).
    pub reports: usize,
    /// Stations bound to one MAC on one interface that make a `many_ips`
    /// event; 0 turns the event off.
    pub many_ips: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            stations: 65_536,
            history: 8,
            reports: 4096,
            many_ips: 16,
        }
    }
}

/// The kinds of event, in the order the summary lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    NewStation,
    Changed,
    FlipFlop,
    ManyIps,
    Announcement,
    Bogon,
    EtherMismatch,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::NewStation,
        EventKind::Changed,
        EventKind::FlipFlop,
        EventKind::ManyIps,
        EventKind::Announcement,
        EventKind::Bogon,
        EventKind::EtherMismatch,
    ];

    /// The `event` field of the JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewStation => "new_station",
            EventKind::Changed => "changed",
            EventKind::FlipFlop => "flip_flop",
            EventKind::ManyIps => "many_ips",
            EventKind::Announcement => "announcement",
            EventKind::Bogon => "bogon",
            EventKind::EtherMismatch => "ether_mismatch",
        }
    }
}

/// Why a sender is a bogon rather than a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BogonReason {
    /// The sender IP is outside every network of its family on the
    /// interface (IPv6 link-local addresses are always on the link; an
    /// interface without a network of that family checks nothing).
    OffNet,
    /// Sender 0.0.0.0 or `::` in anything but a DAD probe.
    Unspecified,
    /// Sender IP multicast, 255.255.255.255, or the broadcast address of
    /// one of the interface's IPv4 networks.
    NotUnicast,
    /// The sender MAC is no host's.
    ZeroMac,
    BroadcastMac,
    MulticastMac,
}

impl BogonReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BogonReason::OffNet => "off_net",
            BogonReason::Unspecified => "unspecified",
            BogonReason::NotUnicast => "not_unicast",
            BogonReason::ZeroMac => "zero_mac",
            BogonReason::BroadcastMac => "broadcast_mac",
            BogonReason::MulticastMac => "multicast_mac",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    NewStation {
        ip: IpAddr,
        mac: MacAddr,
        vendor: String,
    },
    /// `ip` moved from `old_mac` (last seen at `old_last_seen`) to a MAC it
    /// has not had.
    Changed {
        ip: IpAddr,
        mac: MacAddr,
        vendor: String,
        old_mac: MacAddr,
        old_last_seen: SystemTime,
    },
    /// `ip` moved from `old_mac` back to `mac`, which it had until
    /// `mac_last_seen`.
    FlipFlop {
        ip: IpAddr,
        mac: MacAddr,
        mac_last_seen: SystemTime,
        old_mac: MacAddr,
        old_last_seen: SystemTime,
    },
    /// `mac` holds `ips` stations on the interface.
    ManyIps {
        mac: MacAddr,
        vendor: String,
        ips: u32,
    },
    Announcement {
        ip: IpAddr,
        mac: MacAddr,
    },
    Bogon {
        ip: IpAddr,
        mac: MacAddr,
        reason: BogonReason,
    },
    /// The frame's Ethernet source is not the MAC the protocol gives for
    /// the sender (ARP's sha; NDP's link-layer option when present).
    EtherMismatch {
        ip: IpAddr,
        mac: MacAddr,
        eth_src: MacAddr,
    },
}

/// An event, with the frame that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: SystemTime,
    pub interface: Arc<str>,
    pub frame: FrameKind,
    pub what: What,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self.what {
            What::NewStation { .. } => EventKind::NewStation,
            What::Changed { .. } => EventKind::Changed,
            What::FlipFlop { .. } => EventKind::FlipFlop,
            What::ManyIps { .. } => EventKind::ManyIps,
            What::Announcement { .. } => EventKind::Announcement,
            What::Bogon { .. } => EventKind::Bogon,
            What::EtherMismatch { .. } => EventKind::EtherMismatch,
        }
    }
}

/// One JSON line: `schema`, `event` (the kind), `time` (RFC 3339, local),
/// `interface`, `frame` (`arp_request`, `arp_reply`, `ns`, `na`), then the
/// kind's fields; times as RFC 3339 too.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("schema", EVENT_SCHEMA)?;
        m.serialize_entry("event", self.kind().as_str())?;
        m.serialize_entry("time", &iso(self.at))?;
        m.serialize_entry("interface", &*self.interface)?;
        m.serialize_entry("frame", self.frame.as_str())?;
        match &self.what {
            What::NewStation { ip, mac, vendor } => {
                m.serialize_entry("ip", ip)?;
                m.serialize_entry("mac", mac)?;
                m.serialize_entry("vendor", vendor)?;
            }
            What::Changed {
                ip,
                mac,
                vendor,
                old_mac,
                old_last_seen,
            } => {
                m.serialize_entry("ip", ip)?;
                m.serialize_entry("mac", mac)?;
                m.serialize_entry("vendor", vendor)?;
                m.serialize_entry("old_mac", old_mac)?;
                m.serialize_entry("old_last_seen", &iso(*old_last_seen))?;
            }
            What::FlipFlop {
                ip,
                mac,
                mac_last_seen,
                old_mac,
                old_last_seen,
            } => {
                m.serialize_entry("ip", ip)?;
                m.serialize_entry("mac", mac)?;
                m.serialize_entry("mac_last_seen", &iso(*mac_last_seen))?;
                m.serialize_entry("old_mac", old_mac)?;
                m.serialize_entry("old_last_seen", &iso(*old_last_seen))?;
            }
            What::ManyIps { mac, vendor, ips } => {
                m.serialize_entry("mac", mac)?;
                m.serialize_entry("vendor", vendor)?;
                m.serialize_entry("ips", ips)?;
            }
            What::Announcement { ip, mac } => {
                m.serialize_entry("ip", ip)?;
                m.serialize_entry("mac", mac)?;
            }
            What::Bogon { ip, mac, reason } => {
                m.serialize_entry("ip", ip)?;
                m.serialize_entry("mac", mac)?;
                m.serialize_entry("reason", reason.as_str())?;
            }
            What::EtherMismatch { ip, mac, eth_src } => {
                m.serialize_entry("ip", ip)?;
                m.serialize_entry("mac", mac)?;
                m.serialize_entry("eth_src", eth_src)?;
            }
        }
        m.end()
    }
}

/// Events made, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; EventKind::ALL.len()]);

impl Counts {
    pub fn get(&self, k: EventKind) -> u64 {
        self.0[k as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    fn add(&mut self, k: EventKind) {
        self.0[k as usize] += 1;
    }

    /// Takes back one of kind `k`: an event made but never delivered (the
    /// run stopped before it), which the exit summary must not count.
    pub fn take_back(&mut self, k: EventKind) {
        self.0[k as usize] = self.0[k as usize].saturating_sub(1);
    }
}

/// `{"new_station": 3, "changed": 0, ...}`, every kind.
impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(EventKind::ALL.len()))?;
        for k in EventKind::ALL {
            m.serialize_entry(k.as_str(), &self.get(k))?;
        }
        m.end()
    }
}

/// What a run saw, for the exit summary. Serializes as the last JSON
/// line: `{"schema": .., "event": "summary", ..}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub observations: u64,
    /// Frames from an interface not watched (not counted anywhere else).
    pub unknown_interface: u64,
    pub dad_probes: u64,
    /// Flip-flops between a pair of MACs already reported.
    pub repeated_flips: u64,
    /// Stations held at the end.
    pub stations: u64,
    pub evicted_stations: u64,
    /// Earlier MACs dropped from a station's history.
    pub evicted_history: u64,
    /// Reported bogon and mismatch keys forgotten (they may be reported
    /// again).
    pub forgotten_reports: u64,
    pub events: Counts,
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("schema", EVENT_SCHEMA)?;
        m.serialize_entry("event", "summary")?;
        m.serialize_entry("observations", &self.observations)?;
        m.serialize_entry("unknown_interface", &self.unknown_interface)?;
        m.serialize_entry("dad_probes", &self.dad_probes)?;
        m.serialize_entry("repeated_flips", &self.repeated_flips)?;
        m.serialize_entry("stations", &self.stations)?;
        m.serialize_entry("evicted_stations", &self.evicted_stations)?;
        m.serialize_entry("evicted_history", &self.evicted_history)?;
        m.serialize_entry("forgotten_reports", &self.forgotten_reports)?;
        m.serialize_entry("events", &self.events)?;
        m.end()
    }
}

/// A MAC a station had before its current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastMac {
    pub mac: MacAddr,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
}

/// A station as the database stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    pub interface: String,
    pub ip: IpAddr,
    pub mac: MacAddr,
    /// The first claim for this IP.
    pub first_seen: SystemTime,
    /// The first claim by the current MAC.
    pub mac_since: SystemTime,
    pub last_seen: SystemTime,
    /// Earlier MACs, least recently seen first.
    pub past: Vec<PastMac>,
}

/// A station: interface (index into `Watch::ifaces`) and IP.
type Key = (u16, IpAddr);

#[derive(Debug, Clone)]
struct IfaceState {
    name: Arc<str>,
    nets: Vec<Cidr>,
}

#[derive(Debug, Clone)]
struct Entry {
    mac: MacAddr,
    first_seen: SystemTime,
    mac_since: SystemTime,
    last_seen: SystemTime,
    /// When it was last seen, in frames learned: the eviction order (the
    /// wall clock can step back).
    seq: u64,
    /// Seen on one frame only: evicted before the others.
    one_frame: bool,
    /// MACs among `mac` and `past` whose announcement has been reported.
    announced: Vec<MacAddr>,
    /// Earlier MACs, least recently seen first, at most `Limits::history`.
    past: Vec<PastMac>,
    /// Flip-flops reported, each pair (smaller MAC first) of MACs among
    /// `mac` and `past`: at most history * (history + 1) / 2.
    flips: Vec<(MacAddr, MacAddr)>,
}

/// How many stations a MAC holds on an interface.
#[derive(Debug, Clone, Copy, Default)]
struct Claim {
    ips: u32,
    reported: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ReportKey {
    Bogon(u16, IpAddr, MacAddr, BogonReason),
    Mismatch(u16, IpAddr, MacAddr, MacAddr),
}

/// The watch machine. Feed it [`Observation`]s with [`Watch::observe`].
#[derive(Debug)]
pub struct Watch {
    limits: Limits,
    /// The watched interfaces first, then those only the database named.
    ifaces: Vec<IfaceState>,
    by_index: HashMap<u32, u16>,
    vendors: HashMap<[u8; 3], String>,
    stations: HashMap<Key, Entry>,
    /// Stations seen on one frame, by `seq`.
    fresh: BTreeMap<u64, Key>,
    /// The other stations, by `seq`.
    settled: BTreeMap<u64, Key>,
    claims: HashMap<(u16, MacAddr), Claim>,
    reported: HashSet<ReportKey>,
    /// `reported` in the order it was filled: the oldest is forgotten first.
    report_order: VecDeque<ReportKey>,
    seq: u64,
    summary: Summary,
}

impl Watch {
    /// A machine for `ifaces` (the first of several with one index wins),
    /// without stations. Limits below 1 are raised to 1.
    pub fn new(ifaces: Vec<WatchIface>, limits: Limits) -> Watch {
        let limits = Limits {
            stations: limits.stations.max(1),
            history: limits.history.max(1),
            reports: limits.reports.max(1),
            many_ips: limits.many_ips,
        };
        let mut w = Watch {
            limits,
            ifaces: Vec::new(),
            by_index: HashMap::new(),
            vendors: HashMap::new(),
            stations: HashMap::new(),
            fresh: BTreeMap::new(),
            settled: BTreeMap::new(),
            claims: HashMap::new(),
            reported: HashSet::new(),
            report_order: VecDeque::new(),
            seq: 0,
            summary: Summary::default(),
        };
        for i in ifaces {
            if w.by_index.contains_key(&i.ifindex) {
                continue;
            }
            if let Some(ix) = w.intern(&i.name) {
                w.ifaces[usize::from(ix)].nets = i.nets;
                w.by_index.insert(i.ifindex, ix);
            }
        }
        w
    }

    /// Vendor names by OUI for the `vendor` fields ([`oui::label`]).
    pub fn set_vendors(&mut self, vendors: HashMap<[u8; 3], String>) {
        self.vendors = vendors;
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The index of interface `name`, added (without networks) if new;
    /// `None` past 65536 interfaces.
    fn intern(&mut self, name: &str) -> Option<u16> {
        if let Some(i) = self.ifaces.iter().position(|i| &*i.name == name) {
            return u16::try_from(i).ok();
        }
        let ix = u16::try_from(self.ifaces.len()).ok()?;
        self.ifaces.push(IfaceState {
            name: name.into(),
            nets: Vec::new(),
        });
        Some(ix)
    }

    /// Take the database's stations as known (no events). Beyond the cap
    /// the most recently seen are kept; beyond the history cap the most
    /// recently seen earlier MACs. A MAC that holds `many_ips` stations or
    /// more from the start counts as reported.
    pub fn restore(&mut self, mut stations: Vec<Station>) {
        stations.sort_by_key(|s| s.last_seen);
        for s in stations {
            let Some(ix) = self.intern(&s.interface) else {
                self.summary.evicted_stations += 1;
                continue;
            };
            let key = (ix, s.ip);
            if self.stations.contains_key(&key) {
                self.remove(key);
            }
            if self.stations.len() >= self.limits.stations {
                self.evict_one();
            }
            let mut past: Vec<PastMac> = s.past.into_iter().filter(|p| p.mac != s.mac).collect();
            let extra = past.len().saturating_sub(self.limits.history);
            past.drain(..extra);
            self.summary.evicted_history += extra as u64;
            self.seq += 1;
            self.stations.insert(
                key,
                Entry {
                    mac: s.mac,
                    first_seen: s.first_seen,
                    mac_since: s.mac_since,
                    last_seen: s.last_seen,
                    seq: self.seq,
                    one_frame: false,
                    announced: Vec::new(),
                    past,
                    flips: Vec::new(),
                },
            );
            self.settled.insert(self.seq, key);
            let c = self.claims.entry((ix, s.mac)).or_default();
            c.ips += 1;
            c.reported |= self.limits.many_ips > 0 && c.ips >= self.limits.many_ips;
        }
    }

    /// Every station held, by interface name and IP.
    pub fn stations(&self) -> Vec<Station> {
        let mut v: Vec<Station> = self
            .stations
            .iter()
            .map(|(k, e)| self.station_of(*k, e))
            .collect();
        v.sort_by(|a, b| (&a.interface, a.ip).cmp(&(&b.interface, b.ip)));
        v
    }

    /// The station for `ip` on interface `name`, if held.
    pub fn station(&self, name: &str, ip: IpAddr) -> Option<Station> {
        let ix = u16::try_from(self.ifaces.iter().position(|i| &*i.name == name)?).ok()?;
        self.stations
            .get(&(ix, ip))
            .map(|e| self.station_of((ix, ip), e))
    }

    fn station_of(&self, (ix, ip): Key, e: &Entry) -> Station {
        Station {
            interface: self.ifaces[usize::from(ix)].name.to_string(),
            ip,
            mac: e.mac,
            first_seen: e.first_seen,
            mac_since: e.mac_since,
            last_seen: e.last_seen,
            past: e.past.clone(),
        }
    }

    /// The run so far, for the exit summary.
    pub fn summary(&self) -> Summary {
        Summary {
            stations: self.stations.len() as u64,
            ..self.summary
        }
    }

    /// Take one frame's word; append the events it makes to `out`.
    pub fn observe(&mut self, o: &Observation, out: &mut Vec<Event>) {
        self.summary.observations += 1;
        let Some(&ix) = self.by_index.get(&o.iface) else {
            self.summary.unknown_interface += 1;
            return;
        };
        let start = out.len();
        let name = Arc::clone(&self.ifaces[usize::from(ix)].name);
        let mut emit = |what| {
            out.push(Event {
                at: o.at,
                interface: Arc::clone(&name),
                frame: o.kind,
                what,
            });
        };
        if o.eth_src != o.sender_mac
            && self.first_report(ReportKey::Mismatch(
                ix,
                o.sender_ip,
                o.sender_mac,
                o.eth_src,
            ))
        {
            emit(What::EtherMismatch {
                ip: o.sender_ip,
                mac: o.sender_mac,
                eth_src: o.eth_src,
            });
        }
        if o.is_dad_probe() {
            self.summary.dad_probes += 1;
        } else if let Some(reason) = self.bogon(ix, o) {
            if self.first_report(ReportKey::Bogon(ix, o.sender_ip, o.sender_mac, reason)) {
                emit(What::Bogon {
                    ip: o.sender_ip,
                    mac: o.sender_mac,
                    reason,
                });
            }
        } else {
            self.learn(ix, o, &mut emit);
        }
        for ev in &out[start..] {
            self.summary.events.add(ev.kind());
        }
    }

    /// Why the sender of `o` cannot be a station on interface `ix`.
    fn bogon(&self, ix: u16, o: &Observation) -> Option<BogonReason> {
        match BadMac::check(o.sender_mac) {
            Some(BadMac::Zero) => return Some(BogonReason::ZeroMac),
            Some(BadMac::Broadcast) => return Some(BogonReason::BroadcastMac),
            Some(BadMac::Multicast) => return Some(BogonReason::MulticastMac),
            None => {}
        }
        let ip = o.sender_ip;
        if ip.is_unspecified() {
            return Some(BogonReason::Unspecified);
        }
        let nets = self.ifaces[usize::from(ix)]
            .nets
            .iter()
            .filter(|n| n.addr().is_ipv4() == ip.is_ipv4());
        let not_unicast = match ip {
            IpAddr::V4(a) => {
                a.is_multicast()
                    || a.is_broadcast()
                    || nets.clone().any(|n| match n.network() {
                        IpAddr::V4(net) if n.prefix_len() <= 30 => {
                            u32::from(a) == u32::from(net) | (u32::MAX >> n.prefix_len())
                        }
                        _ => false,
                    })
            }
            IpAddr::V6(a) => a.is_multicast(),
        };
        if not_unicast {
            return Some(BogonReason::NotUnicast);
        }
        let on_link = match ip {
            IpAddr::V6(a) => a.is_unicast_link_local(),
            IpAddr::V4(_) => false,
        };
        let mut nets = nets.peekable();
        if !on_link && nets.peek().is_some() && !nets.any(|n| n.contains(ip)) {
            return Some(BogonReason::OffNet);
        }
        None
    }

    /// Whether `key` is reported now: not if it is remembered as reported.
    fn first_report(&mut self, key: ReportKey) -> bool {
        if self.reported.contains(&key) {
            return false;
        }
        if self.report_order.len() >= self.limits.reports
            && let Some(old) = self.report_order.pop_front()
        {
            self.reported.remove(&old);
            self.summary.forgotten_reports += 1;
        }
        self.reported.insert(key);
        self.report_order.push_back(key);
        true
    }

    /// A claim by a station's sender: update or make the station.
    fn learn(&mut self, ix: u16, o: &Observation, emit: &mut impl FnMut(What)) {
        let (ip, mac, at) = (o.sender_ip, o.sender_mac, o.at);
        let key = (ix, ip);
        self.seq += 1;
        let seq = self.seq;
        let mut moved_from = None;
        let mut new = false;
        if let Some(e) = self.stations.get_mut(&key) {
            if e.one_frame {
                self.fresh.remove(&e.seq);
                e.one_frame = false;
            } else {
                self.settled.remove(&e.seq);
            }
            e.seq = seq;
            self.settled.insert(seq, key);
            if e.mac == mac {
                e.last_seen = at;
            } else {
                let old_mac = e.mac;
                let old_last_seen = e.last_seen;
                match rebind(e, mac, at, self.limits.history, &mut self.summary) {
                    Rebound::Changed => emit(What::Changed {
                        ip,
                        mac,
                        vendor: oui::label(mac, &self.vendors),
                        old_mac,
                        old_last_seen,
                    }),
                    Rebound::FlipFlop { mac_last_seen } => emit(What::FlipFlop {
                        ip,
                        mac,
                        mac_last_seen,
                        old_mac,
                        old_last_seen,
                    }),
                    Rebound::Repeated => {}
                }
                moved_from = Some(old_mac);
            }
        } else {
            if self.stations.len() >= self.limits.stations {
                self.evict_one();
            }
            self.stations.insert(
                key,
                Entry {
                    mac,
                    first_seen: at,
                    mac_since: at,
                    last_seen: at,
                    seq,
                    one_frame: true,
                    announced: Vec::new(),
                    past: Vec::new(),
                    flips: Vec::new(),
                },
            );
            self.fresh.insert(seq, key);
            emit(What::NewStation {
                ip,
                mac,
                vendor: oui::label(mac, &self.vendors),
            });
            new = true;
        }
        let new_claim = new || moved_from.is_some();
        if let Some(old) = moved_from {
            self.unclaim(ix, old);
        }
        if new_claim && let Some(ips) = self.claim(ix, mac) {
            emit(What::ManyIps {
                mac,
                vendor: oui::label(mac, &self.vendors),
                ips,
            });
        }
        if o.is_announcement()
            && let Some(e) = self.stations.get_mut(&key)
            && !e.announced.contains(&mac)
        {
            e.announced.push(mac);
            emit(What::Announcement { ip, mac });
        }
    }

    /// One more station bound to `mac`: the count, when it has just
    /// reached the threshold of a MAC not reported yet.
    fn claim(&mut self, ix: u16, mac: MacAddr) -> Option<u32> {
        let c = self.claims.entry((ix, mac)).or_default();
        c.ips += 1;
        let threshold = self.limits.many_ips;
        if threshold > 0 && c.ips >= threshold && !c.reported {
            c.reported = true;
            return Some(c.ips);
        }
        None
    }

    /// One station fewer bound to `mac`; the claim goes with its last.
    fn unclaim(&mut self, ix: u16, mac: MacAddr) {
        if let Some(c) = self.claims.get_mut(&(ix, mac)) {
            c.ips = c.ips.saturating_sub(1);
            if c.ips == 0 {
                self.claims.remove(&(ix, mac));
            }
        }
    }

    /// Make room for one station: the least recently seen of those seen
    /// once, else of all.
    fn evict_one(&mut self) {
        let victim = self
            .fresh
            .first_key_value()
            .or_else(|| self.settled.first_key_value())
            .map(|(_, k)| *k);
        if let Some(key) = victim {
            self.remove(key);
            self.summary.evicted_stations += 1;
        }
    }

    fn remove(&mut self, key: Key) {
        if let Some(e) = self.stations.remove(&key) {
            if e.one_frame {
                self.fresh.remove(&e.seq);
            } else {
                self.settled.remove(&e.seq);
            }
            self.unclaim(key.0, e.mac);
        }
    }
}

/// What moving a station to another MAC was.
enum Rebound {
    /// To a MAC not in its history.
    Changed,
    /// Back to one in its history, first time for this pair.
    FlipFlop { mac_last_seen: SystemTime },
    /// Back to one in its history, the pair reported already.
    Repeated,
}

/// Bind `e` to `mac` at `at`, keeping the old MAC in its history.
fn rebind(
    e: &mut Entry,
    mac: MacAddr,
    at: SystemTime,
    history: usize,
    summary: &mut Summary,
) -> Rebound {
    let old = PastMac {
        mac: e.mac,
        first_seen: e.mac_since,
        last_seen: e.last_seen,
    };
    let (rebound, since) = match e.past.iter().position(|p| p.mac == mac) {
        Some(i) => {
            let back = e.past.remove(i);
            let pair = if old.mac < mac {
                (old.mac, mac)
            } else {
                (mac, old.mac)
            };
            if e.flips.contains(&pair) {
                summary.repeated_flips += 1;
                (Rebound::Repeated, back.first_seen)
            } else {
                e.flips.push(pair);
                (
                    Rebound::FlipFlop {
                        mac_last_seen: back.last_seen,
                    },
                    back.first_seen,
                )
            }
        }
        None => (Rebound::Changed, at),
    };
    if e.past.len() >= history {
        let gone = e.past.remove(0).mac;
        e.flips.retain(|&(a, b)| a != gone && b != gone);
        e.announced.retain(|&a| a != gone);
        summary.evicted_history += 1;
    }
    e.past.push(old);
    e.mac = mac;
    e.mac_since = since;
    e.last_seen = at;
    rebound
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arp::watch::NaFlags;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    const IF: u32 = 2;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn mac(n: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, n])
    }

    fn ip(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))
    }

    fn v6(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn lab() -> WatchIface {
        WatchIface {
            ifindex: IF,
            name: "veth0".into(),
            nets: vec![
                Cidr::parse("198.51.100.0/24").unwrap(),
                Cidr::parse("2001:db8::/64").unwrap(),
            ],
        }
    }

    fn watch(limits: Limits) -> Watch {
        Watch::new(vec![lab()], limits)
    }

    /// A frame from `m` in which it claims `sender` (asking for .1).
    fn arp(at: u64, kind: FrameKind, sender: IpAddr, m: MacAddr) -> Observation {
        Observation {
            at: t(at),
            iface: IF,
            eth_src: m,
            kind,
            sender_ip: sender,
            sender_mac: m,
            target_ip: ip(1),
        }
    }

    fn req(at: u64, sender: IpAddr, m: MacAddr) -> Observation {
        arp(at, FrameKind::ArpRequest, sender, m)
    }

    fn feed(w: &mut Watch, obs: &[Observation]) -> Vec<Event> {
        let mut out = Vec::new();
        for o in obs {
            w.observe(o, &mut out);
        }
        out
    }

    fn kinds(evs: &[Event]) -> Vec<EventKind> {
        evs.iter().map(Event::kind).collect()
    }

    #[test]
    fn a_new_station_is_reported_once_with_its_vendor() {
        let mut w = watch(Limits::default());
        let dlink: MacAddr = "00:05:5d:61:58:a8".parse().unwrap();
        w.set_vendors([([0x00, 0x05, 0x5d], "D-LINK SYSTEMS, INC.".to_string())].into());
        let evs = feed(&mut w, &[req(0, ip(2), dlink)]);
        assert_eq!(
            evs,
            [Event {
                at: t(0),
                interface: "veth0".into(),
                frame: FrameKind::ArpRequest,
                what: What::NewStation {
                    ip: ip(2),
                    mac: dlink,
                    vendor: "D-LINK SYSTEMS, INC.".into(),
                },
            }]
        );
        let again: Vec<Observation> = (1..=100).map(|s| req(s, ip(2), dlink)).collect();
        assert_eq!(feed(&mut w, &again), []);
        let evs = feed(&mut w, &[arp(101, FrameKind::ArpReply, ip(3), mac(3))]);
        assert!(
            matches!(&evs[..], [Event { what: What::NewStation { vendor, .. }, .. }] if vendor == "(locally administered)"),
            "{evs:?}"
        );
        let s = w.station("veth0", ip(2)).unwrap();
        assert_eq!((s.mac, s.first_seen, s.last_seen), (dlink, t(0), t(100)));
        assert_eq!(w.summary().events.get(EventKind::NewStation), 2);
        assert_eq!(w.summary().observations, 102);
    }

    #[test]
    fn a_changed_mac_is_reported_once_with_the_old_one_and_when_it_was_last_seen() {
        let mut w = watch(Limits::default());
        feed(&mut w, &[req(0, ip(2), mac(2)), req(5, ip(2), mac(2))]);
        let mut frames = vec![arp(9, FrameKind::ArpReply, ip(2), mac(9))];
        frames.extend((10..110).map(|s| req(s, ip(2), mac(9))));
        let evs = feed(&mut w, &frames);
        assert_eq!(
            evs.iter().map(|e| &e.what).collect::<Vec<_>>(),
            [&What::Changed {
                ip: ip(2),
                mac: mac(9),
                vendor: "(locally administered)".into(),
                old_mac: mac(2),
                old_last_seen: t(5),
            }]
        );
        assert_eq!(evs[0].at, t(9));
        let s = w.station("veth0", ip(2)).unwrap();
        assert_eq!((s.mac, s.mac_since, s.first_seen), (mac(9), t(9), t(0)));
        assert_eq!(
            s.past,
            [PastMac {
                mac: mac(2),
                first_seen: t(0),
                last_seen: t(5),
            }]
        );
    }

    #[test]
    fn going_back_is_a_flip_flop_once_per_pair_however_many_turns() {
        let mut w = watch(Limits::default());
        let a = |s| req(s, ip(2), mac(0xa));
        let b = |s| req(s, ip(2), mac(0xb));
        let c = |s| req(s, ip(2), mac(0xc));
        assert_eq!(kinds(&feed(&mut w, &[a(0), a(1)])), [EventKind::NewStation]);
        assert_eq!(kinds(&feed(&mut w, &[b(2), b(3)])), [EventKind::Changed]);
        let evs = feed(&mut w, &[a(4)]);
        assert_eq!(
            evs.iter().map(|e| &e.what).collect::<Vec<_>>(),
            [&What::FlipFlop {
                ip: ip(2),
                mac: mac(0xa),
                mac_last_seen: t(1),
                old_mac: mac(0xb),
                old_last_seen: t(3),
            }]
        );
        assert_eq!(w.station("veth0", ip(2)).unwrap().mac_since, t(0));
        // A host and a spoofer taking 100 turns more: nothing new.
        let turns: Vec<Observation> = (5..105)
            .map(|s| if s % 2 == 1 { b(s) } else { a(s) })
            .collect();
        assert_eq!(feed(&mut w, &turns), []);
        assert_eq!(w.summary().repeated_flips, 100);
        // A third MAC is a change; back to a is a new pair, to b an old one.
        assert_eq!(kinds(&feed(&mut w, &[c(200)])), [EventKind::Changed]);
        assert_eq!(kinds(&feed(&mut w, &[a(201)])), [EventKind::FlipFlop]);
        assert_eq!(feed(&mut w, &[b(202)]), []);
        let sum = w.summary();
        assert_eq!(
            (
                sum.events.get(EventKind::Changed),
                sum.events.get(EventKind::FlipFlop)
            ),
            (2, 2)
        );
    }

    #[test]
    fn a_mac_dropped_from_the_history_is_a_change_again() {
        let mut w = watch(Limits {
            history: 2,
            ..Limits::default()
        });
        let obs: Vec<Observation> = (1..=4).map(|n| req(u64::from(n), ip(2), mac(n))).collect();
        let k = kinds(&feed(&mut w, &obs));
        assert_eq!(
            k,
            [
                EventKind::NewStation,
                EventKind::Changed,
                EventKind::Changed,
                EventKind::Changed
            ]
        );
        let s = w.station("veth0", ip(2)).unwrap();
        assert_eq!(
            s.past.iter().map(|p| p.mac).collect::<Vec<_>>(),
            [mac(2), mac(3)]
        );
        assert_eq!(w.summary().evicted_history, 1);
        assert_eq!(
            kinds(&feed(&mut w, &[req(5, ip(2), mac(1))])),
            [EventKind::Changed]
        );
        assert_eq!(
            kinds(&feed(&mut w, &[req(6, ip(2), mac(4))])),
            [EventKind::FlipFlop]
        );
    }

    #[test]
    fn a_mac_claiming_many_ips_is_reported_once_when_it_reaches_the_threshold() {
        let mut w = watch(Limits {
            many_ips: 3,
            ..Limits::default()
        });
        let m = mac(0x66);
        let k = kinds(&feed(&mut w, &[req(0, ip(10), m), req(1, ip(11), m)]));
        assert_eq!(k, [EventKind::NewStation, EventKind::NewStation]);
        let evs = feed(&mut w, &[req(2, ip(12), m)]);
        assert_eq!(kinds(&evs), [EventKind::NewStation, EventKind::ManyIps]);
        assert!(matches!(evs[1].what, What::ManyIps { mac, ips: 3, .. } if mac == m));
        // More addresses, the same frames again: still the one event.
        let more: Vec<Observation> = (13..=40)
            .chain(10..=40)
            .map(|n| req(u64::from(n), ip(n), m))
            .collect();
        let k = kinds(&feed(&mut w, &more));
        assert!(k.iter().all(|k| *k == EventKind::NewStation), "{k:?}");
        assert_eq!(w.summary().events.get(EventKind::ManyIps), 1);
        // Every address moves to its own MAC: the claim is gone; claiming
        // three again is a new claim.
        let away: Vec<Observation> = (10..=40).map(|n| req(100, ip(n), mac(n))).collect();
        feed(&mut w, &away);
        assert!(!w.claims.contains_key(&(0, m)));
        let back: Vec<Observation> = (10..=12).map(|n| req(200, ip(n), m)).collect();
        let k = kinds(&feed(&mut w, &back));
        assert_eq!(
            k.iter().filter(|k| **k == EventKind::ManyIps).count(),
            1,
            "{k:?}"
        );
        // Off: never reported.
        let mut off = watch(Limits {
            many_ips: 0,
            ..Limits::default()
        });
        let all: Vec<Observation> = (10..=60).map(|n| req(0, ip(n), m)).collect();
        assert_eq!(feed(&mut off, &all).len(), 51);
    }

    #[test]
    fn announcements_are_reported_once_per_station_and_mac() {
        let mut w = watch(Limits::default());
        let garp = |s, m| Observation {
            target_ip: ip(2),
            ..req(s, ip(2), m)
        };
        let k = kinds(&feed(
            &mut w,
            &[garp(0, mac(2)), garp(1, mac(2)), garp(2, mac(2))],
        ));
        assert_eq!(k, [EventKind::NewStation, EventKind::Announcement]);
        let reply = Observation {
            target_ip: ip(2),
            ..arp(3, FrameKind::ArpReply, ip(2), mac(2))
        };
        assert_eq!(feed(&mut w, &[reply]), []);
        // A spoofer announcing the address, then the owner again, in turns.
        let k = kinds(&feed(
            &mut w,
            &[garp(4, mac(7)), garp(5, mac(2)), garp(6, mac(7))],
        ));
        assert_eq!(
            k,
            [
                EventKind::Changed,
                EventKind::Announcement,
                EventKind::FlipFlop
            ]
        );
        // An ordinary request is no announcement.
        assert_eq!(feed(&mut w, &[req(7, ip(3), mac(3))]).len(), 1);

        let b = "2001:db8::b".parse::<Ipv6Addr>().unwrap();
        let na = |s, solicited| {
            Observation::ndp_advert(
                t(s),
                IF,
                mac(0xb),
                "ff02::1".parse().unwrap(),
                b,
                Some(mac(0xb)),
                NaFlags {
                    solicited,
                    ..NaFlags::default()
                },
            )
        };
        assert_eq!(
            kinds(&feed(&mut w, &[na(8, true)])),
            [EventKind::NewStation]
        );
        let evs = feed(&mut w, &[na(9, false), na(10, false)]);
        assert_eq!(
            evs.iter()
                .map(|e| (&e.what, e.frame.as_str()))
                .collect::<Vec<_>>(),
            [(
                &What::Announcement {
                    ip: IpAddr::V6(b),
                    mac: mac(0xb)
                },
                "na"
            )]
        );
    }

    #[test]
    fn bogons_are_reported_once_and_dad_probes_are_not_bogons() {
        let mut w = watch(Limits::default());
        let off = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));
        let flood: Vec<Observation> = (0..100).map(|s| req(s, off, mac(5))).collect();
        let evs = feed(&mut w, &flood);
        assert_eq!(
            evs.iter().map(|e| &e.what).collect::<Vec<_>>(),
            [&What::Bogon {
                ip: off,
                mac: mac(5),
                reason: BogonReason::OffNet,
            }]
        );
        assert!(w.stations().is_empty(), "a bogon is no station");
        // Another MAC for the same address is another key.
        assert_eq!(
            kinds(&feed(&mut w, &[req(0, off, mac(6))])),
            [EventKind::Bogon]
        );

        let zero = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let probe = Observation {
            target_ip: ip(9),
            ..req(1, zero, mac(9))
        };
        assert_eq!(feed(&mut w, &[probe.clone(), probe]), []);
        let ns = Observation::ndp_solicit(
            t(2),
            IF,
            mac(9),
            Ipv6Addr::UNSPECIFIED,
            "2001:db8::9".parse().unwrap(),
            None,
        );
        assert_eq!(feed(&mut w, &[ns]), []);
        assert_eq!(w.summary().dad_probes, 3);
        assert!(w.stations().is_empty(), "a probe is no station");
    }

    #[test]
    fn each_bogon_reason() {
        let zero = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let reason = |o: Observation| {
            let mut w = watch(Limits::default());
            let evs = feed(&mut w, &[o]);
            assert!(evs.len() <= 1, "{evs:?}");
            evs.iter().find_map(|e| match e.what {
                What::Bogon { reason, .. } => Some(reason),
                _ => None,
            })
        };
        let reply0 = arp(0, FrameKind::ArpReply, zero, mac(9));
        assert_eq!(reason(reply0), Some(BogonReason::Unspecified));
        let probe_zero = Observation {
            target_ip: zero,
            ..req(0, zero, mac(9))
        };
        assert_eq!(reason(probe_zero), Some(BogonReason::Unspecified));
        assert_eq!(
            reason(req(0, ip(255), mac(9))),
            Some(BogonReason::NotUnicast)
        );
        assert_eq!(
            reason(req(0, v6("224.0.0.1"), mac(9))),
            Some(BogonReason::NotUnicast)
        );
        assert_eq!(
            reason(req(0, v6("ff02::1"), mac(9))),
            Some(BogonReason::NotUnicast)
        );
        assert_eq!(
            reason(req(0, ip(0), mac(9))),
            None,
            "a network address may be a host's"
        );
        assert_eq!(
            reason(req(0, ip(9), MacAddr::ZERO)),
            Some(BogonReason::ZeroMac)
        );
        assert_eq!(
            reason(req(0, ip(9), MacAddr::BROADCAST)),
            Some(BogonReason::BroadcastMac)
        );
        let group: MacAddr = "01:00:5e:00:00:01".parse().unwrap();
        assert_eq!(
            reason(req(0, ip(9), group)),
            Some(BogonReason::MulticastMac)
        );
        assert_eq!(
            reason(req(0, v6("2001:db8:1::9"), mac(9))),
            Some(BogonReason::OffNet)
        );
        assert_eq!(
            reason(req(0, v6("fe80::9"), mac(9))),
            None,
            "link-local is on the link"
        );
        assert_eq!(reason(req(0, v6("2001:db8::9"), mac(9))), None);

        // An interface without IPv6 networks has nothing to compare with.
        let v4_only = WatchIface {
            nets: vec![Cidr::parse("198.51.100.0/24").unwrap()],
            ..lab()
        };
        let mut w = Watch::new(vec![v4_only], Limits::default());
        let evs = feed(
            &mut w,
            &[
                req(0, v6("2001:db8:7::1"), mac(9)),
                req(0, v6("203.0.113.1"), mac(9)),
            ],
        );
        assert_eq!(kinds(&evs), [EventKind::NewStation, EventKind::Bogon]);
    }

    #[test]
    fn an_ethernet_source_unlike_the_sender_mac_is_reported_once() {
        let mut w = watch(Limits::default());
        let spoof = |s| Observation {
            eth_src: mac(0xee),
            ..arp(s, FrameKind::ArpReply, ip(2), mac(2))
        };
        let evs = feed(&mut w, &[spoof(0), spoof(1), spoof(2)]);
        assert_eq!(
            evs.iter().map(|e| &e.what).collect::<Vec<_>>(),
            [
                &What::EtherMismatch {
                    ip: ip(2),
                    mac: mac(2),
                    eth_src: mac(0xee),
                },
                &What::NewStation {
                    ip: ip(2),
                    mac: mac(2),
                    vendor: "(locally administered)".into(),
                },
            ]
        );
        assert_eq!(
            w.station("veth0", ip(2)).unwrap().mac,
            mac(2),
            "the protocol's claim"
        );
        assert_eq!(
            feed(&mut w, &[req(3, ip(2), mac(2))]),
            [],
            "consistent again"
        );
        // An NDP option unlike the Ethernet source too; no option, no check.
        let b: Ipv6Addr = "2001:db8::b".parse().unwrap();
        let ns = |lla| {
            Observation::ndp_solicit(t(4), IF, mac(0xb), b, "2001:db8::1".parse().unwrap(), lla)
        };
        assert_eq!(
            kinds(&feed(&mut w, &[ns(Some(mac(0xc)))]))[0],
            EventKind::EtherMismatch
        );
        let mut w = watch(Limits::default());
        assert_eq!(kinds(&feed(&mut w, &[ns(None)])), [EventKind::NewStation]);
    }

    #[test]
    fn reported_keys_are_capped_and_the_oldest_forgotten_first() {
        let mut w = watch(Limits {
            reports: 2,
            ..Limits::default()
        });
        let off = |n| req(0, IpAddr::V4(Ipv4Addr::new(203, 0, 113, n)), mac(n));
        assert_eq!(feed(&mut w, &[off(1), off(2), off(1), off(2)]).len(), 2);
        assert_eq!(feed(&mut w, &[off(3), off(2)]).len(), 1);
        assert_eq!(w.summary().forgotten_reports, 1);
        assert_eq!(
            feed(&mut w, &[off(1)]).len(),
            1,
            "forgotten: reported again"
        );
        assert!(w.reported.len() <= 2 && w.report_order.len() <= 2);
    }

    #[test]
    fn frames_from_an_interface_not_watched_are_counted_only() {
        let mut w = watch(Limits::default());
        let o = Observation {
            iface: IF + 1,
            ..req(0, ip(2), mac(2))
        };
        assert_eq!(feed(&mut w, &[o]), []);
        let s = w.summary();
        assert_eq!((s.observations, s.unknown_interface, s.stations), (1, 1, 0));
    }

    #[test]
    fn at_the_cap_a_one_frame_station_goes_first_then_the_least_recently_seen() {
        let mut w = watch(Limits {
            stations: 3,
            ..Limits::default()
        });
        feed(
            &mut w,
            &[
                req(0, ip(1), mac(1)),
                req(1, ip(2), mac(2)),
                req(2, ip(1), mac(1)),
                req(3, ip(2), mac(2)),
            ],
        );
        feed(&mut w, &[req(4, ip(3), mac(3)), req(5, ip(4), mac(4))]);
        let held = |w: &Watch| w.stations().iter().map(|s| s.ip).collect::<Vec<_>>();
        assert_eq!(held(&w), [ip(1), ip(2), ip(4)], "3 was seen once");
        feed(&mut w, &[req(6, ip(4), mac(4)), req(7, ip(1), mac(1))]);
        feed(&mut w, &[req(8, ip(5), mac(5))]);
        assert_eq!(held(&w), [ip(1), ip(4), ip(5)], "2 was seen least recently");
        let s = w.summary();
        assert_eq!((s.stations, s.evicted_stations), (3, 2));
        // Gone is forgotten: new again.
        assert_eq!(
            kinds(&feed(&mut w, &[req(9, ip(2), mac(2))])),
            [EventKind::NewStation]
        );
    }

    /// Distinct addresses of 10.0.0.0/8 in a scrambled order: `n` times an
    /// odd number is a bijection modulo 2^24.
    fn scrambled(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(
            (10 << 24) | (n.wrapping_mul(0x9e37_79b1) & 0x00ff_ffff),
        ))
    }

    #[test]
    fn a_flood_of_a_million_addresses_stays_within_the_cap() {
        let cap = 10_000;
        let mut w = Watch::new(
            vec![WatchIface {
                nets: vec![Cidr::parse("10.0.0.0/8").unwrap()],
                ..lab()
            }],
            Limits {
                stations: cap,
                ..Limits::default()
            },
        );
        // Two stations that talk (two frames each) before the flood.
        let mut out = Vec::new();
        let real = [scrambled(0), scrambled(1_000_001)];
        for round in 0..2 {
            for r in real {
                w.observe(&req(round, r, mac(0x77)), &mut out);
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut events = out.len() as u64;
        for n in 1..=1_000_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let b = state.to_le_bytes();
            let m = MacAddr([b[0] & 0xfe, b[1], b[2], b[3], b[4], b[5]]);
            out.clear();
            w.observe(&req(u64::from(n), scrambled(n), m), &mut out);
            events += out.len() as u64;
        }
        let s = w.summary();
        let new = s.events.get(EventKind::NewStation);
        assert_eq!(s.stations, cap as u64);
        assert_eq!(new, 1_000_002, "every flooded address and the two");
        assert_eq!(s.evicted_stations, new - cap as u64);
        assert_eq!(s.events.total(), events);
        for r in real {
            assert!(
                w.station("veth0", r).is_some(),
                "{r} talked twice and stays"
            );
        }
        assert_eq!(w.stations.len(), cap);
        assert_eq!(w.fresh.len() + w.settled.len(), cap);
        assert!(w.claims.len() <= cap);
        assert!(w.reported.len() <= w.limits.reports);
    }

    #[test]
    fn restored_stations_are_known_and_the_most_recent_kept() {
        let mut w = watch(Limits {
            stations: 2,
            history: 1,
            many_ips: 2,
            ..Limits::default()
        });
        let st = |n: u8, seen: u64, m: MacAddr| Station {
            interface: "veth0".into(),
            ip: ip(n),
            mac: m,
            first_seen: t(0),
            mac_since: t(0),
            last_seen: t(seen),
            past: vec![
                PastMac {
                    mac: mac(0x40),
                    first_seen: t(0),
                    last_seen: t(0),
                },
                PastMac {
                    mac: mac(0x41),
                    first_seen: t(0),
                    last_seen: t(0),
                },
            ],
        };
        let m = mac(0x50);
        w.restore(vec![st(3, 30, m), st(1, 10, m), st(2, 20, m)]);
        let s = w.summary();
        assert_eq!(
            (s.stations, s.evicted_stations, s.evicted_history),
            (2, 1, 3)
        );
        assert!(w.station("veth0", ip(1)).is_none(), "the least recent went");
        assert_eq!(w.station("veth0", ip(3)).unwrap().past.len(), 1);
        assert_eq!(w.station("veth0", ip(3)).unwrap().past[0].mac, mac(0x41));
        // Known: no new station; m held 2 from the start: no many_ips.
        assert_eq!(feed(&mut w, &[req(40, ip(3), m), req(41, ip(2), m)]), []);
        let k = kinds(&feed(&mut w, &[req(42, ip(3), mac(0x41))]));
        assert_eq!(k, [EventKind::FlipFlop], "the history came along");
        // A station of an interface not watched is kept, and saved back.
        w.restore(vec![Station {
            interface: "eth9".into(),
            ..st(9, 50, mac(9))
        }]);
        assert!(w.station("eth9", ip(9)).is_some());
        assert_eq!(w.summary().events.total(), 1);
    }

    #[test]
    fn events_and_the_summary_are_json_lines_with_the_schema() {
        let mut w = watch(Limits::default());
        let evs = feed(&mut w, &[req(0, ip(2), mac(2)), req(60, ip(2), mac(3))]);
        let v = serde_json::to_value(&evs[1]).unwrap();
        assert_eq!(v["schema"], "nettool.arp.event/1");
        assert_eq!(v["event"], "changed");
        assert_eq!(v["interface"], "veth0");
        assert_eq!(v["frame"], "arp_request");
        assert_eq!(v["ip"], "198.51.100.2");
        assert_eq!(v["mac"], "02:00:00:00:00:03");
        assert_eq!(v["old_mac"], "02:00:00:00:00:02");
        let time = v["time"].as_str().unwrap();
        let old = v["old_last_seen"].as_str().unwrap();
        assert_eq!(time.len(), "2027-01-15T08:01:00.000+00:00".len(), "{time}");
        assert_ne!(time, old);
        let line = serde_json::to_string(&evs[0]).unwrap();
        assert!(!line.contains('\n'));
        assert!(
            line.starts_with(r#"{"schema":"nettool.arp.event/1","event":"new_station""#),
            "{line}"
        );

        let v = serde_json::to_value(w.summary()).unwrap();
        assert_eq!(v["schema"], "nettool.arp.event/1");
        assert_eq!(v["event"], "summary");
        assert_eq!(v["observations"], 2);
        assert_eq!(v["events"]["new_station"], 1);
        assert_eq!(v["events"]["changed"], 1);
        assert_eq!(v["events"].as_object().unwrap().len(), EventKind::ALL.len());
        for k in EventKind::ALL {
            assert_eq!(EventKind::ALL[k as usize], k);
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        /// On the lab's networks; then never a station.
        const GOOD: [&str; 5] = [
            "198.51.100.2",
            "198.51.100.3",
            "198.51.100.4",
            "2001:db8::2",
            "fe80::2",
        ];
        const BAD: [&str; 5] = ["0.0.0.0", "203.0.113.9", "198.51.100.255", "::", "ff02::1"];

        fn observation() -> impl Strategy<Value = Observation> {
            (
                0u64..50,
                prop_oneof![4 => Just(IF), 1 => Just(IF + 1)],
                0usize..10,
                0u8..6,
                0u8..6,
                0u8..4,
                any::<(bool, bool, bool)>(),
                0usize..10,
            )
                .prop_map(|(at, iface, s, m, e, kind, (r, sol, o), tgt)| {
                    let all: Vec<IpAddr> = GOOD
                        .iter()
                        .chain(&BAD)
                        .map(|a| a.parse().unwrap())
                        .collect();
                    // MAC 0 is multicast: never a station either.
                    let mac_of = |n: u8| {
                        if n == 0 {
                            MacAddr([1, 0, 0, 0, 0, 1])
                        } else {
                            mac(n)
                        }
                    };
                    let kind = match kind {
                        0 => FrameKind::ArpRequest,
                        1 => FrameKind::ArpReply,
                        2 => FrameKind::NdpSolicit,
                        _ => FrameKind::NdpAdvert(NaFlags {
                            router: r,
                            solicited: sol,
                            override_: o,
                        }),
                    };
                    Observation {
                        at: t(at),
                        iface,
                        eth_src: mac_of(e),
                        kind,
                        sender_ip: all[s],
                        sender_mac: mac_of(m),
                        target_ip: all[tgt],
                    }
                })
        }

        proptest! {
            #[test]
            fn any_sequence_keeps_the_invariants(
                obs in proptest::collection::vec(observation(), 0..300),
                stations in 1usize..5,
                history in 1usize..3,
                reports in 1usize..4,
                many_ips in 0u32..4,
            ) {
                let limits = Limits { stations, history, reports, many_ips };
                let mut w = watch(limits);
                let mut last: HashMap<IpAddr, MacAddr> = HashMap::new();
                let mut counts = Counts::default();
                let mut out = Vec::new();
                for o in &obs {
                    out.clear();
                    w.observe(o, &mut out);
                    for e in &out {
                        counts.add(e.kind());
                    }
                    let learned = o.iface == IF
                        && GOOD.iter().any(|g| g.parse::<IpAddr>().unwrap() == o.sender_ip)
                        && !o.sender_mac.is_multicast();
                    if learned {
                        last.insert(o.sender_ip, o.sender_mac);
                    }
                }
                let s = w.summary();
                prop_assert_eq!(s.events, counts);
                prop_assert_eq!(s.observations, obs.len() as u64);
                prop_assert_eq!(
                    s.events.get(EventKind::NewStation),
                    s.stations + s.evicted_stations
                );
                prop_assert!(w.stations.len() <= stations);
                prop_assert_eq!(w.fresh.len() + w.settled.len(), w.stations.len());
                prop_assert!(w.reported.len() <= reports);
                prop_assert_eq!(w.reported.len(), w.report_order.len());
                let mut claims: HashMap<(u16, MacAddr), u32> = HashMap::new();
                for (k, e) in &w.stations {
                    prop_assert_eq!(Some(&e.mac), last.get(&k.1), "{:?}", k);
                    prop_assert!(e.past.len() <= history);
                    prop_assert!(e.past.iter().all(|p| p.mac != e.mac));
                    let one = |m: &MacAddr| *m == e.mac || e.past.iter().any(|p| p.mac == *m);
                    prop_assert!(e.flips.iter().all(|(a, b)| one(a) && one(b)));
                    prop_assert!(e.announced.iter().all(one));
                    *claims.entry((k.0, e.mac)).or_default() += 1;
                }
                prop_assert_eq!(claims.len(), w.claims.len());
                for (k, n) in claims {
                    prop_assert_eq!(w.claims[&k].ips, n);
                }
            }
        }
    }
}
