//! `sockstat --prometheus` / `--textfile`: the families a sockstat report
//! becomes. Three pure functions, one per report: [`listing`] (the rows),
//! [`summary`] (`-s`) and [`diagnosis`] (`--diagnose`).
//!
//! The modes write disjoint families, so that one textfile directory can
//! hold a listing's file, a `-s` file and a `--diagnose` file at once
//! without two of them giving the same series (which `node_exporter`
//! refuses):
//!
//! - listing (`-ta` is the recommended form): `nettool_sockstat_sockets`
//!   `{proto, family, state}`; `nettool_sockstat_port_connections`
//!   `{port, state}`, the TCP connections whose local port is one a TCP listener
//!   of the same namespace has (how users see "how many ESTABLISHED on
//!   :443"); `nettool_sockstat_accept_queue_length` and
//!   `nettool_sockstat_accept_queue_backlog` `{address, port}`, a TCP
//!   listener's Recv-Q and Send-Q (listeners sharing an address and port
//!   through `SO_REUSEPORT` add up); `nettool_sockstat_close_wait_sockets`
//!   `{comm}`; `nettool_sockstat_time_wait_sockets` `{remote_address}`.
//!   They count what the same flags would list, filters included, so the
//!   per-port and queue families need listeners in the selection (`-a` or
//!   `-l`) and the per-port one connections too (`-a`).
//! - `-s`: `nettool_sockstat_protocol_sockets` `{proto, family}` and
//!   `nettool_sockstat_tcp_state_sockets` `{state}`, the counts `-s`
//!   prints; `nettool_sockstat_netstat_total` `{section, counter}`.
//! - `--diagnose`: `nettool_sockstat_findings` `{kind, severity}`, and
//!   with `-N`/`--all-netns` `nettool_sockstat_namespace_findings`
//!   `{netns, kind, severity}`.
//!
//! Zeros: every TCP state the selection covers is written, 0 when no
//! socket is in it (per family of the tables read); a listening port has
//! its ESTABLISHED series at 0 when nothing is connected (when ESTABLISHED
//! is selected); every finding kind and severity is written, 0 when not
//! found. So a series that is missing means the run did not look, never
//! that it found nothing. Other series appear only when non-zero.
//!
//! Label cardinality is bounded by the host's configuration, never by its
//! traffic: states, protocols and families are fixed sets; listening ports
//! and listeners are what the host serves, at most [`LISTENING_PORTS`] and
//! [`LISTENERS`] per namespace (the busiest, by connections and by queue
//! length; the rest add up in one series labelled `other`); commands
//! holding `CLOSE_WAIT` sockets at most [`CLOSE_WAIT_COMMANDS`], and
//! `TIME_WAIT` peers at most [`TIME_WAIT_DESTINATIONS`] per namespace, the rest in
//! `other` likewise. No label holds an ephemeral port, a pid or a socket.
//! With `-N`/`--all-netns` every listing and `-s` series, and
//! `nettool_sockstat_namespace_findings`, has a `netns` label first, so the
//! bounds are per namespace. It is not the table's `Netns` cell, which
//! names the namespace's lowest pid and its command (they change from run
//! to run, and a series whose labels change is a new series), but
//! [`Netns::metric_label`](crate::sockstat::netns::Netns::metric_label):
//! `host`, the name under /run/netns, the container (`docker:<12 hex>`,
//! `pod:<uid>`), else `net:[INODE]`; a label two namespaces would share
//! gets ` net:[INODE]` on each ([`metric_labels`]).
//!
//! With `--all-netns`, `-s` writes per namespace only the kernel counters
//! [`counters::MEANINGS`] explains (the ones `-s` shows and the diagnosis
//! reads: `ListenOverflows`, `RetransSegs`, `TCPAbortOnTimeout`,
//! `RcvbufErrors`, ...), not the hundreds of keys a kernel has: times
//! every container of a host, that would be too many series. Without
//! `-N`, or with one `-N`, every key is written.
//!
//! The kernel counters are one family labelled with the kernel's section
//! and key (`{section="TcpExt",counter="ListenOverflows"}`), not one family
//! per key as `node_exporter`'s netstat collector does: its names keep the
//! kernel's camelCase (`promtool` flags it), a `snake_case` rewrite of
//! hundreds of keys is lossy and sometimes trips `promtool`'s unit checks
//! (`TCPMinTTLDrop` would hold `min`), and the labels keep the exact names
//! `nstat` and `netstat -s` print, every key a newer kernel adds included.
//! The values and settings among them (`Tcp CurrEstab`, `MaxConn`,
//! `RtoMin`, `Ip Forwarding`, ...) are not counters and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::{Exposition, ExpositionError, Kind};
use crate::sockstat::diagnose::{self, Severity};
use crate::sockstat::filter::StateSel;
use crate::sockstat::model::Endpoint;
use crate::sockstat::netns::{Scope, metric_labels};
use crate::sockstat::report::{Diagnosis, Listing};
use crate::sockstat::summary::Summary;
use crate::sockstat::{Proto, Socket, Tables, TcpState, counters};

/// Listening ports per namespace with their own `port_connections`
/// series; the others add up under `port="other"`.
pub const LISTENING_PORTS: usize = 100;
/// Listeners (address and port) per namespace with their own accept
/// queue series; the others add up under `address="other",port="other"`.
pub const LISTENERS: usize = 100;
/// Command names per namespace with their own `CLOSE_WAIT` series.
pub const CLOSE_WAIT_COMMANDS: usize = 20;
/// Remote addresses per namespace with their own `TIME_WAIT` series.
pub const TIME_WAIT_DESTINATIONS: usize = 20;

/// The label of what the caps leave out.
const OTHER: &str = "other";

/// The `comm` of a `CLOSE_WAIT` socket whose holder was not found (another
/// user's process without root, or gone since the dump).
const NO_OWNER: &str = "-";

/// What the listing asked for: which tables and states it read, so that
/// a state it covered is written as 0 rather than left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub tables: Tables,
    pub states: StateSel,
}

type Labels = Vec<(&'static str, String)>;

/// One family's samples, written only when there is one.
struct Samples {
    name: &'static str,
    help: &'static str,
    kind: Kind,
    rows: Vec<(Labels, f64)>,
}

impl Samples {
    fn gauge(name: &'static str, help: &'static str) -> Samples {
        Samples {
            name,
            help,
            kind: Kind::Gauge,
            rows: Vec::new(),
        }
    }

    fn counter(name: &'static str, help: &'static str) -> Samples {
        Samples {
            kind: Kind::Counter,
            ..Samples::gauge(name, help)
        }
    }

    #[allow(
        clippy::cast_precision_loss,
        reason = "socket counts and kernel counters stay below 2^53"
    )]
    fn push(&mut self, labels: Labels, value: u64) {
        self.rows.push((labels, value as f64));
    }

    fn write(self, e: &mut Exposition) -> Result<(), ExpositionError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut f = e.family(self.name, self.help, self.kind)?;
        for (labels, value) in &self.rows {
            let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.sample(&l, *value)?;
        }
        Ok(())
    }
}

