//! `sockstat -s`: counts per protocol and TCP state, the kernel's own
//! figures from /proc/net/sockstat, its protocol counters (since boot, or
//! what changed over `--interval`), and a plain-words diagnosis of what the
//! states and the alarming counters mean for this machine right now.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::counters::{self, Counters, Interval, Sections};
use super::model::{Proto, Socket, TcpState};
use super::netns::Netns;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// `tcp`, `tcp6`, `udp`, ... -> sockets.
    pub protocols: BTreeMap<&'static str, u64>,
    /// TCP states by netstat name -> sockets (IPv4 and IPv6 together).
    pub tcp_states: BTreeMap<&'static str, u64>,
    /// `/proc/net/sockstat` and `sockstat6`: section -> key -> value, e.g.
    /// `TCP.tw`. `mem` values are in pages.
    pub kernel: BTreeMap<String, BTreeMap<String, u64>>,
    pub diagnosis: Vec<String>,
    /// What `--diagnose` finds, most severe first (with `--all-netns`,
    /// every namespace's, host-wide ones once).
    pub findings: Vec<super::diagnose::Finding>,
    /// /proc/net/snmp, netstat and snmp6: section -> key -> value, every
    /// key the kernel prints (with `--interval`, the second reading).
    pub counters: Counters,
    /// With `--interval`: `interval_s`, `deltas`, `rates_per_s`, `resets`.
    #[serde(flatten)]
    pub interval: Option<Interval>,
    /// With `-N`/`--all-netns`: each namespace's own summary (the fields
    /// above are then their total; with `--all-netns` the kernel's figures
    /// are only per namespace).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<NamespaceSummary>,
}

impl Summary {
    pub fn compute(sockets: &[Socket], kernel: Vec<(String, String, u64)>) -> Summary {
        let mut s = Summary::default();
        for sk in sockets {
            *s.protocols.entry(sk.proto_label()).or_default() += 1;
            if sk.proto == Proto::Tcp {
                *s.tcp_states.entry(sk.state.netstat_name()).or_default() += 1;
            }
        }
        for (section, key, value) in kernel {
            s.kernel.entry(section).or_default().insert(key, value);
        }
        s.diagnosis = diagnose(&s.tcp_states, &s.kernel, sockets);
        s
    }
}

impl Summary {
    /// Add the kernel's protocol counters (with `interval`, what changed
    /// between two readings) and a sentence for each alarming one.
    /// `owners` names sockets' processes by inode (`-p`), e.g. `"42/nginx"`.
    #[must_use]
    pub fn with_counters(
        mut self,
        counters: Counters,
        interval: Option<Interval>,
        sockets: &[Socket],
        owners: &BTreeMap<u64, String>,
    ) -> Summary {
        let activity = match &interval {
            Some(i) => Activity::Interval(i),
            None => Activity::SinceBoot(&counters),
        };
        self.diagnosis
            .extend(diagnose_counters(&activity, sockets, owners));
        self.counters = counters;
        self.interval = interval;
        self
    }
}

/// One network namespace's summary (`-s` with `-N`/`--all-netns`).
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceSummary {
    pub netns: Netns,
    #[serde(flatten)]
    pub summary: Summary,
}

