//! `nettool sockstat --diagnose` (and the findings of `-s`): what is
//! wrong with the sockets of this machine right now, who does it, the
//! numbers, and what to do.
//!
//! Gathering and judging are apart. Per namespace, a [`Reading`] (the TCP
//! and UDP sockets with their `tcp_info` and memory, each with its kernel
//! cookie, and the protocol counters) is taken twice, `--interval` apart;
//! the second [`Look`] adds the kernel's figures and the sysctls that bound
//! them, and the owners of the sockets a finding may name. [`findings`] is
//! pure: a `Look` in, [`Finding`]s out, most severe first. The connection
//! findings are in `conn.rs`, the listener and kernel-limit ones in
//! `limits.rs`.

mod conn;
mod limits;
pub mod sysctl;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::counters::{Counters, Interval};
use super::model::{Endpoint, Proto, Socket, TcpState};
use super::netlink;
use super::{Error, Extensions, Tables};
pub use sysctl::Sysctls;

/// How bad a finding is; sorted most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Connections are being lost or refused now.
    Critical,
    /// Something is wrong and will get worse.
    Warning,
    /// Worth knowing; nothing is lost yet.
    Notice,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
    }
}

/// What was found. The order is the order of findings of one severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    AcceptQueueOverflow,
    SynFlood,
    TcpMemoryPressure,
    OrphansNearLimit,
    TimeWaitPressure,
    CloseWaitLeak,
    UdpDrops,
    Retransmitting,
    PeerNotReading,
    LocalNotReading,
    FinWait2Held,
}

impl Kind {
    /// Every kind, in the order above (metrics list each, found or not).
    pub const ALL: [Kind; 11] = [
        Kind::AcceptQueueOverflow,
        Kind::SynFlood,
        Kind::TcpMemoryPressure,
        Kind::OrphansNearLimit,
        Kind::TimeWaitPressure,
        Kind::CloseWaitLeak,
        Kind::UdpDrops,
        Kind::Retransmitting,
        Kind::PeerNotReading,
        Kind::LocalNotReading,
        Kind::FinWait2Held,
    ];

    /// The words a line starts with.
    pub fn title(self) -> &'static str {
        match self {
            Kind::AcceptQueueOverflow => "accept queue overflow",
            Kind::SynFlood => "SYN_RECV pile-up",
            Kind::TcpMemoryPressure => "TCP memory pressure",
            Kind::OrphansNearLimit => "orphans near the limit",
            Kind::TimeWaitPressure => "TIME_WAIT pressure on ephemeral ports",
            Kind::CloseWaitLeak => "CLOSE_WAIT leak",
            Kind::UdpDrops => "UDP receive drops",
            Kind::Retransmitting => "retransmitting",
            Kind::PeerNotReading => "peer not reading",
            Kind::LocalNotReading => "local program not reading",
            Kind::FinWait2Held => "FIN_WAIT2 held open",
        }
    }
}

/// Who a finding is about: a process, a socket's addresses, or both.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Subject {
    /// `pid/command`, several joined by commas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The subject's own numbers (its queue, its state's age).
    #[serde(skip_serializing_if = "Evidence::is_empty")]
    pub evidence: Evidence,
}

/// One number (or word) of evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Count(u64),
    /// Seconds, a ratio, a rate.
    Real(f64),
    Text(String),
}

impl Serialize for Figure {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        match self {
            Figure::Count(n) => ser.serialize_u64(*n),
            Figure::Real(x) => ser.serialize_f64((x * 1000.0).round() / 1000.0),
            Figure::Text(t) => ser.serialize_str(t),
        }
    }
}

/// Named figures, in the order they were added (a JSON object).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evidence(pub Vec<(&'static str, Figure)>);

impl Evidence {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn count(mut self, name: &'static str, n: impl Into<u64>) -> Evidence {
        self.0.push((name, Figure::Count(n.into())));
        self
    }
    pub fn real(mut self, name: &'static str, x: f64) -> Evidence {
        self.0.push((name, Figure::Real(x)));
        self
    }
    pub fn text(mut self, name: &'static str, t: impl Into<String>) -> Evidence {
        self.0.push((name, Figure::Text(t.into())));
        self
    }
    /// `count` when `n` is known.
    pub fn some(self, name: &'static str, n: Option<impl Into<u64>>) -> Evidence {
        match n {
            Some(n) => self.count(name, n),
            None => self,
        }
    }
}

impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// One finding: one line of text, one JSON object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// What and who, with the numbers (the line after the title).
    pub summary: String,
    /// The namespace's label, with `-N`/`--all-netns`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// The namespace's `netns` label in metrics, set with `netns` (see
    /// [`Look::metric_netns`]); text and JSON show `netns`.
    #[serde(skip)]
    pub metric_netns: Option<String>,
    pub subjects: Vec<Subject>,
    pub evidence: Evidence,
    /// The TCP (or UDP) behaviour behind it.
    pub meaning: String,
    pub advice: String,
    /// The same in every namespace (the host-wide orphan count and TCP
    /// memory): reported once.
    #[serde(skip)]
    pub host_wide: bool,
}