/// `netns` first when there is one, then `rest`.
fn labels(netns: Option<&str>, rest: &[(&'static str, &str)]) -> Labels {
    netns
        .map(|n| ("netns", n.to_string()))
        .into_iter()
        .chain(rest.iter().map(|&(k, v)| (k, v.to_string())))
        .collect()
}

/// The `cap` biggest of `counts` (ties: the smaller key) in key order,
/// and what the others add up to (`None` when none was left out).
fn top<K: Ord + Clone>(counts: BTreeMap<K, u64>, cap: usize) -> (Vec<(K, u64)>, Option<u64>) {
    if counts.len() <= cap {
        return (counts.into_iter().collect(), None);
    }
    let mut ranked: Vec<(K, u64)> = counts.into_iter().collect();
    ranked.sort_by(|(ka, a), (kb, b)| b.cmp(a).then_with(|| ka.cmp(kb)));
    let rest = ranked.split_off(cap);
    ranked.sort_by(|(a, _), (b, _)| a.cmp(b));
    (ranked, Some(rest.iter().map(|(_, n)| n).sum()))
}

/// `SYN_RECV` as one state: the kernel reports half-open connections as
/// request sockets (`NEW_SYN_RECV`), which show as `SYN_RECV` too.
fn state_key(s: TcpState) -> TcpState {
    if s == TcpState::NewSynRecv {
        TcpState::SynRecv
    } else {
        s
    }
}

/// `inet`, `inet6` or `unix`, as the JSON's `family`.
fn family(proto: Proto, v6: bool) -> &'static str {
    match (proto, v6) {
        (Proto::Unix, _) => "unix",
        (_, true) => "inet6",
        (_, false) => "inet",
    }
}

/// One namespace's share of a listing.
#[derive(Default)]
struct Tally {
    /// (proto, family, state) -> (State column, sockets).
    sockets: BTreeMap<(Proto, &'static str, TcpState), (&'static str, u64)>,
    /// Ports TCP listeners have.
    listening: BTreeSet<u16>,
    /// (address, port) -> (accept queue, backlog; `None` when unknown).
    queues: BTreeMap<(IpAddr, u16), (u64, Option<u64>)>,
    /// TCP sockets other than listeners: (local port, state) -> count.
    by_port: BTreeMap<(u16, TcpState), u64>,
    close_wait: BTreeMap<String, u64>,
    time_wait: BTreeMap<IpAddr, u64>,
}

impl Tally {
    fn add(&mut self, s: &Socket, l: &Listing) {
        let state = state_key(s.state);
        let e = self
            .sockets
            .entry((s.proto, family(s.proto, s.v6), state))
            .or_insert((s.state_label(), 0));
        e.1 += 1;
        if s.proto != Proto::Tcp {
            return;
        }
        let Endpoint::Inet(local) = s.local else {
            return;
        };
        match state {
            TcpState::Listen => {
                self.listening.insert(local.port());
                let q = self
                    .queues
                    .entry((local.ip(), local.port()))
                    .or_insert((0, Some(0)));
                q.0 += u64::from(s.recv_q.unwrap_or(0));
                q.1 = q.1.zip(s.send_q).map(|(a, b)| a + u64::from(b));
            }
            _ => {
                *self.by_port.entry((local.port(), state)).or_default() += 1;
            }
        }
        match state {
            TcpState::CloseWait => {
                *self.close_wait.entry(comm(s, l)).or_default() += 1;
            }
            TcpState::TimeWait => {
                if let Some(ip) = s.remote.ip() {
                    *self.time_wait.entry(ip).or_default() += 1;
                }
            }
            _ => {}
        }
    }
}

/// The command names of `s`'s holders, each once, sorted, joined by
/// commas (a socket counts once, under all its holders' names); `-` when
/// none was found.
fn comm(s: &Socket, l: &Listing) -> String {
    let mut names: Vec<&str> = l
        .owners
        .iter()
        .flat_map(|m| m.get(s.inode))
        .filter(|_| s.inode != 0)
        .map(|o| o.command)
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        NO_OWNER.into()
    } else {
        names.join(",")
    }
}

/// The listing's families (see the module doc). `l.owners` names the
/// `CLOSE_WAIT` sockets' commands: the caller fills it for them at least.
///
/// # Errors
/// Only a renderer bug (a name the format refuses).
pub fn listing(l: &Listing, sel: &Selection) -> Result<Exposition, ExpositionError> {
    // Namespaces in the listing's order, each with its rows' tally.
    let mut spaces: Vec<(Option<String>, Tally)> = if l.namespaces.is_empty() {
        vec![(None, Tally::default())]
    } else {
        metric_labels(l.namespaces.iter().map(|sp| &sp.netns))
            .into_iter()
            .map(|label| (Some(label), Tally::default()))
            .collect()
    };
    let mut spans = l.namespaces.iter().map(|sp| sp.rows);
    let (mut i, mut left) = (0, spans.next().unwrap_or(usize::MAX));
    for s in &l.sockets {
        while left == 0 {
            i += 1;
            left = spans.next().unwrap_or(usize::MAX);
        }
        left -= 1;
        if let Some((_, t)) = spaces.get_mut(i) {
            t.add(s, l);
        }
    }

    let mut f = ListingFamilies::new();
    for (ns, t) in spaces {
        f.add(ns.as_deref(), t, sel);
    }
    let mut e = Exposition::new();
    for s in [
        f.sockets,
        f.ports,
        f.queue,
        f.backlog,
        f.close_wait,
        f.time_wait,
    ] {
        s.write(&mut e)?;
    }
    Ok(e)
}

/// The listing's families, filled namespace by namespace.
struct ListingFamilies {
    sockets: Samples,
    ports: Samples,
    queue: Samples,
    backlog: Samples,
    close_wait: Samples,
    time_wait: Samples,
}

impl ListingFamilies {
    fn new() -> ListingFamilies {
        ListingFamilies {
            sockets: Samples::gauge(
                "nettool_sockstat_sockets",
                "Sockets the listing selected, by protocol, address family and state (UDP, raw and UNIX sockets as the State column shows them).",
            ),
            ports: Samples::gauge(
                "nettool_sockstat_port_connections",
                "TCP connections whose local port is a port a TCP listener has, by that port and state.",
            ),
            queue: Samples::gauge(
                "nettool_sockstat_accept_queue_length",
                "Connections a TCP listener has ready that its program has not accepted yet (its Recv-Q).",
            ),
            backlog: Samples::gauge(
                "nettool_sockstat_accept_queue_backlog",
                "The most connections a TCP listener's accept queue holds, the backlog given to listen() capped by net.core.somaxconn (its Send-Q).",
            ),
            close_wait: Samples::gauge(
                "nettool_sockstat_close_wait_sockets",
                "TCP sockets in CLOSE_WAIT (the peer closed, the program has not), by the command names of the processes that hold them.",
            ),
            time_wait: Samples::gauge(
                "nettool_sockstat_time_wait_sockets",
                "TCP sockets in TIME_WAIT, by remote address.",
            ),
        }
    }