impl Summary {
    /// The summary of what each namespace gave (`None`: our own, no `-N`).
    /// With one namespace it is that namespace's (with `-N` also listed in
    /// `namespaces`); with `all` (`--all-netns`) the counts add up every
    /// namespace's, the kernel's figures stay per namespace (some of them,
    /// TCP memory and orphans, are host-wide anyway) and the diagnosis
    /// is every namespace's, each line led by the namespace's label.
    pub fn of_namespaces(mut per_ns: Vec<(Option<Netns>, Summary)>, all: bool) -> Summary {
        if !all && per_ns.len() == 1 {
            let (ns, mut top) = per_ns.remove(0);
            if let Some(netns) = ns {
                let summary = top.clone();
                top.namespaces.push(NamespaceSummary { netns, summary });
            }
            return top;
        }
        let namespaces: Vec<NamespaceSummary> = per_ns
            .into_iter()
            .filter_map(|(ns, summary)| {
                Some(NamespaceSummary {
                    netns: ns?,
                    summary,
                })
            })
            .collect();
        let mut total = Summary::default();
        for ns in &namespaces {
            for (p, n) in &ns.summary.protocols {
                *total.protocols.entry(p).or_default() += n;
            }
            for (st, n) in &ns.summary.tcp_states {
                *total.tcp_states.entry(st).or_default() += n;
            }
            total.counters.add(&ns.summary.counters);
            if let Some(i) = &ns.summary.interval {
                if let Some(t) = &mut total.interval {
                    t.add(i);
                } else {
                    let mut t = i.clone();
                    t.deltas = Sections::default();
                    t.resets = Sections::default();
                    t.add(i);
                    total.interval = Some(t);
                }
            }
            let label = ns.netns.label();
            total.diagnosis.extend(
                ns.summary
                    .diagnosis
                    .iter()
                    .map(|d| format!("[{label}] {d}")),
            );
        }
        total.findings = super::diagnose::merge(
            namespaces
                .iter()
                .map(|n| n.summary.findings.clone())
                .collect(),
        );
        total.namespaces = namespaces;
        total
    }
}

fn count(states: &BTreeMap<&'static str, u64>, st: TcpState) -> u64 {
    states.get(st.netstat_name()).copied().unwrap_or(0)
}

/// What the numbers mean, in a sentence each, only for what is present.
fn diagnose(
    states: &BTreeMap<&'static str, u64>,
    kernel: &BTreeMap<String, BTreeMap<String, u64>>,
    sockets: &[Socket],
) -> Vec<String> {
    let mut d = Vec::new();
    let n = |st| count(states, st);
    if n(TcpState::CloseWait) > 0 {
        d.push(format!(
            "{} in CLOSE_WAIT: the peer closed (its FIN arrived and was ACKed) but the local program has not called close(); a count that keeps growing is a connection leak in that program (see -p)",
            n(TcpState::CloseWait)
        ));
    }
    if n(TcpState::FinWait2) > 0 {
        d.push(format!(
            "{} in FIN_WAIT2: we closed and the peer ACKed our FIN, but the peer program has not closed its side yet (half-closed; orphans wait tcp_fin_timeout, 60 s)",
            n(TcpState::FinWait2)
        ));
    }
    if n(TcpState::TimeWait) > 0 {
        d.push(format!(
            "{} in TIME_WAIT: this side closed first and holds the port pair for 2MSL (60 s on Linux) so late segments die; normal, but thousands to one peer can exhaust ephemeral ports, and a listener restarting on the port needs SO_REUSEADDR",
            n(TcpState::TimeWait)
        ));
    }
    if n(TcpState::SynSent) > 0 {
        d.push(format!(
            "{} in SYN_SENT: connecting, no SYN-ACK yet: the peer is slow, down, or a firewall drops the SYNs (nettool probe tells which)",
            n(TcpState::SynSent)
        ));
    }
    if n(TcpState::SynRecv) > 0 {
        d.push(format!(
            "{} in SYN_RECV: half-open, waiting for the client's final ACK of the handshake; many at once suggests a SYN flood or a lossy path",
            n(TcpState::SynRecv)
        ));
    }
    if n(TcpState::LastAck) + n(TcpState::Closing) > 0 {
        d.push(format!(
            "{} in LAST_ACK/CLOSING: closing, waiting for the peer to ACK our FIN",
            n(TcpState::LastAck) + n(TcpState::Closing)
        ));
    }
    for sk in sockets {
        if sk.proto != Proto::Tcp || sk.state != TcpState::Listen {
            continue;
        }
        let local = || super::display::Display::numeric().endpoint(&sk.local, sk.proto);
        match (sk.recv_q, sk.send_q) {
            (Some(waiting), Some(backlog)) if backlog > 0 && waiting > backlog => {
                d.push(format!(
                    "listener {} has a full accept queue ({waiting} of {backlog}): the program is not calling accept() fast enough, new SYNs are dropped",
                    local()
                ));
            }
            // /proc/net/tcp does not give a listener's backlog: say so
            // rather than judge the queue by a number we do not have.
            (Some(waiting), None) if waiting > 0 => {
                d.push(format!(
                    "listener {} has {waiting} connections waiting for accept(); its backlog is not in /proc/net/tcp, so whether the queue is full is unknown here (--source netlink tells)",
                    local()
                ));
            }
            _ => {}
        }
    }
    if let Some(orphan) = kernel.get("TCP").and_then(|t| t.get("orphan"))
        && *orphan > 0
    {
        d.push(format!(
            "{orphan} orphaned TCP sockets: closed by their program, still finishing their close in the kernel"
        ));
    }
    d
}