/// At most this many subjects per finding; the evidence keeps the count.
pub const SUBJECTS: usize = 20;

/// One socket of a reading, with its kernel cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub cookie: u64,
    pub socket: Socket,
}

/// One namespace's sockets and counters at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub sockets: Vec<Seen>,
    pub counters: Counters,
}

/// Everything the findings look at, for one namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Look {
    /// The reading `interval` before `last`; `None` for `-s` without
    /// `--interval` (findings that need a change then judge what they can).
    pub first: Option<Reading>,
    pub last: Reading,
    /// Seconds between the two readings.
    pub seconds: f64,
    /// `/proc/net/sockstat` and `sockstat6`: section -> key -> value.
    pub kernel: BTreeMap<String, BTreeMap<String, u64>>,
    pub sysctls: Sysctls,
    /// `pid/command` of the sockets a finding may name, by inode.
    pub owners: BTreeMap<u64, String>,
    /// The namespace's label, with `-N`/`--all-netns`.
    pub netns: Option<String>,
    /// Its label in metrics, with `-N`/`--all-netns`: no pid, the same
    /// from run to run, unique among the namespaces looked at
    /// ([`crate::sockstat::netns::metric_labels`]).
    pub metric_netns: Option<String>,
}

/// A [`Look`] made ready to judge: the first reading by cookie and the
/// counters' change.
pub(crate) struct Cx<'a> {
    pub look: &'a Look,
    pub before: HashMap<u64, &'a Socket>,
    pub interval: Option<Interval>,
}

impl<'a> Cx<'a> {
    fn new(look: &'a Look) -> Cx<'a> {
        let before = look
            .first
            .iter()
            .flat_map(|r| &r.sockets)
            .map(|s| (s.cookie, &s.socket))
            .collect();
        let interval = look
            .first
            .as_ref()
            .map(|f| Interval::between(&f.counters, &look.last.counters, look.seconds));
        Cx {
            look,
            before,
            interval,
        }
    }

    /// The sockets of the last reading.
    pub fn sockets(&self) -> impl Iterator<Item = &'a Seen> {
        self.look.last.sockets.iter()
    }

    /// The same socket in the first reading.
    pub fn before(&self, cookie: u64) -> Option<&'a Socket> {
        self.before.get(&cookie).copied()
    }

    /// Whether there was a first reading to compare with.
    pub fn has_interval(&self) -> bool {
        self.interval.is_some()
    }

    /// How much `section.key` rose over the interval (`None` without one).
    pub fn rise(&self, section: &str, key: &str) -> Option<u64> {
        let i = self.interval.as_ref()?;
        let d = i.deltas.get(section, key).unwrap_or(0);
        Some(u64::try_from(d.max(0)).unwrap_or(u64::MAX))
    }

    /// `section.key` in the last reading (a total since boot).
    pub fn total(&self, section: &str, key: &str) -> Option<u64> {
        let v = self.look.last.counters.get(section, key)?;
        u64::try_from(v.max(0)).ok()
    }

    /// `/proc/net/sockstat`'s `section.key`.
    pub fn kernel(&self, section: &str, key: &str) -> Option<u64> {
        self.look.kernel.get(section)?.get(key).copied()
    }

    pub fn owner(&self, s: &Socket) -> Option<String> {
        (s.inode != 0)
            .then(|| self.look.owners.get(&s.inode).cloned())
            .flatten()
    }

    /// `in 1.0 s` or `since boot`.
    pub fn over(&self) -> String {
        if self.has_interval() {
            format!("in {:.1} s", self.look.seconds)
        } else {
            "since boot".into()
        }
    }

    /// `here`, or `in LABEL` with `-N`/`--all-netns`: where the sockets a
    /// host-wide finding lists are (its copy from another namespace may be
    /// the one reported).
    pub fn here(&self) -> String {
        self.look
            .netns
            .as_ref()
            .map_or_else(|| "here".into(), |l| format!("in {l}"))
    }

    pub fn finding(&self, kind: Kind, severity: Severity, summary: String) -> Finding {
        Finding {
            kind,
            severity,
            summary,
            netns: self.look.netns.clone(),
            metric_netns: self.look.metric_netns.clone(),
            subjects: Vec::new(),
            evidence: Evidence::default(),
            meaning: String::new(),
            advice: String::new(),
            host_wide: false,
        }
    }
}

/// An endpoint as numbers: `198.51.100.1:80`, `[2001:db8::1]:80`.
pub fn ep(e: &Endpoint) -> String {
    match e {
        Endpoint::Inet(sa) => sa.to_string(),
        Endpoint::Unix(_) => "*".into(),
    }
}