    /// One namespace's samples.
    fn add(&mut self, ns: Option<&str>, mut t: Tally, sel: &Selection) {
        let tcp_states = sel.states.for_proto(Proto::Tcp);
        if sel.tables.tcp {
            let families = [("inet", sel.tables.v4), ("inet6", sel.tables.v6)];
            for (fam, on) in families {
                for st in TcpState::ALL
                    .into_iter()
                    .filter(|&st| on && tcp_states.contains(st))
                {
                    t.sockets
                        .entry((Proto::Tcp, fam, st))
                        .or_insert((st.netstat_name(), 0));
                }
            }
        }
        for ((proto, fam, _), (state, n)) in &t.sockets {
            let l = labels(
                ns,
                &[("proto", proto.name()), ("family", fam), ("state", state)],
            );
            self.sockets.push(l, *n);
        }
        self.add_ports(ns, &t, tcp_states.contains(TcpState::Established));
        self.add_queues(ns, &t);
        add_top(
            &mut self.close_wait,
            ns,
            "comm",
            t.close_wait,
            CLOSE_WAIT_COMMANDS,
        );
        let time_wait = t
            .time_wait
            .into_iter()
            .map(|(ip, n)| (ip.to_string(), n))
            .collect();
        // (Ranked by count; ties, rarely met, by the address's text.)
        add_top(
            &mut self.time_wait,
            ns,
            "remote_address",
            time_wait,
            TIME_WAIT_DESTINATIONS,
        );
    }

    /// Connections per listening port: the busiest ports have their own
    /// series, with ESTABLISHED at 0 when `zero` (it was selected).
    fn add_ports(&mut self, ns: Option<&str>, t: &Tally, zero: bool) {
        let mut per_port: BTreeMap<u16, u64> = t.listening.iter().map(|&p| (p, 0)).collect();
        for (&(port, _), n) in &t.by_port {
            if let Some(total) = per_port.get_mut(&port) {
                *total += n;
            }
        }
        let (kept, other) = top(per_port, LISTENING_PORTS);
        let kept: BTreeMap<u16, u64> = kept.into_iter().collect();
        let mut by_label: BTreeMap<(String, TcpState), u64> = BTreeMap::new();
        if zero {
            for &port in kept.keys() {
                by_label.insert((port.to_string(), TcpState::Established), 0);
            }
            if other.is_some() {
                by_label.insert((OTHER.into(), TcpState::Established), 0);
            }
        }
        for (&(port, st), &n) in &t.by_port {
            if !t.listening.contains(&port) {
                continue;
            }
            let label = if kept.contains_key(&port) {
                port.to_string()
            } else {
                OTHER.into()
            };
            *by_label.entry((label, st)).or_default() += n;
        }
        // Ports in number order, `other` last.
        let mut rows: Vec<_> = by_label.into_iter().collect();
        rows.sort_by_key(|((p, st), _)| (p.parse::<u32>().unwrap_or(u32::MAX), *st));
        for ((port, st), n) in rows {
            self.ports.push(
                labels(ns, &[("port", &port), ("state", st.netstat_name())]),
                n,
            );
        }
    }

    /// Accept queues: the fullest listeners have their own series.
    fn add_queues(&mut self, ns: Option<&str>, t: &Tally) {
        let lengths: BTreeMap<(IpAddr, u16), u64> =
            t.queues.iter().map(|(&k, &(q, _))| (k, q)).collect();
        let (kept, other) = top(lengths, LISTENERS);
        let mut rest_backlog = Some(0u64);
        for (k, (_, b)) in &t.queues {
            if !kept.iter().any(|(kk, _)| kk == k) {
                rest_backlog = rest_backlog.zip(*b).map(|(a, b)| a + b);
            }
        }
        for (listener, q) in kept {
            let (addr, port) = (listener.0.to_string(), listener.1.to_string());
            let l = labels(ns, &[("address", &addr), ("port", &port)]);
            if let Some(b) = t.queues.get(&listener).and_then(|&(_, b)| b) {
                self.backlog.push(l.clone(), b);
            }
            self.queue.push(l, q);
        }
        if let Some(q) = other {
            let l = labels(ns, &[("address", OTHER), ("port", OTHER)]);
            if let Some(b) = rest_backlog {
                self.backlog.push(l.clone(), b);
            }
            self.queue.push(l, q);
        }
    }
}

/// The `cap` biggest of `counts` as series labelled `label`, and the rest
/// as one labelled `other`.
fn add_top(
    to: &mut Samples,
    ns: Option<&str>,
    label: &'static str,
    counts: BTreeMap<String, u64>,
    cap: usize,
) {
    let (kept, other) = top(counts, cap);
    for (value, n) in kept {
        to.push(labels(ns, &[(label, &value)]), n);
    }
    if let Some(n) = other {
        to.push(labels(ns, &[(label, OTHER)]), n);
    }
}

/// `-s`'s families (see the module doc). `tables`: what `-s` read, so
/// that a state or protocol it covered is written as 0; `scope`: with
/// [`Scope::All`] only the counters [`counters::MEANINGS`] explains.
///
/// # Errors
/// Only a renderer bug (a name the format refuses).
pub fn summary(s: &Summary, tables: Tables, scope: &Scope) -> Result<Exposition, ExpositionError> {
    let mut sockets = Samples::gauge(
        "nettool_sockstat_protocol_sockets",
        "Sockets of every state, by protocol and address family, as nettool sockstat -s counts them.",
    );
    let mut tcp = Samples::gauge(
        "nettool_sockstat_tcp_state_sockets",
        "TCP sockets of both address families, by state, as nettool sockstat -s counts them.",
    );
    let mut counters = Samples::counter(
        "nettool_sockstat_netstat_total",
        "The kernel's protocol counters (/proc/net/snmp, netstat and snmp6, as nstat reads them), by section and name.",
    );
    let per_ns: Vec<(Option<String>, &Summary)> = if s.namespaces.is_empty() {
        vec![(None, s)]
    } else {
        let labels = metric_labels(s.namespaces.iter().map(|n| &n.netns));
        labels
            .into_iter()
            .map(Some)
            .zip(s.namespaces.iter().map(|n| &n.summary))
            .collect()
    };
    let every_counter = *scope != Scope::All;
    for (ns, s) in per_ns {
        let ns = ns.as_deref();
        let mut protocols: BTreeMap<(Proto, &str), u64> = BTreeMap::new();
        for (proto, v6) in tables.inet() {
            protocols.insert((proto, family(proto, v6)), 0);
        }
        if tables.unix {
            protocols.insert((Proto::Unix, "unix"), 0);
        }
        for (&table, &n) in &s.protocols {
            let Some((proto, fam)) = table_of(table) else {
                continue;
            };
            *protocols.entry((proto, fam)).or_default() += n;
        }
        for ((proto, fam), n) in protocols {
            sockets.push(labels(ns, &[("proto", proto.name()), ("family", fam)]), n);
        }
        let states = TcpState::ALL
            .into_iter()
            .filter(|_| tables.tcp)
            .map(TcpState::netstat_name)
            .chain(s.tcp_states.keys().copied());
        let mut seen: Vec<&str> = Vec::new();
        for st in states {
            if seen.contains(&st) {
                continue;
            }
            seen.push(st);
            let n = s.tcp_states.get(st).copied().unwrap_or(0);
            tcp.push(labels(ns, &[("state", st)]), n);
        }
        for (section, key, v) in s.counters.iter() {
            if counters::is_gauge(section, key)
                || !(every_counter || counters::meaning(section, key).is_some())
            {
                continue;
            }
            let Ok(v) = u64::try_from(v) else { continue };
            counters.push(labels(ns, &[("section", section), ("counter", key)]), v);
        }
    }
    let mut e = Exposition::new();
    for f in [sockets, tcp, counters] {
        f.write(&mut e)?;
    }
    Ok(e)
}