/// What the counters diagnosis looks at: totals since boot (or since the
/// namespace was made), or the change over an interval.
#[derive(Debug, Clone, Copy)]
pub enum Activity<'a> {
    SinceBoot(&'a Counters),
    Interval(&'a Interval),
}

impl Activity<'_> {
    /// The figure for `section.key`; 0 when absent or reset.
    fn get(self, section: &str, key: &str) -> i128 {
        match self {
            Activity::SinceBoot(c) => c.get(section, key),
            Activity::Interval(i) => i.deltas.get(section, key),
        }
        .unwrap_or(0)
        .max(0)
    }

    /// `37 since boot`, or `+37 in 1.0 s (37.0/s)`.
    fn amount(self, n: i128) -> String {
        match self {
            Activity::SinceBoot(_) => format!("{n} since boot"),
            Activity::Interval(i) => format!("+{n} in {:.1} s ({:.1}/s)", i.seconds, i.rate(n)),
        }
    }
}

/// A counter whose rise means trouble, and what to do about it.
struct Alarm {
    sections: &'static [&'static str],
    key: &'static str,
    /// Rises on a healthy machine too: judged only over an interval, never
    /// from a total since boot.
    routine: bool,
    advice: &'static str,
}

const UDP: &[&str] = &["Udp", "Udp6"];

/// The alarming counters, most urgent first. `ListenOverflows`,
/// `ListenDrops`, `RcvbufErrors` and `RetransSegs` get more words from
/// [`diagnose_counters`].
const ALARMS: &[Alarm] = &[
    Alarm {
        sections: &["TcpExt"],
        key: "ListenOverflows",
        routine: false,
        advice: "raise the backlog the program passes to listen() and net.core.somaxconn (its cap), or make the program accept() faster",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "ListenDrops",
        routine: false,
        advice: "more than the overflows: SYNs also dropped for lack of memory or at sockets closing; see TCPAbortOnMemory and tcp_mem",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "SyncookiesSent",
        routine: false,
        advice: "a SYN flood, or a listener's backlog too small for its rate of new connections: raise the listen() backlog, net.core.somaxconn and net.ipv4.tcp_max_syn_backlog",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPBacklogDrop",
        routine: false,
        advice: "a receiving program holds its socket too long or its receive buffer is too small: read sooner, or raise SO_RCVBUF / net.ipv4.tcp_rmem",
    },
    Alarm {
        sections: UDP,
        key: "RcvbufErrors",
        routine: false,
        advice: "a UDP receiver is too slow or its buffer too small: read faster (more threads, recvmmsg), or raise SO_RCVBUF and net.core.rmem_max",
    },
    Alarm {
        sections: UDP,
        key: "SndbufErrors",
        routine: false,
        advice: "a UDP sender outpaces its send buffer (or the NIC and qdisc): pace the sends, or raise SO_SNDBUF and net.core.wmem_max",
    },
    Alarm {
        sections: &["Tcp"],
        key: "InErrs",
        routine: false,
        advice: "corrupt or malformed segments arrive: a faulty NIC, cable or middlebox; check `ip -s link` and the NIC's offloads (ethtool -k)",
    },
    Alarm {
        sections: UDP,
        key: "InCsumErrors",
        routine: false,
        advice: "corrupt datagrams arrive: a faulty NIC, cable or middlebox; check `ip -s link` and the NIC's offloads (ethtool -k)",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPAbortOnMemory",
        routine: false,
        advice: "TCP ran out of memory: raise net.ipv4.tcp_mem (and tcp_max_orphans), or find the sockets holding memory (-m)",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPMemoryPressures",
        routine: false,
        advice: "TCP crossed net.ipv4.tcp_mem's pressure mark and shrank buffers: raise tcp_mem, or find the sockets holding memory (-m)",
    },
    Alarm {
        sections: &["Tcp"],
        key: "RetransSegs",
        routine: true,
        advice: "loss on a path, or a peer that stopped answering; -i shows which connections retransmit; above ~1% of segments sent, throughput suffers",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPTimeouts",
        routine: true,
        advice: "heavy loss or a dead peer: nothing was acknowledged for a whole RTO; -i -e shows the connections with a retransmit timer",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPSynRetrans",
        routine: true,
        advice: "peers slow to answer, SYNs lost, or a listener's full queue or a firewall dropping them (nettool probe tells which)",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPAbortOnTimeout",
        routine: true,
        advice: "dead peers or a broken path: TCP gave up after tcp_retries2 retransmissions or the keepalive probes",
    },
    Alarm {
        sections: &["Tcp"],
        key: "AttemptFails",
        routine: true,
        advice: "connections refused (nothing listening, or a firewall's reject) or half-open ones reset: nettool probe tells which",
    },
    Alarm {
        sections: &["Tcp"],
        key: "EstabResets",
        routine: true,
        advice: "live connections reset by a peer, a middlebox, or a program aborting them",
    },
    Alarm {
        sections: &["Tcp"],
        key: "OutRsts",
        routine: true,
        advice: "this host refused connections to closed ports or aborted connections (see AttemptFails and TCPAbortOn*)",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPAbortOnData",
        routine: true,
        advice: "a program closed while its peer still sent: the peer saw a RST; harmless for many HTTP clients, data loss for others",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPAbortOnClose",
        routine: true,
        advice: "a program closed without reading what had arrived: its peer saw a RST; read to the end before close()",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TCPAbortOnLinger",
        routine: true,
        advice: "a program closed with SO_LINGER: its peer saw a RST instead of a FIN",
    },
    Alarm {
        sections: &["TcpExt"],
        key: "TWRecycled",
        routine: true,
        advice: "many short connections to one peer reuse ports still in TIME_WAIT: keep connections alive or pool them, or widen net.ipv4.ip_local_port_range",
    },
    Alarm {
        sections: UDP,
        key: "NoPorts",
        routine: true,
        advice: "datagrams for a port nobody listens on (answered with ICMP port unreachable): a client aims at the wrong port, or a service is down",
    },
];