/// The address alone.
pub fn host(e: &Endpoint) -> String {
    e.ip().map_or_else(|| "*".into(), |ip| ip.to_string())
}

/// `a, b, c and 2 more`.
pub fn some_of(items: &[String], at_most: usize) -> String {
    let mut s = items[..items.len().min(at_most)].join(", ");
    if items.len() > at_most {
        let _ = write!(s, " and {} more", items.len() - at_most);
    }
    s
}

/// Every finding in `look`, most severe first.
pub fn findings(look: &Look) -> Vec<Finding> {
    let cx = Cx::new(look);
    let mut out = Vec::new();
    limits::accept_queue_overflow(&cx, &mut out);
    limits::syn_flood(&cx, &mut out);
    limits::tcp_memory(&cx, &mut out);
    limits::orphans(&cx, &mut out);
    conn::time_wait_pressure(&cx, &mut out);
    conn::close_wait_leak(&cx, &mut out);
    limits::udp_drops(&cx, &mut out);
    conn::retransmitting(&cx, &mut out);
    conn::peer_not_reading(&cx, &mut out);
    conn::local_not_reading(&cx, &mut out);
    conn::fin_wait2_held(&cx, &mut out);
    sort(&mut out);
    out
}

/// Most severe first; then by kind; then as found.
pub fn sort(f: &mut [Finding]) {
    f.sort_by_key(|f| (f.severity, f.kind));
}

/// Several namespaces' findings as one list: host-wide ones once (without
/// a namespace), most severe first. Of a host-wide finding's copies, the
/// one whose namespace holds the most of it (its subjects' orphans or
/// bytes; its summary names that namespace) is kept.
pub fn merge(per_ns: Vec<Vec<Finding>>) -> Vec<Finding> {
    // What a namespace's subjects hold of a host-wide finding.
    let held = |f: &Finding| -> u64 {
        f.subjects
            .iter()
            .filter_map(|s| match s.evidence.0.first() {
                Some((_, Figure::Count(n))) => Some(*n),
                _ => None,
            })
            .sum()
    };
    let mut out: Vec<Finding> = Vec::new();
    for f in per_ns.into_iter().flatten() {
        if f.host_wide {
            if let Some(o) = out.iter_mut().find(|o| o.host_wide && o.kind == f.kind) {
                if held(&f) > held(o) {
                    *o = Finding {
                        netns: None,
                        metric_netns: None,
                        ..f
                    };
                }
                continue;
            }
            out.push(Finding {
                netns: None,
                metric_netns: None,
                ..f
            });
        } else {
            out.push(f);
        }
    }
    sort(&mut out);
    out
}

/// The calling thread's namespace's TCP and UDP sockets (of `tables`, every state, with
/// `tcp_info` and memory) that pass `keep`, and its counters.
///
/// # Errors
/// A dump that fails, or counters that cannot be read.
pub fn read(
    tables: Tables,
    proc_root: &Path,
    keep: &dyn Fn(&Socket) -> bool,
    warn: &mut dyn FnMut(String),
) -> Result<Reading, Error> {
    let counters = super::counters::read(&super::netns::net_dir(proc_root), warn)?;
    let ext = Extensions {
        info: true,
        memory: true,
    };
    let mut sockets = Vec::new();
    for (proto, on) in [(Proto::Tcp, tables.tcp), (Proto::Udp, tables.udp)] {
        for (v6, fam) in [(false, tables.v4), (true, tables.v6)] {
            if on && fam {
                netlink::dump_with_cookies(proto, v6, ext, |socket, cookie| {
                    if keep(&socket) {
                        sockets.push(Seen { cookie, socket });
                    }
                })?;
            }
        }
    }
    Ok(Reading { sockets, counters })
}

/// Whether a finding may name `s`'s owner: every socket but the idle
/// majority (an established connection with empty queues, a quiet UDP
/// socket), so the owner scan looks for few inodes.
pub fn may_be_named(s: &Socket) -> bool {
    if s.inode == 0 {
        return false;
    }
    let queued = s.recv_q.unwrap_or(0) > 0 || s.send_q.unwrap_or(0) > 0;
    match (s.proto, s.state) {
        (Proto::Tcp, TcpState::Established) => {
            queued
                || s.internals
                    .as_ref()
                    .and_then(|i| i.tcp_info.as_ref())
                    .is_some_and(|t| {
                        // Also a lossy connection without a timeout running.
                        t.retransmits().unwrap_or(0) > 0
                            || t.backoff().unwrap_or(0) > 0
                            || t.total_retrans().unwrap_or(0) > 0
                    })
        }
        (Proto::Udp, _) => {
            queued
                || s.internals
                    .as_ref()
                    .and_then(|i| i.memory)
                    .is_some_and(|m| m.drops.unwrap_or(0) > 0)
        }
        _ => true,
    }
}

#[cfg(test)]
mod prop;
#[cfg(test)]
pub(crate) mod tests;