/// A table's name (`tcp6`) as protocol and family.
fn table_of(table: &str) -> Option<(Proto, &'static str)> {
    Some(match table {
        "tcp" => (Proto::Tcp, "inet"),
        "tcp6" => (Proto::Tcp, "inet6"),
        "udp" => (Proto::Udp, "inet"),
        "udp6" => (Proto::Udp, "inet6"),
        "raw" => (Proto::Raw, "inet"),
        "raw6" => (Proto::Raw, "inet6"),
        "unix" => (Proto::Unix, "unix"),
        _ => return None,
    })
}

/// A finding kind's name, as the JSON spells it (`close_wait_leak`).
fn kind_name(k: diagnose::Kind) -> String {
    match serde_json::to_value(k) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{k:?}"),
    }
}

const SEVERITIES: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Notice];

/// `--diagnose`'s families (see the module doc): every kind and severity,
/// 0 when not found; with `-N`/`--all-netns` also the findings of each
/// namespace (those that have any; the host-wide ones, TCP memory and
/// orphans, are in the total only).
///
/// # Errors
/// Only a renderer bug (a name the format refuses).
pub fn diagnosis(d: &Diagnosis) -> Result<Exposition, ExpositionError> {
    let mut total = Samples::gauge(
        "nettool_sockstat_findings",
        "What nettool sockstat --diagnose found, by kind and severity: the number of findings (0 when none).",
    );
    let mut per_ns = Samples::gauge(
        "nettool_sockstat_namespace_findings",
        "What nettool sockstat --diagnose found in each network namespace, by kind and severity (only what was found).",
    );
    let mut counts: BTreeMap<(diagnose::Kind, Severity), u64> = BTreeMap::new();
    let mut in_ns: BTreeMap<(&str, diagnose::Kind, Severity), u64> = BTreeMap::new();
    for f in &d.findings {
        *counts.entry((f.kind, f.severity)).or_default() += 1;
        if let Some(ns) = f.metric_netns.as_deref().filter(|_| d.namespaces > 0) {
            *in_ns.entry((ns, f.kind, f.severity)).or_default() += 1;
        }
    }
    for k in diagnose::Kind::ALL {
        let kind = kind_name(k);
        for sev in SEVERITIES {
            let n = counts.get(&(k, sev)).copied().unwrap_or(0);
            total.push(
                labels(None, &[("kind", &kind), ("severity", sev.name())]),
                n,
            );
        }
    }
    for ((ns, k, sev), n) in in_ns {
        let kind = kind_name(k);
        per_ns.push(
            labels(Some(ns), &[("kind", &kind), ("severity", sev.name())]),
            n,
        );
    }
    let mut e = Exposition::new();
    total.write(&mut e)?;
    per_ns.write(&mut e)?;
    Ok(e)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::sockstat::StateSet;
    use crate::sockstat::container;
    use crate::sockstat::diagnose::{Evidence, Finding};
    use crate::sockstat::netns::{Netns, Target};
    use crate::sockstat::owner;
    use crate::sockstat::report::Span;

    fn sock(proto: Proto, state: TcpState, local: &str, remote: &str, inode: u64) -> Socket {
        Socket {
            proto,
            v6: local.starts_with('['),
            local: Endpoint::Inet(local.parse().unwrap()),
            remote: Endpoint::Inet(remote.parse().unwrap()),
            state,
            recv_q: Some(0),
            send_q: Some(0),
            uid: Some(0),
            inode,
            timer: None,
            unix_kind: None,
            peer_inode: None,
            internals: None,
        }
    }

    fn tcp(state: TcpState, local: &str, remote: &str) -> Socket {
        sock(Proto::Tcp, state, local, remote, 0)
    }

    fn listener(local: &str, queue: u32, backlog: Option<u32>) -> Socket {
        Socket {
            recv_q: Some(queue),
            send_q: backlog,
            ..tcp(TcpState::Listen, local, "0.0.0.0:0")
        }
    }

    fn listing(sockets: Vec<Socket>) -> Listing {
        Listing {
            sockets,
            owners: None,
            uninspected: 0,
            namespaces: Vec::new(),
            extensions: crate::sockstat::Extensions::NONE,
        }
    }

    /// An owner map from a fixture /proc: `(pid, comm, inodes)`.
    fn owners(procs: &[(u32, &str, &[u64])]) -> owner::OwnerMap {
        let root = tempfile::tempdir().unwrap();
        let mut wanted = std::collections::HashSet::new();
        for &(pid, comm, inodes) in procs {
            let fd = root.path().join(format!("{pid}/fd"));
            fs::create_dir_all(&fd).unwrap();
            fs::write(root.path().join(format!("{pid}/comm")), format!("{comm}\n")).unwrap();
            for (n, inode) in inodes.iter().enumerate() {
                std::os::unix::fs::symlink(format!("socket:[{inode}]"), fd.join(n.to_string()))
                    .unwrap();
                wanted.insert(*inode);
            }
        }
        owner::scan(root.path(), &wanted).unwrap()
    }

    const V4_TCP_UDP: Tables = Tables {
        tcp: true,
        udp: true,
        raw: false,
        unix: false,
        v4: true,
        v6: false,
    };

    fn samples(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn a_small_listing_exactly() {
        let mut l = listing(vec![
            listener("0.0.0.0:443", 2, Some(128)),
            tcp(
                TcpState::Established,
                "198.51.100.1:443",
                "203.0.113.5:50000",
            ),
            tcp(
                TcpState::Established,
                "198.51.100.1:443",
                "203.0.113.6:50001",
            ),
            sock(
                Proto::Tcp,
                TcpState::CloseWait,
                "198.51.100.1:443",
                "203.0.113.7:50002",
                777,
            ),
            // A connection out: its local port is no listener's.
            tcp(TcpState::TimeWait, "198.51.100.1:40000", "203.0.113.9:80"),
            sock(Proto::Udp, TcpState::Close, "0.0.0.0:53", "0.0.0.0:0", 0),
        ]);
        l.owners = Some(owners(&[(4242, "nginx", &[777]), (4243, "nginx", &[777])]));
        let sel = Selection {
            tables: V4_TCP_UDP,
            states: StateSel::Set(StateSet::of(&[
                TcpState::Established,
                TcpState::TimeWait,
                TcpState::CloseWait,
                TcpState::Listen,
            ])),
        };
        let text = listing_text(&l, &sel);
        assert_eq!(
            text,
            "# HELP nettool_sockstat_sockets Sockets the listing selected, by protocol, address family and state (UDP, raw and UNIX sockets as the State column shows them).\n\
             # TYPE nettool_sockstat_sockets gauge\n\
             nettool_sockstat_sockets{proto=\"tcp\",family=\"inet\",state=\"ESTABLISHED\"} 2\n\
             nettool_sockstat_sockets{proto=\"tcp\",family=\"inet\",state=\"TIME_WAIT\"} 1\n\
             nettool_sockstat_sockets{proto=\"tcp\",family=\"inet\",state=\"CLOSE_WAIT\"} 1\n\
             nettool_sockstat_sockets{proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1\n\
             nettool_sockstat_sockets{proto=\"udp\",family=\"inet\",state=\"UNCONN\"} 1\n\
             # HELP nettool_sockstat_port_connections TCP connections whose local port is a port a TCP listener has, by that port and state.\n\
             # TYPE nettool_sockstat_port_connections gauge\n\
             nettool_sockstat_port_connections{port=\"443\",state=\"ESTABLISHED\"} 2\n\
             nettool_sockstat_port_connections{port=\"443\",state=\"CLOSE_WAIT\"} 1\n\
             # HELP nettool_sockstat_accept_queue_length Connections a TCP listener has ready that its program has not accepted yet (its Recv-Q).\n\
             # TYPE nettool_sockstat_accept_queue_length gauge\n\
             nettool_sockstat_accept_queue_length{address=\"0.0.0.0\",port=\"443\"} 2\n\
             # HELP nettool_sockstat_accept_queue_backlog The most connections a TCP listener's accept queue holds, the backlog given to listen() capped by net.core.somaxconn (its Send-Q).\n\
             # TYPE nettool_sockstat_accept_queue_backlog gauge\n\
             nettool_sockstat_accept_queue_backlog{address=\"0.0.0.0\",port=\"443\"} 128\n\
             # HELP nettool_sockstat_close_wait_sockets TCP sockets in CLOSE_WAIT (the peer closed, the program has not), by the command names of the processes that hold them.\n\
             # TYPE nettool_sockstat_close_wait_sockets gauge\n\
             nettool_sockstat_close_wait_sockets{comm=\"nginx\"} 1\n\
             # HELP nettool_sockstat_time_wait_sockets TCP sockets in TIME_WAIT, by remote address.\n\
             # TYPE nettool_sockstat_time_wait_sockets gauge\n\
             nettool_sockstat_time_wait_sockets{remote_address=\"203.0.113.9\"} 1\n"
        );
    }

    fn listing_text(l: &Listing, sel: &Selection) -> String {
        super::listing(l, sel).unwrap().finish()
    }

    fn all_v4_tcp() -> Selection {
        Selection {
            tables: Tables {
                udp: false,
                ..V4_TCP_UDP
            },
            states: StateSel::All,
        }
    }

    #[test]
    fn states_the_listing_covered_are_zero_not_missing() {
        // -t4 (non-listening): every TCP state but LISTEN, v4 only.
        let sel = Selection {
            states: StateSel::NonListening,
            ..all_v4_tcp()
        };
        let text = listing_text(&listing(Vec::new()), &sel);
        let s = samples(&text);
        assert_eq!(s.len(), 10, "{text}");
        assert!(s.iter().all(|l| l.ends_with(" 0")), "{text}");
        assert!(!text.contains("LISTEN"), "{text}");
        assert!(!text.contains("inet6"), "{text}");
        assert!(s.contains(
            &"nettool_sockstat_sockets{proto=\"tcp\",family=\"inet\",state=\"CLOSE_WAIT\"} 0"
        ));
        // A listening port with nothing connected: ESTABLISHED 0.
        let l = listing(vec![listener("[::]:22", 0, Some(4096))]);
        let mut sel = all_v4_tcp();
        sel.tables.v6 = true;
        let text = listing_text(&l, &sel);
        assert!(
            text.contains(
                "\nnettool_sockstat_port_connections{port=\"22\",state=\"ESTABLISHED\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nnettool_sockstat_accept_queue_length{address=\"::\",port=\"22\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\nnettool_sockstat_sockets{proto=\"tcp\",family=\"inet6\",state=\"LISTEN\"} 1\n"
            ),
            "{text}"
        );
        // -l: no connection was looked at, so no connection counts.
        let sel = Selection {
            states: StateSel::Listening,
            ..sel
        };
        let text = listing_text(&l, &sel);
        assert!(
            !text.contains("nettool_sockstat_port_connections"),
            "{text}"
        );
    }

    #[test]
    fn syn_recv_request_sockets_are_one_series() {
        let l = listing(vec![
            listener("0.0.0.0:80", 0, Some(10)),
            tcp(TcpState::SynRecv, "198.51.100.1:80", "203.0.113.1:1"),
            tcp(TcpState::NewSynRecv, "198.51.100.1:80", "203.0.113.2:2"),
        ]);
        let text = listing_text(&l, &all_v4_tcp());
        assert_eq!(text.matches("state=\"SYN_RECV\"} 2\n").count(), 2, "{text}");
    }

    #[test]
    fn reuseport_listeners_add_up_and_an_unknown_backlog_is_left_out() {
        let l = listing(vec![
            listener("0.0.0.0:8080", 3, Some(100)),
            listener("0.0.0.0:8080", 4, Some(100)),
            // /proc/net/tcp gives no backlog.
            listener("127.0.0.1:9000", 1, None),
        ]);
        let text = listing_text(&l, &all_v4_tcp());
        let s = samples(&text);
        let queues: Vec<&&str> = s.iter().filter(|l| l.contains("accept_queue")).collect();
        assert_eq!(
            queues,
            [
                &"nettool_sockstat_accept_queue_length{address=\"0.0.0.0\",port=\"8080\"} 7",
                &"nettool_sockstat_accept_queue_length{address=\"127.0.0.1\",port=\"9000\"} 1",
                &"nettool_sockstat_accept_queue_backlog{address=\"0.0.0.0\",port=\"8080\"} 200",
            ]
        );
    }

    #[test]
    fn time_wait_keeps_the_busiest_peers_and_adds_up_the_rest() {
        let n = TIME_WAIT_DESTINATIONS + 5;
        let mut sockets = Vec::new();
        // Peer i has i + 1 sockets.
        for i in 0..n {
            for j in 0..=i {
                sockets.push(tcp(
                    TcpState::TimeWait,
                    &format!("198.51.100.1:{}", 40000 + j),
                    &format!("203.0.113.{}:80", i + 1),
                ));
            }
        }
        let text = listing_text(&listing(sockets), &all_v4_tcp());
        let tw: Vec<&str> = samples(&text)
            .into_iter()
            .filter(|l| l.starts_with("nettool_sockstat_time_wait_sockets"))
            .collect();
        assert_eq!(tw.len(), TIME_WAIT_DESTINATIONS + 1, "{text}");
        // The 5 smallest (1..=5 sockets) are `other`: 15 sockets.
        assert_eq!(
            tw.last().unwrap(),
            &"nettool_sockstat_time_wait_sockets{remote_address=\"other\"} 15"
        );
        assert!(
            tw.contains(&"nettool_sockstat_time_wait_sockets{remote_address=\"203.0.113.25\"} 25")
        );
        assert!(!text.contains("remote_address=\"203.0.113.5\""), "{text}");
        let total: u64 = tw
            .iter()
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, (1..=n as u64).sum::<u64>());
    }

    #[test]
    fn listening_ports_listeners_and_commands_are_capped() {
        let mut sockets = Vec::new();
        let ports = LISTENING_PORTS + 3;
        for p in 0..ports {
            let port = 1000 + p;
            sockets.push(listener(
                &format!("0.0.0.0:{port}"),
                u32::try_from(p).unwrap(),
                Some(128),
            ));
            // Port 1000+p has p connections: the three quietest go to `other`.
            for c in 0..p {
                sockets.push(tcp(
                    TcpState::Established,
                    &format!("198.51.100.1:{port}"),
                    &format!("203.0.113.1:{}", 30000 + c),
                ));
            }
        }
        let mut cw_owners = Vec::new();
        for c in 0..CLOSE_WAIT_COMMANDS + 2 {
            let inode = 10_000 + c as u64;
            sockets.push(sock(
                Proto::Tcp,
                TcpState::CloseWait,
                "198.51.100.1:5",
                "203.0.113.1:5",
                inode,
            ));
            cw_owners.push((
                u32::try_from(100 + c).unwrap(),
                format!("prog{c:02}"),
                vec![inode],
            ));
        }
        // And one whose holder was not found.
        sockets.push(sock(
            Proto::Tcp,
            TcpState::CloseWait,
            "198.51.100.1:6",
            "203.0.113.1:6",
            99,
        ));
        let mut l = listing(sockets);
        let procs: Vec<(u32, &str, &[u64])> = cw_owners
            .iter()
            .map(|(p, c, i)| (*p, c.as_str(), i.as_slice()))
            .collect();
        l.owners = Some(owners(&procs));
        let text = listing_text(&l, &all_v4_tcp());
        let count = |prefix: &str| {
            samples(&text)
                .iter()
                .filter(|l| l.starts_with(prefix))
                .count()
        };
        assert_eq!(
            count("nettool_sockstat_port_connections{"),
            LISTENING_PORTS + 1,
            "{text}"
        );
        assert!(
            text.contains(
                "\nnettool_sockstat_port_connections{port=\"other\",state=\"ESTABLISHED\"} 3\n"
            ),
            "{text}"
        );
        assert!(!text.contains("port=\"1002\",state"), "{text}");
        assert!(
            text.contains("port=\"1003\",state=\"ESTABLISHED\"} 3\n"),
            "{text}"
        );
        assert_eq!(
            count("nettool_sockstat_accept_queue_length{"),
            LISTENERS + 1,
            "{text}"
        );
        assert!(
            text.contains(
                "\nnettool_sockstat_accept_queue_length{address=\"other\",port=\"other\"} 3\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "\nnettool_sockstat_accept_queue_backlog{address=\"other\",port=\"other\"} 384\n"
            ),
            "{text}"
        );
        assert_eq!(
            count("nettool_sockstat_close_wait_sockets{"),
            CLOSE_WAIT_COMMANDS + 1,
            "{text}"
        );
        // Ties: the first names are kept, `-` among them; the last three add up.
        assert!(
            text.contains("\nnettool_sockstat_close_wait_sockets{comm=\"-\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("\nnettool_sockstat_close_wait_sockets{comm=\"other\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn namespaces_label_every_series_first() {
        let ns = |name: &str| Netns {
            inode: 1,
            name: Some(name.into()),
            host: false,
            pid: None,
            command: None,
            container: None,
        };
        let mut l = listing(vec![
            listener("0.0.0.0:80", 0, Some(5)),
            tcp(TcpState::Established, "198.51.100.1:80", "203.0.113.1:1"),
            listener("0.0.0.0:81", 0, Some(5)),
        ]);
        l.namespaces = vec![
            Span {
                netns: ns("blue"),
                rows: 2,
            },
            Span {
                netns: ns("empty"),
                rows: 0,
            },
            Span {
                netns: ns("red"),
                rows: 1,
            },
        ];
        let sel = Selection {
            states: StateSel::Set(StateSet::of(&[TcpState::Established, TcpState::Listen])),
            ..all_v4_tcp()
        };
        let text = listing_text(&l, &sel);
        assert_eq!(
            samples(&text),
            [
                "nettool_sockstat_sockets{netns=\"blue\",proto=\"tcp\",family=\"inet\",state=\"ESTABLISHED\"} 1",
                "nettool_sockstat_sockets{netns=\"blue\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1",
                "nettool_sockstat_sockets{netns=\"empty\",proto=\"tcp\",family=\"inet\",state=\"ESTABLISHED\"} 0",
                "nettool_sockstat_sockets{netns=\"empty\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 0",
                "nettool_sockstat_sockets{netns=\"red\",proto=\"tcp\",family=\"inet\",state=\"ESTABLISHED\"} 0",
                "nettool_sockstat_sockets{netns=\"red\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1",
                "nettool_sockstat_port_connections{netns=\"blue\",port=\"80\",state=\"ESTABLISHED\"} 1",
                "nettool_sockstat_port_connections{netns=\"red\",port=\"81\",state=\"ESTABLISHED\"} 0",
                "nettool_sockstat_accept_queue_length{netns=\"blue\",address=\"0.0.0.0\",port=\"80\"} 0",
                "nettool_sockstat_accept_queue_length{netns=\"red\",address=\"0.0.0.0\",port=\"81\"} 0",
                "nettool_sockstat_accept_queue_backlog{netns=\"blue\",address=\"0.0.0.0\",port=\"80\"} 5",
                "nettool_sockstat_accept_queue_backlog{netns=\"red\",address=\"0.0.0.0\",port=\"81\"} 5",
            ]
        );
    }

    #[test]
    fn a_small_summary_exactly() {
        let mut s = Summary::default();
        s.protocols.insert("tcp", 3);
        s.protocols.insert("unix", 1);
        s.tcp_states.insert("LISTEN", 1);
        s.tcp_states.insert("ESTABLISHED", 2);
        for (section, key, v) in [
            ("Tcp", "RtoMin", 200),
            ("Tcp", "MaxConn", -1),
            ("Tcp", "ActiveOpens", 5),
            ("Tcp", "CurrEstab", 2),
            ("TcpExt", "ListenOverflows", 7),
        ] {
            s.counters.insert(section, key, v);
        }
        let tables = Tables {
            tcp: true,
            udp: false,
            raw: false,
            unix: true,
            v4: true,
            v6: false,
        };
        assert_eq!(
            summary(&s, tables, &Scope::Own).unwrap().finish(),
            "# HELP nettool_sockstat_protocol_sockets Sockets of every state, by protocol and address family, as nettool sockstat -s counts them.\n\
             # TYPE nettool_sockstat_protocol_sockets gauge\n\
             nettool_sockstat_protocol_sockets{proto=\"tcp\",family=\"inet\"} 3\n\
             nettool_sockstat_protocol_sockets{proto=\"unix\",family=\"unix\"} 1\n\
             # HELP nettool_sockstat_tcp_state_sockets TCP sockets of both address families, by state, as nettool sockstat -s counts them.\n\
             # TYPE nettool_sockstat_tcp_state_sockets gauge\n\
             nettool_sockstat_tcp_state_sockets{state=\"ESTABLISHED\"} 2\n\
             nettool_sockstat_tcp_state_sockets{state=\"SYN_SENT\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"SYN_RECV\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"FIN_WAIT1\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"FIN_WAIT2\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"TIME_WAIT\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"CLOSE\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"CLOSE_WAIT\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"LAST_ACK\"} 0\n\
             nettool_sockstat_tcp_state_sockets{state=\"LISTEN\"} 1\n\
             nettool_sockstat_tcp_state_sockets{state=\"CLOSING\"} 0\n\
             # HELP nettool_sockstat_netstat_total The kernel's protocol counters (/proc/net/snmp, netstat and snmp6, as nstat reads them), by section and name.\n\
             # TYPE nettool_sockstat_netstat_total counter\n\
             nettool_sockstat_netstat_total{section=\"Tcp\",counter=\"ActiveOpens\"} 5\n\
             nettool_sockstat_netstat_total{section=\"TcpExt\",counter=\"ListenOverflows\"} 7\n"
        );
    }

    /// A finding of `netns` (its metric label; the table's label has a
    /// pid, which no series may have).
    fn finding(kind: diagnose::Kind, severity: Severity, netns: Option<&str>) -> Finding {
        Finding {
            kind,
            severity,
            summary: "s".into(),
            netns: netns.map(|n| format!("7/pause {n}")),
            metric_netns: netns.map(String::from),
            subjects: Vec::new(),
            evidence: Evidence::default(),
            meaning: String::new(),
            advice: String::new(),
            host_wide: netns.is_none(),
        }
    }

    #[test]
    fn every_finding_kind_and_severity_is_written() {
        let d = Diagnosis {
            findings: vec![
                finding(diagnose::Kind::CloseWaitLeak, Severity::Warning, None),
                finding(diagnose::Kind::FinWait2Held, Severity::Notice, None),
                finding(diagnose::Kind::FinWait2Held, Severity::Notice, None),
            ],
            interval_s: 1.0,
            sockets: 3,
            namespaces: 0,
        };
        let text = diagnosis(&d).unwrap().finish();
        let s = samples(&text);
        assert_eq!(s.len(), diagnose::Kind::ALL.len() * 3, "{text}");
        assert_eq!(
            s[0],
            "nettool_sockstat_findings{kind=\"accept_queue_overflow\",severity=\"critical\"} 0"
        );
        let found: Vec<&&str> = s.iter().filter(|l| !l.ends_with(" 0")).collect();
        assert_eq!(
            found,
            [
                &"nettool_sockstat_findings{kind=\"close_wait_leak\",severity=\"warning\"} 1",
                &"nettool_sockstat_findings{kind=\"fin_wait2_held\",severity=\"notice\"} 2",
            ]
        );
        assert!(!text.contains("namespace_findings"), "{text}");
    }

    #[test]
    fn namespaces_findings_are_named_and_host_wide_ones_counted_once() {
        let d = Diagnosis {
            findings: vec![
                finding(diagnose::Kind::TcpMemoryPressure, Severity::Critical, None),
                finding(
                    diagnose::Kind::CloseWaitLeak,
                    Severity::Warning,
                    Some("blue"),
                ),
                finding(
                    diagnose::Kind::CloseWaitLeak,
                    Severity::Warning,
                    Some("red"),
                ),
            ],
            interval_s: 1.0,
            sockets: 3,
            namespaces: 2,
        };
        let text = diagnosis(&d).unwrap().finish();
        assert!(
            text.contains(
                "\nnettool_sockstat_findings{kind=\"close_wait_leak\",severity=\"warning\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("\nnettool_sockstat_findings{kind=\"tcp_memory_pressure\",severity=\"critical\"} 1\n"), "{text}");
        let per_ns: Vec<&str> = samples(&text)
            .into_iter()
            .filter(|l| l.starts_with("nettool_sockstat_namespace_findings"))
            .collect();
        assert_eq!(
            per_ns,
            [
                "nettool_sockstat_namespace_findings{netns=\"blue\",kind=\"close_wait_leak\",severity=\"warning\"} 1",
                "nettool_sockstat_namespace_findings{netns=\"red\",kind=\"close_wait_leak\",severity=\"warning\"} 1",
            ]
        );
        assert!(!text.contains("pause"), "the table's label: {text}");
    }

    /// A namespace the table calls `PID/command docker:<id>`.
    fn in_container(inode: u64, pid: u32, id: &str) -> Netns {
        Netns {
            inode,
            name: None,
            host: false,
            pid: Some(pid),
            command: Some("pause".into()),
            container: container::from_path(&format!("/docker/{}", id.repeat(64 / id.len()))),
        }
    }

    #[test]
    fn namespaces_are_labelled_without_pids_and_never_share_a_series() {
        // Two namespaces of one container, one of another, one of no
        // container (known by its inode only).
        let plain = Netns {
            container: None,
            ..in_container(13, 400, "cd")
        };
        let mut l = listing(vec![
            listener("0.0.0.0:80", 0, Some(5)),
            listener("0.0.0.0:80", 0, Some(5)),
            listener("0.0.0.0:80", 0, Some(5)),
            listener("0.0.0.0:80", 0, Some(5)),
        ]);
        l.namespaces = [
            in_container(11, 100, "ab"),
            in_container(12, 200, "ab"),
            in_container(14, 300, "cd"),
            plain,
        ]
        .into_iter()
        .map(|netns| Span { netns, rows: 1 })
        .collect();
        let sel = Selection {
            states: StateSel::Listening,
            ..all_v4_tcp()
        };
        let text = listing_text(&l, &sel);
        let sockets: Vec<&str> = samples(&text)
            .into_iter()
            .filter(|l| l.starts_with("nettool_sockstat_sockets"))
            .collect();
        assert_eq!(
            sockets,
            [
                "nettool_sockstat_sockets{netns=\"docker:abababababab net:[11]\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1",
                "nettool_sockstat_sockets{netns=\"docker:abababababab net:[12]\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1",
                "nettool_sockstat_sockets{netns=\"docker:cdcdcdcdcdcd\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1",
                "nettool_sockstat_sockets{netns=\"net:[13]\",proto=\"tcp\",family=\"inet\",state=\"LISTEN\"} 1",
            ]
        );
        // The same series in every family: one per namespace.
        let queues = samples(&text)
            .into_iter()
            .filter(|l| l.starts_with("nettool_sockstat_accept_queue_length"))
            .count();
        assert_eq!(queues, 4, "{text}");
        for pid in ["100", "200", "300", "400", "pause"] {
            assert!(!text.contains(pid), "{pid}: {text}");
        }
        // And the next run, whose namespaces' lowest pids have changed,
        // writes the same series.
        for (i, span) in l.namespaces.iter_mut().enumerate() {
            span.netns.pid = Some(9000 + u32::try_from(i).unwrap());
            span.netns.command = Some("nginx".into());
        }
        assert_eq!(listing_text(&l, &sel), text);
    }

    /// A `-s` summary of namespaces `ns`, each with the same counters.
    fn summary_of(ns: &[Netns], all: bool) -> Summary {
        let mut one = Summary::default();
        one.protocols.insert("tcp", 1);
        for (section, key, v) in [
            ("Tcp", "ActiveOpens", 5),
            ("Tcp", "CurrEstab", 1),
            ("Tcp", "InSegs", 40),
            ("TcpExt", "ListenOverflows", 7),
            ("TcpExt", "TCPOrigDataSent", 30),
            ("TcpExt", "TCPFastOpenActive", 2),
            ("Udp6", "RcvbufErrors", 3),
            ("Udp6", "InDatagrams", 9),
            ("IpExt", "InOctets", 1000),
        ] {
            one.counters.insert(section, key, v);
        }
        Summary::of_namespaces(
            ns.iter().map(|n| (Some(n.clone()), one.clone())).collect(),
            all,
        )
    }

    /// `section.counter` of each `nettool_sockstat_netstat_total` series of
    /// `netns`.
    fn counters_of(text: &str, netns: &str) -> Vec<String> {
        let prefix = format!("nettool_sockstat_netstat_total{{netns=\"{netns}\",section=\"");
        samples(text)
            .into_iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|l| {
                let (section, rest) = l.split_once('"').unwrap();
                let key = rest.split('"').nth(1).unwrap();
                format!("{section}.{key}")
            })
            .collect()
    }

    #[test]
    fn all_netns_writes_only_the_explained_counters_of_each_namespace() {
        let tables = Tables {
            udp: false,
            ..V4_TCP_UDP
        };
        let spaces = [in_container(11, 100, "ab"), in_container(12, 200, "cd")];
        let all = summary_of(&spaces, true);
        let text = summary(&all, tables, &Scope::All).unwrap().finish();
        let explained = [
            "Tcp.ActiveOpens",
            "TcpExt.ListenOverflows",
            "TcpExt.TCPFastOpenActive",
            "Udp6.RcvbufErrors",
        ];
        for ns in ["docker:abababababab", "docker:cdcdcdcdcdcd"] {
            assert_eq!(counters_of(&text, ns), explained, "{text}");
        }
        // Every series of the family is one of those, per namespace.
        let family = samples(&text)
            .into_iter()
            .filter(|l| l.starts_with("nettool_sockstat_netstat_total"))
            .count();
        assert_eq!(family, 2 * explained.len(), "{text}");
        for key in explained {
            let (section, key) = key.split_once('.').unwrap();
            assert!(counters::meaning(section, key).is_some(), "{key}");
        }

        // -N: one namespace, every key (but the values, as always).
        let every = [
            "Tcp.ActiveOpens",
            "Tcp.InSegs",
            "TcpExt.ListenOverflows",
            "TcpExt.TCPOrigDataSent",
            "TcpExt.TCPFastOpenActive",
            "Udp6.RcvbufErrors",
            "Udp6.InDatagrams",
            "IpExt.InOctets",
        ];
        let one = summary_of(&spaces[..1], false);
        let scope = Scope::One(Target::Pid(100));
        let text = summary(&one, tables, &scope).unwrap().finish();
        assert_eq!(counters_of(&text, "docker:abababababab"), every, "{text}");
        // --all-netns that found one namespace: the same few as with many.
        let alone = summary_of(&spaces[..1], true);
        let text = summary(&alone, tables, &Scope::All).unwrap().finish();
        assert_eq!(
            counters_of(&text, "docker:abababababab"),
            explained,
            "{text}"
        );
        // No -N: every key, without a netns label.
        let own = &summary_of(&spaces[..1], false).namespaces[0].summary;
        let text = summary(own, tables, &Scope::Own).unwrap().finish();
        let keys = samples(&text)
            .into_iter()
            .filter(|l| l.starts_with("nettool_sockstat_netstat_total{section="))
            .count();
        assert_eq!(keys, every.len(), "{text}");
    }

    #[test]
    fn summary_namespaces_are_labelled_without_pids() {
        let tables = Tables {
            udp: false,
            ..V4_TCP_UDP
        };
        let s = summary_of(
            &[in_container(11, 100, "ab"), in_container(12, 200, "ab")],
            true,
        );
        let text = summary(&s, tables, &Scope::All).unwrap().finish();
        for ns in [
            "docker:abababababab net:[11]",
            "docker:abababababab net:[12]",
        ] {
            assert!(
                text.contains(&format!(
                    "\nnettool_sockstat_protocol_sockets{{netns=\"{ns}\",proto=\"tcp\",family=\"inet\"}} 1\n"
                )),
                "{ns}: {text}"
            );
        }
        // Every series has one of those two, none the table's `100/pause`.
        let netns: BTreeSet<&str> = text
            .split("netns=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert_eq!(
            netns,
            BTreeSet::from([
                "docker:abababababab net:[11]",
                "docker:abababababab net:[12]"
            ]),
            "{text}"
        );
    }

    #[test]
    fn kind_names_are_the_json_ones() {
        assert_eq!(kind_name(diagnose::Kind::CloseWaitLeak), "close_wait_leak");
        assert_eq!(kind_name(diagnose::Kind::FinWait2Held), "fin_wait2_held");
        let names: std::collections::HashSet<String> =
            diagnose::Kind::ALL.into_iter().map(kind_name).collect();
        assert_eq!(names.len(), diagnose::Kind::ALL.len());
    }
}