/// The sections of every counter the diagnosis may speak of: a diagnosis
/// line about a counter starts with one of them.
pub fn alarm_sections() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    for a in ALARMS {
        for s in a.sections {
            if !seen.contains(s) {
                seen.push(s);
            }
        }
    }
    seen.into_iter()
}

/// At most this many sockets are named in one sentence.
const NAMED: usize = 5;

/// `a, b, c and 2 more`.
fn some_of(items: &[String]) -> String {
    let mut s = items[..items.len().min(NAMED)].join(", ");
    if items.len() > NAMED {
        let _ = write!(s, " and {} more", items.len() - NAMED);
    }
    s
}

/// One sentence per alarming counter that rose: what it means (from
/// [`counters::MEANINGS`]) and what to do; for listener overflows the
/// listeners at their backlog, for UDP receive errors the UDP sockets with
/// data waiting. Since boot, only the counters that do not rise on a
/// healthy machine, and the sentence says the figure is a total.
pub fn diagnose_counters(
    a: &Activity<'_>,
    sockets: &[Socket],
    owners: &BTreeMap<u64, String>,
) -> Vec<String> {
    let since_boot = matches!(a, Activity::SinceBoot(_));
    let name = |sk: &Socket, what: String| {
        let local = super::display::Display::numeric().endpoint(&sk.local, sk.proto);
        match owners.get(&sk.inode) {
            Some(o) => format!("{local} ({what}, {o})"),
            None => format!("{local} ({what})"),
        }
    };
    let mut d = Vec::new();
    for alarm in ALARMS {
        if since_boot && alarm.routine {
            continue;
        }
        for &section in alarm.sections {
            let n = a.get(section, alarm.key);
            if n == 0 {
                continue;
            }
            let mut extra = String::new();
            match alarm.key {
                // Every overflow is a drop too: only drops beyond them say
                // something more.
                "ListenDrops" if n <= a.get("TcpExt", "ListenOverflows") => continue,
                "ListenOverflows" => {
                    let listeners: Vec<&Socket> = sockets
                        .iter()
                        .filter(|s| s.proto == Proto::Tcp && s.state == TcpState::Listen)
                        .collect();
                    let full: Vec<String> = listeners
                        .iter()
                        .filter_map(|s| match (s.recv_q, s.send_q) {
                            (Some(q), Some(backlog)) if q > 0 && q >= backlog => {
                                Some(name(s, format!("Recv-Q {q}, backlog {backlog}")))
                            }
                            _ => None,
                        })
                        .collect();
                    let unknown: Vec<String> = listeners
                        .iter()
                        .filter_map(|s| match (s.recv_q, s.send_q) {
                            (Some(q), None) if q > 0 => Some(name(s, format!("Recv-Q {q}"))),
                            _ => None,
                        })
                        .collect();
                    extra = if !full.is_empty() {
                        format!("; at their backlog now: {}", some_of(&full))
                    } else if !unknown.is_empty() {
                        format!(
                            "; listeners with connections waiting (their backlog is not in /proc/net/tcp: --source netlink tells whether full): {}",
                            some_of(&unknown)
                        )
                    } else {
                        "; no listener is at its backlog now (the queue drained since)".into()
                    };
                }
                "RcvbufErrors" => {
                    let mut waiting: Vec<&Socket> = sockets
                        .iter()
                        .filter(|s| s.proto == Proto::Udp && s.recv_q.unwrap_or(0) > 0)
                        .collect();
                    waiting.sort_by_key(|s| std::cmp::Reverse(s.recv_q));
                    let named: Vec<String> = waiting
                        .iter()
                        .map(|s| name(s, format!("Recv-Q {}", s.recv_q.unwrap_or(0))))
                        .collect();
                    extra = if named.is_empty() {
                        "; no UDP socket has data waiting now".into()
                    } else {
                        format!("; UDP sockets with data waiting now: {}", some_of(&named))
                    };
                }
                "RetransSegs" => {
                    let sent = a.get("Tcp", "OutSegs");
                    if sent > 0 {
                        #[allow(clippy::cast_precision_loss, reason = "a percentage to show")]
                        let pct = 100.0 * n as f64 / sent as f64;
                        extra = format!(" ({pct:.2}% of {sent} segments sent)");
                    }
                }
                _ => {}
            }
            let meaning = counters::meaning(section, alarm.key).unwrap_or("");
            let mut line = format!(
                "{section} {} {}: {meaning}{extra}. {}{}",
                alarm.key,
                a.amount(n),
                capitalised(alarm.advice),
                if since_boot {
                    " (a total since boot: --interval 5 shows whether it still rises)"
                } else {
                    ""
                }
            );
            line.truncate(line.trim_end().len());
            d.push(line);
        }
    }
    d
}

/// `s` with its first letter upper case.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockstat::model::Endpoint;

    fn tcp(state: TcpState, recv_q: u32, send_q: Option<u32>) -> Socket {
        Socket {
            proto: Proto::Tcp,
            v6: false,
            local: Endpoint::Inet("127.0.0.1:80".parse().unwrap()),
            remote: Endpoint::Inet("0.0.0.0:0".parse().unwrap()),
            state,
            recv_q: Some(recv_q),
            send_q,
            uid: Some(0),
            inode: 1,
            timer: None,
            unix_kind: None,
            peer_inode: None,
            internals: None,
        }
    }

    #[test]
    fn counts_and_diagnosis() {
        let socks = [
            tcp(TcpState::Listen, 129, Some(128)),
            tcp(TcpState::CloseWait, 1, Some(0)),
            tcp(TcpState::CloseWait, 0, Some(0)),
            tcp(TcpState::Established, 0, Some(0)),
        ];
        let s = Summary::compute(&socks, vec![("TCP".into(), "orphan".into(), 0)]);
        assert_eq!(s.protocols["tcp"], 4);
        assert_eq!(s.tcp_states["CLOSE_WAIT"], 2);
        assert!(s.diagnosis.iter().any(|d| d.starts_with("2 in CLOSE_WAIT")));
        assert!(
            s.diagnosis
                .iter()
                .any(|d| d.contains("full accept queue (129 of 128)"))
        );
        assert!(!s.diagnosis.iter().any(|d| d.contains("orphaned")));
        assert!(!s.diagnosis.iter().any(|d| d.contains("TIME_WAIT")));
    }

    #[test]
    fn a_queue_as_long_as_the_backlog_is_not_full_yet() {
        // The kernel drops SYNs only once ack_backlog > max_ack_backlog
        // (sk_acceptq_is_full).
        let s = Summary::compute(&[tcp(TcpState::Listen, 128, Some(128))], Vec::new());
        assert!(s.diagnosis.is_empty(), "{:?}", s.diagnosis);
        let s = Summary::compute(&[tcp(TcpState::Listen, 2, Some(1))], Vec::new());
        assert!(
            s.diagnosis
                .iter()
                .any(|d| d.contains("full accept queue (2 of 1)")),
            "{:?}",
            s.diagnosis
        );
    }

    #[test]
    fn a_listener_without_a_known_backlog_is_not_judged_full() {
        let socks = [
            tcp(TcpState::Listen, 5, None),
            tcp(TcpState::Listen, 0, None),
        ];
        let s = Summary::compute(&socks, Vec::new());
        assert_eq!(s.diagnosis.len(), 1, "{:?}", s.diagnosis);
        assert!(
            s.diagnosis[0].starts_with("listener 127.0.0.1:80 has 5 connections waiting")
                && s.diagnosis[0].contains("--source netlink"),
            "{:?}",
            s.diagnosis
        );
    }

    fn readings(before: &[(&str, &str, i128)], after: &[(&str, &str, i128)]) -> Interval {
        let mut b = Counters::default();
        for &(s, k, v) in before {
            b.insert(s, k, v);
        }
        let mut a = Counters::default();
        for &(s, k, v) in after {
            a.insert(s, k, v);
        }
        Interval::between(&b, &a, 2.0)
    }

    fn udp(port: u16, recv_q: u32, inode: u64) -> Socket {
        Socket {
            proto: Proto::Udp,
            local: Endpoint::Inet(format!("0.0.0.0:{port}").parse().unwrap()),
            inode,
            ..tcp(TcpState::Close, recv_q, Some(0))
        }
    }

    fn netns(name: &str) -> Netns {
        Netns {
            inode: 7,
            name: Some(name.into()),
            host: false,
            pid: None,
            command: None,
            container: None,
        }
    }

    fn gathered(socks: &[Socket]) -> Summary {
        Summary::compute(socks, vec![("TCP".into(), "inuse".into(), 3)])
    }

    #[test]
    fn listen_overflows_name_the_listener_at_its_backlog_and_its_owner() {
        let i = readings(
            &[
                ("TcpExt", "ListenOverflows", 3),
                ("TcpExt", "ListenDrops", 3),
            ],
            &[
                ("TcpExt", "ListenOverflows", 40),
                ("TcpExt", "ListenDrops", 40),
            ],
        );
        let mut full = tcp(TcpState::Listen, 2, Some(1));
        full.inode = 7;
        let mut other = tcp(TcpState::Listen, 0, Some(128));
        other.local = Endpoint::Inet("127.0.0.1:81".parse().unwrap());
        let owners = BTreeMap::from([(7, "42/srv".to_string())]);
        let d = diagnose_counters(&Activity::Interval(&i), &[full, other], &owners);
        assert_eq!(
            d,
            [
                "TcpExt ListenOverflows +37 in 2.0 s (18.5/s): SYNs or handshake ACKs dropped: \
              a listener's accept queue was full; at their backlog now: 127.0.0.1:80 \
              (Recv-Q 2, backlog 1, 42/srv). Raise the backlog the program passes to listen() \
              and net.core.somaxconn (its cap), or make the program accept() faster"
            ]
        );
        // Drained since: said so; drops beyond the overflows: their own line.
        let i = readings(
            &[
                ("TcpExt", "ListenOverflows", 0),
                ("TcpExt", "ListenDrops", 0),
            ],
            &[
                ("TcpExt", "ListenOverflows", 1),
                ("TcpExt", "ListenDrops", 4),
            ],
        );
        let d = diagnose_counters(&Activity::Interval(&i), &[], &BTreeMap::new());
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].contains("; no listener is at its backlog now"),
            "{d:?}"
        );
        assert!(d[1].starts_with("TcpExt ListenDrops +4 in 2.0 s"), "{d:?}");
    }

    #[test]
    fn rcvbuf_errors_name_udp_sockets_with_data_waiting_biggest_first() {
        let i = readings(
            &[("Udp", "RcvbufErrors", 5), ("Udp6", "RcvbufErrors", 0)],
            &[("Udp", "RcvbufErrors", 9), ("Udp6", "RcvbufErrors", 0)],
        );
        let socks = [udp(53, 10, 1), udp(5353, 212_992, 2), udp(9, 0, 3)];
        let d = diagnose_counters(&Activity::Interval(&i), &socks, &BTreeMap::new());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("Udp RcvbufErrors +4 in 2.0 s (2.0/s): datagrams dropped: the receiving socket's buffer was full; UDP sockets with data waiting now: 0.0.0.0:5353 (Recv-Q 212992), 0.0.0.0:53 (Recv-Q 10). A UDP receiver is too slow"),
            "{d:?}"
        );
    }

    #[test]
    fn retransmissions_as_a_share_of_segments_sent_and_resets_are_not_rises() {
        let i = readings(
            &[
                ("Tcp", "OutSegs", 1000),
                ("Tcp", "RetransSegs", 10),
                ("Tcp", "OutRsts", 50),
            ],
            &[
                ("Tcp", "OutSegs", 3000),
                ("Tcp", "RetransSegs", 30),
                ("Tcp", "OutRsts", 2),
            ],
        );
        let d = diagnose_counters(&Activity::Interval(&i), &[], &BTreeMap::new());
        assert_eq!(
            d.len(),
            1,
            "OutRsts went down: a reset, not an alarm: {d:?}"
        );
        assert!(
            d[0].starts_with("Tcp RetransSegs +20 in 2.0 s (10.0/s): segments retransmitted (1.00% of 2000 segments sent). Loss on a path"),
            "{d:?}"
        );
    }

    #[test]
    fn since_boot_only_what_a_healthy_machine_never_counts() {
        let mut c = Counters::default();
        for (k, v) in [
            ("RetransSegs", 10),
            ("OutRsts", 623_803),
            ("InErrs", 2),
            ("CurrEstab", 4),
        ] {
            c.insert("Tcp", k, v);
        }
        c.insert("TcpExt", "TCPAbortOnMemory", 1);
        c.insert("TcpExt", "TCPSynRetrans", 99);
        c.insert("Udp", "NoPorts", 617);
        let d = diagnose_counters(&Activity::SinceBoot(&c), &[], &BTreeMap::new());
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("Tcp InErrs 2 since boot: "), "{d:?}");
        assert!(
            d[1].starts_with("TcpExt TCPAbortOnMemory 1 since boot: "),
            "{d:?}"
        );
        assert!(
            d.iter()
                .all(|l| l
                    .ends_with("(a total since boot: --interval 5 shows whether it still rises)")),
            "{d:?}"
        );
    }

    #[test]
    fn a_quiet_interval_says_nothing_and_every_alarm_has_a_meaning() {
        let all: Vec<(&str, &str, i128)> = ALARMS
            .iter()
            .flat_map(|a| a.sections.iter().map(move |&s| (s, a.key, 5)))
            .collect();
        let i = readings(&all, &all);
        assert!(diagnose_counters(&Activity::Interval(&i), &[], &BTreeMap::new()).is_empty());
        for a in ALARMS {
            for s in a.sections {
                assert!(counters::meaning(s, a.key).is_some(), "{s} {}", a.key);
            }
        }
        let sections: Vec<&str> = alarm_sections().collect();
        assert_eq!(sections, ["TcpExt", "Udp", "Udp6", "Tcp"]);
    }

    #[test]
    fn with_counters_keeps_the_state_sentences_and_adds_the_counters() {
        let i = readings(&[("Tcp", "AttemptFails", 0)], &[("Tcp", "AttemptFails", 3)]);
        let mut c = Counters::default();
        c.insert("Tcp", "AttemptFails", 3);
        let socks = [tcp(TcpState::CloseWait, 0, Some(0))];
        let s = Summary::compute(&socks, Vec::new()).with_counters(
            c,
            Some(i),
            &socks,
            &BTreeMap::new(),
        );
        assert_eq!(s.diagnosis.len(), 2, "{:?}", s.diagnosis);
        assert!(s.diagnosis[0].starts_with("1 in CLOSE_WAIT"));
        assert!(s.diagnosis[1].starts_with("Tcp AttemptFails +3 in 2.0 s"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["counters"]["Tcp"]["AttemptFails"], 3);
        assert_eq!(json["deltas"]["Tcp"]["AttemptFails"], 3);
        assert_eq!(json["rates_per_s"]["Tcp"]["AttemptFails"], 1.5);
        assert_eq!(json["interval_s"], 2.0);
        let s = Summary::compute(&socks, Vec::new());
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("deltas").is_none() && json.get("interval_s").is_none());
    }

    #[test]
    fn per_namespace_summaries_and_their_total() {
        let per_ns = vec![
            (
                Some(netns("a")),
                gathered(&[
                    tcp(TcpState::CloseWait, 0, Some(0)),
                    tcp(TcpState::Listen, 0, Some(8)),
                ]),
            ),
            (
                Some(netns("b")),
                gathered(&[tcp(TcpState::Listen, 0, Some(8))]),
            ),
            (Some(netns("c")), gathered(&[])),
        ];
        let s = Summary::of_namespaces(per_ns, true);
        assert_eq!(s.protocols["tcp"], 3);
        assert_eq!(s.tcp_states["LISTEN"], 2);
        assert!(
            s.kernel.is_empty(),
            "the kernel's figures stay per namespace"
        );
        assert_eq!(s.namespaces.len(), 3);
        assert_eq!(s.namespaces[1].summary.protocols["tcp"], 1);
        assert_eq!(s.namespaces[0].summary.kernel["TCP"]["inuse"], 3);
        assert!(s.namespaces[2].summary.protocols.is_empty());
        assert_eq!(s.diagnosis.len(), 1, "{:?}", s.diagnosis);
        assert!(
            s.diagnosis[0].starts_with("[a] 1 in CLOSE_WAIT"),
            "{:?}",
            s.diagnosis
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["namespaces"][1]["netns"]["name"], "b");
        assert_eq!(json["namespaces"][1]["protocols"]["tcp"], 1);

        // The total's counters add up every namespace's, settings aside;
        // their intervals add up too.
        let counted = |opens: i128, over: i128| {
            let mut before = Counters::default();
            let mut after = Counters::default();
            for (c, n) in [(&mut before, 0), (&mut after, over)] {
                c.insert("Tcp", "RtoMin", 200);
                c.insert("Tcp", "CurrEstab", 1);
                c.insert("Tcp", "ActiveOpens", opens + n);
            }
            let i = Interval::between(&before, &after, 1.0);
            gathered(&[]).with_counters(after, Some(i), &[], &BTreeMap::new())
        };
        let s = Summary::of_namespaces(
            vec![
                (Some(netns("a")), counted(5, 2)),
                (Some(netns("b")), counted(7, 3)),
            ],
            true,
        );
        assert_eq!(s.counters.get("Tcp", "ActiveOpens"), Some(17));
        assert_eq!(s.counters.get("Tcp", "CurrEstab"), Some(2));
        assert_eq!(s.counters.get("Tcp", "RtoMin"), None, "a setting");
        let i = s.interval.as_ref().unwrap();
        assert_eq!(i.deltas.get("Tcp", "ActiveOpens"), Some(5));

        // -N: that namespace's summary, itself listed once.
        let one = Summary::of_namespaces(vec![(Some(netns("a")), gathered(&[]))], false);
        assert_eq!(one.kernel["TCP"]["inuse"], 3);
        assert_eq!(one.namespaces.len(), 1);
        // Our own namespace: no `namespaces` at all.
        let own = Summary::of_namespaces(vec![(None, gathered(&[]))], false);
        assert!(own.namespaces.is_empty());
        assert!(
            serde_json::to_value(&own)
                .unwrap()
                .get("namespaces")
                .is_none()
        );
    }
}
