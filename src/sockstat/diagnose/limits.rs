//! Findings about limits: a listener's accept queue and SYN queue, UDP
//! receive buffers, and the host's orphans and TCP memory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Cx, Evidence, Finding, Kind, SUBJECTS, Seen, Severity, Subject, ep, host, some_of};
use crate::sockstat::model::{Endpoint, Proto, Socket, TcpState};

fn subject(cx: &Cx<'_>, s: &Socket, evidence: Evidence) -> Subject {
    Subject {
        process: cx.owner(s),
        local: Some(ep(&s.local)),
        peer: None,
        evidence,
    }
}

fn now_or(v: Option<u64>, default: &str) -> String {
    v.map_or_else(|| default.into(), |v| format!("now {v}"))
}

/// A listener at its backlog, or an overflow the counters saw.
pub(super) fn accept_queue_overflow(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let somaxconn = cx.look.sysctls.somaxconn;
    // With an interval, the rise; without, the total since boot.
    let overflows = cx
        .rise("TcpExt", "ListenOverflows")
        .or_else(|| cx.total("TcpExt", "ListenOverflows"))
        .unwrap_or(0);
    let drops = cx
        .rise("TcpExt", "ListenDrops")
        .or_else(|| cx.total("TcpExt", "ListenDrops"))
        .unwrap_or(0);
    // At its backlog: the kernel takes one more (it refuses past
    // `backlog`), so this is full, or full at the next connection.
    let full = |s: &Socket| matches!((s.recv_q, s.send_q), (Some(q), Some(b)) if b > 0 && q >= b);
    let mut named = false;
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto != Proto::Tcp || sk.state != TcpState::Listen {
            continue;
        }
        let before = cx.before(seen.cookie);
        let peak = sk.recv_q.max(before.and_then(|b| b.recv_q)).unwrap_or(0);
        // Full now; or full at the first reading and overflowing since (a
        // queue that filled and drained without a drop harmed nobody).
        let overflowed = before.is_some_and(full) && overflows > 0;
        if !full(sk) && !overflowed {
            continue;
        }
        named = true;
        let backlog = sk.send_q.unwrap_or(0);
        let severity = if overflows > 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let who = cx.owner(sk).map_or_else(String::new, |o| format!(" ({o})"));
        let mut summary = format!(
            "listener {}{who} has {peak} connections waiting for accept() with a backlog of {backlog}",
            ep(&sk.local)
        );
        if overflows > 0 {
            let _ = write!(
                summary,
                "; ListenOverflows +{overflows}, ListenDrops +{drops} {}",
                cx.over()
            );
        } else if peak > backlog {
            summary
                .push_str("; it is full: new connections are dropped until the program accept()s");
        } else {
            summary.push_str("; one more fits, then new connections are dropped");
        }
        let mut f = cx.finding(Kind::AcceptQueueOverflow, severity, summary);
        f.evidence = Evidence::default()
            .count("accept_queue", peak)
            .count("backlog", backlog)
            .count("listen_overflows", overflows)
            .count("listen_drops", drops)
            .some("somaxconn", somaxconn);
        f.subjects = vec![subject(cx, sk, Evidence::default())];
        f.meaning = "the program does not accept() fast enough: the accept queue holds the connections whose handshake completed until the program accept()s them (backlog + 1 at most); when it is full the kernel drops new SYNs and the handshakes' final ACKs, and the clients' connect() stalls, sending its SYN again 1 s, 3 s, 7 s (and so on) after the first".into();
        f.advice = format!(
            "accept() faster (in a loop until EAGAIN, or with more workers), or raise the backlog: listen(fd, N), capped by net.core.somaxconn ({})",
            now_or(somaxconn, "4096 by default")
        );
        out.push(f);
    }
    if !named && overflows > 0 && cx.has_interval() {
        let waiting: Vec<&Socket> = cx
            .sockets()
            .map(|s| &s.socket)
            .filter(|s| s.proto == Proto::Tcp && s.state == TcpState::Listen)
            .filter(|s| s.recv_q.unwrap_or(0) > 0)
            .collect();
        let listed: Vec<String> = waiting.iter().map(|s| ep(&s.local)).collect();
        let summary = if listed.is_empty() {
            format!(
                "ListenOverflows +{overflows} {}: a listener overflowed and had drained when looked at",
                cx.over()
            )
        } else {
            format!(
                "ListenOverflows +{overflows} {}; listeners with connections waiting: {}",
                cx.over(),
                some_of(&listed, 3)
            )
        };
        let mut f = cx.finding(Kind::AcceptQueueOverflow, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("listen_overflows", overflows)
            .count("listen_drops", drops)
            .some("somaxconn", somaxconn);
        f.subjects = waiting
            .iter()
            .take(SUBJECTS)
            .map(|s| subject(cx, s, Evidence::default().some("accept_queue", s.recv_q)))
            .collect();
        f.meaning = "a listener's accept queue was full during the interval: connections were dropped while the program was not accept()ing".into();
        f.advice = format!(
            "find the listener whose program stalls (run again with a longer --interval, or nettool sockstat -lt -e), then accept faster or raise listen()'s backlog and net.core.somaxconn ({})",
            now_or(somaxconn, "4096 by default")
        );
        out.push(f);
    }
}

/// Half-open connections per listener at or past this many are a pile-up
/// (or half the listener's backlog, whichever is more: a busy listener
/// with a big backlog holds hundreds while healthy); [`SYN_RECV_MANY`]
/// when its backlog is unknown.
const SYN_RECV_FEW: u64 = 8;
const SYN_RECV_MANY: u64 = 256;

/// Many `SYN_RECV` on a listener, or syncookies sent.
pub(super) fn syn_flood(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let s = &cx.look.sysctls;
    let cookies = cx.rise("TcpExt", "SyncookiesSent").unwrap_or(0);
    let mut per: BTreeMap<String, Vec<&Seen>> = BTreeMap::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto == Proto::Tcp && matches!(sk.state, TcpState::SynRecv | TcpState::NewSynRecv) {
            per.entry(ep(&sk.local)).or_default().push(seen);
        }
    }
    let mut named = false;
    for (local, half) in per {
        let n = half.len() as u64;
        let group = listeners(cx, &half[0].socket.local);
        // A SO_REUSEPORT group shares the SYNs: its SYN queues add up.
        let backlog = group
            .iter()
            .map(|l| l.send_q.map(u64::from))
            .sum::<Option<u64>>()
            .filter(|_| !group.is_empty());
        let threshold = backlog.map_or(SYN_RECV_MANY, |b| (b / 2).max(SYN_RECV_FEW));
        // Syncookies go out only while a listener's SYN queue (its
        // backlog) is full: they are this listener's if its queue is half
        // full or more now (or its backlog is unknown).
        let near_full = backlog.is_none_or(|b| n * 2 >= b);
        if n < threshold && !(cookies > 0 && near_full) {
            continue;
        }
        named = true;
        let severity = if cookies > 0 || s.tcp_max_syn_backlog.is_some_and(|m| n >= m) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let peers: Vec<String> = {
            let mut p: Vec<String> = half.iter().map(|h| host(&h.socket.remote)).collect();
            p.sort();
            p.dedup();
            p
        };
        let owners = {
            let mut o: Vec<String> = group.iter().filter_map(|l| cx.owner(l)).collect();
            o.sort();
            o.dedup();
            (!o.is_empty()).then(|| o.join(","))
        };
        let who = owners
            .as_ref()
            .map_or_else(String::new, |o| format!(" ({o})"));
        let mut summary = format!(
            "listener {local}{who} has {n} half-open connections (SYN_RECV) from {} {}",
            peers.len(),
            if peers.len() == 1 {
                "address"
            } else {
                "addresses"
            }
        );
        if let Some(b) = backlog {
            let _ = write!(summary, ", backlog {b}");
        }
        if cookies > 0 {
            let _ = write!(summary, "; {cookies} syncookies sent {}", cx.over());
        }
        let mut f = cx.finding(Kind::SynFlood, severity, summary);
        f.evidence = Evidence::default()
            .count("syn_recv", n)
            .count("addresses", peers.len() as u64)
            .some("backlog", backlog)
            .count("syncookies_sent", cookies)
            .some("tcp_max_syn_backlog", s.tcp_max_syn_backlog)
            .some("tcp_syncookies", s.tcp_syncookies);
        f.subjects = vec![Subject {
            process: owners,
            local: Some(local.clone()),
            peer: Some(some_of(&peers, 3)),
            evidence: Evidence::default(),
        }];
        f.meaning = "SYN_RECV is half-open: our SYN-ACK went out and the client's final ACK of the handshake has not come; many at once is a SYN flood (spoofed sources never answer) or clients on a path that loses packets; the SYN queue is as long as the listen() backlog, and when it is full the kernel answers with syncookies (keeping no state, losing some TCP options) or, with them off, drops SYNs".into();
        f.advice = format!(
            "if the sources are many and unknown it is a flood: keep net.ipv4.tcp_syncookies=1 ({}) and filter upstream; if they are real clients, raise the listen() backlog (capped by net.core.somaxconn; net.ipv4.tcp_max_syn_backlog, {}, bounds it too when syncookies are off)",
            now_or(s.tcp_syncookies, "1 by default"),
            now_or(s.tcp_max_syn_backlog, "unknown")
        );
        out.push(f);
    }
    if !named && cookies > 0 {
        let summary = format!(
            "{cookies} syncookies sent {}: a listener's SYN queue overflowed (none is near full now)",
            cx.over()
        );
        let mut f = cx.finding(Kind::SynFlood, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("syncookies_sent", cookies)
            .some("tcp_max_syn_backlog", s.tcp_max_syn_backlog);
        f.meaning = "the kernel answers SYNs with syncookies only when a listener's SYN queue is full: a SYN flood or a burst of connections bigger than the backlog".into();
        f.advice = format!(
            "run again with a longer --interval to catch the listener; if the clients are real, raise its listen() backlog (capped by net.core.somaxconn; net.ipv4.tcp_max_syn_backlog, {}, bounds it too when syncookies are off)",
            now_or(s.tcp_max_syn_backlog, "unknown")
        );
        out.push(f);
    }
}

/// The listeners a half-open connection to `local` belongs to: those
/// bound to its address and port (a `SO_REUSEPORT` group), else the
/// wildcard ones on its port that take its family (`0.0.0.0` for IPv4,
/// then a dual-stack `::`, which gets IPv4 as `::ffff:a.b.c.d`).
fn listeners<'a>(cx: &Cx<'a>, local: &Endpoint) -> Vec<&'a Socket> {
    let unmapped = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    let (Some(ip), Some(port)) = (local.ip().map(unmapped), local.port()) else {
        return Vec::new();
    };
    let on_port: Vec<&Socket> = cx
        .sockets()
        .map(|s| &s.socket)
        .filter(|l| l.proto == Proto::Tcp && l.state == TcpState::Listen)
        .filter(|l| l.local.port() == Some(port))
        .collect();
    let bound = |want: &dyn Fn(IpAddr) -> bool| -> Vec<&'a Socket> {
        on_port
            .iter()
            .copied()
            .filter(|l| l.local.ip().is_some_and(|a| want(unmapped(a))))
            .collect()
    };
    for group in [
        bound(&|a| a == ip),
        bound(&|a| a == IpAddr::V4(Ipv4Addr::UNSPECIFIED) && ip.is_ipv4()),
        bound(&|a| a == IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
    ] {
        if !group.is_empty() {
            return group;
        }
    }
    Vec::new()
}

/// UDP sockets that dropped datagrams (their own drop count), or
/// `RcvbufErrors` rising with no socket to blame but those with data
/// waiting.
#[allow(
    clippy::too_many_lines,
    reason = "one finding: per socket, then the counter's fallback"
)]
pub(super) fn udp_drops(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let mut named = false;
    let drops = |s: &Socket| {
        s.internals
            .as_ref()
            .and_then(|i| i.memory)
            .and_then(|m| m.drops)
    };
    let rcvbuf = |s: &Socket| {
        s.internals
            .as_ref()
            .and_then(|i| i.memory)
            .and_then(|m| m.rcvbuf)
    };
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto != Proto::Udp {
            continue;
        }
        let Some(total) = drops(sk) else { continue };
        let rose = if cx.has_interval() {
            match cx.before(seen.cookie) {
                Some(b) => total.saturating_sub(drops(b).unwrap_or(total)),
                // Made during the interval: all of its drops are new.
                None => total,
            }
        } else {
            total
        };
        if rose == 0 {
            continue;
        }
        named = true;
        let who = cx.owner(sk).map_or_else(String::new, |o| format!(" ({o})"));
        let mut summary = format!(
            "{}{who} dropped {rose} datagrams {}",
            ep(&sk.local),
            if cx.has_interval() {
                cx.over()
            } else {
                "since it was opened".into()
            }
        );
        if let (Some(q), Some(b)) = (sk.recv_q, rcvbuf(sk)) {
            let _ = write!(summary, " (Recv-Q {q} bytes, SO_RCVBUF {b})");
        }
        // From one reading (-s without --interval) the drops may be old.
        let severity = if cx.has_interval() {
            Severity::Warning
        } else {
            Severity::Notice
        };
        let mut f = cx.finding(Kind::UdpDrops, severity, summary);
        f.evidence = Evidence::default()
            .count("drops", rose)
            .count("drops_total", total)
            .some("recv_q", sk.recv_q)
            .some("rcvbuf", rcvbuf(sk))
            .some("rcvbuf_errors", rcvbuf_errors(cx, sk));
        f.subjects = vec![subject(cx, sk, Evidence::default())];
        f.meaning = "datagrams arrived faster than the program read them and its receive buffer was full (it counts each datagram with the kernel's overhead, several hundred bytes more than its payload), so the kernel dropped them: UDP does not slow the sender down, the data is simply lost".into();
        f.advice = "read faster (a dedicated thread, recvmmsg, SO_REUSEPORT over several sockets) or give the socket a bigger buffer: SO_RCVBUF, capped by net.core.rmem_max".into();
        out.push(f);
    }
    if named {
        return;
    }
    let errors: u64 = ["Udp", "Udp6"]
        .iter()
        .filter_map(|s| cx.rise(s, "RcvbufErrors"))
        .sum();
    if errors == 0 {
        return;
    }
    let mut waiting: Vec<&Socket> = cx
        .sockets()
        .map(|s| &s.socket)
        .filter(|s| s.proto == Proto::Udp && s.recv_q.unwrap_or(0) > 0)
        .collect();
    waiting.sort_by_key(|s| std::cmp::Reverse(s.recv_q));
    let listed: Vec<String> = waiting.iter().map(|s| ep(&s.local)).collect();
    let summary = if listed.is_empty() {
        format!(
            "RcvbufErrors +{errors} {}: a UDP socket dropped datagrams (it is gone, or drained)",
            cx.over()
        )
    } else {
        format!(
            "RcvbufErrors +{errors} {}; UDP sockets with data waiting: {}",
            cx.over(),
            some_of(&listed, 3)
        )
    };
    let mut f = cx.finding(Kind::UdpDrops, Severity::Warning, summary);
    f.evidence = Evidence::default().count("rcvbuf_errors", errors);
    f.subjects = waiting
        .iter()
        .take(SUBJECTS)
        .map(|s| subject(cx, s, Evidence::default().some("recv_q", s.recv_q)))
        .collect();
    f.meaning =
        "a UDP receive buffer was full when datagrams arrived, and the kernel dropped them".into();
    f.advice = "read faster or raise SO_RCVBUF (net.core.rmem_max caps it)".into();
    out.push(f);
}

/// `RcvbufErrors`' rise in the counters `s`'s datagrams count in: IPv4
/// ones in `Udp` even on an IPv6 socket (a dual-stack `::` socket, or one
/// bound to `::ffff:a.b.c.d`), IPv6 ones in `Udp6`.
fn rcvbuf_errors(cx: &Cx<'_>, s: &Socket) -> Option<u64> {
    let mibs: &[&str] = match s.local.ip() {
        Some(IpAddr::V6(a)) if a.is_unspecified() => &["Udp", "Udp6"],
        Some(IpAddr::V6(a)) if a.to_ipv4_mapped().is_none() => &["Udp6"],
        _ => &["Udp"],
    };
    mibs.iter().map(|m| cx.rise(m, "RcvbufErrors")).sum()
}

/// Share of a host-wide limit at which a warning, and critical.
const NEAR: f64 = 0.5;
const AT: f64 = 0.9;

#[allow(clippy::cast_precision_loss, reason = "a share to show")]
fn share(n: u64, of: u64) -> f64 {
    n as f64 / of.max(1) as f64
}

/// Orphans against `tcp_max_orphans`.
pub(super) fn orphans(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let (Some(n), Some(max)) = (cx.kernel("TCP", "orphan"), cx.look.sysctls.tcp_max_orphans) else {
        return;
    };
    let sh = share(n, max);
    let severity = if sh >= AT {
        Severity::Critical
    } else if sh >= NEAR {
        Severity::Warning
    } else {
        return;
    };
    let summary = format!(
        "{n} orphaned TCP sockets, {:.0}% of net.ipv4.tcp_max_orphans ({max})",
        sh * 100.0
    );
    let mut f = cx.finding(Kind::OrphansNearLimit, severity, summary);
    f.host_wide = true;
    f.evidence = Evidence::default()
        .count("orphans", n)
        .count("tcp_max_orphans", max)
        .real("share", sh)
        .some("abort_on_memory", cx.rise("TcpExt", "TCPAbortOnMemory"));
    // The orphans this namespace can see, by peer. (An orphan in
    // FIN_WAIT2 becomes a timewait socket, which is not counted.)
    let mut peers: BTreeMap<String, u64> = BTreeMap::new();
    for s in cx.sockets().map(|s| &s.socket) {
        if s.proto == Proto::Tcp
            && s.inode == 0
            && matches!(
                s.state,
                TcpState::FinWait1 | TcpState::LastAck | TcpState::Closing
            )
        {
            *peers.entry(host(&s.remote)).or_default() += 1;
        }
    }
    let mut peers: Vec<(String, u64)> = peers.into_iter().collect();
    peers.sort_by_key(|p| std::cmp::Reverse(p.1));
    if !peers.is_empty() {
        let listed: Vec<String> = peers.iter().map(|(p, k)| format!("{k} to {p}")).collect();
        let _ = write!(f.summary, "; {}: {}", cx.here(), some_of(&listed, 3));
    }
    f.subjects = peers
        .into_iter()
        .take(SUBJECTS)
        .map(|(p, k)| Subject {
            peer: Some(p),
            evidence: Evidence::default().count("orphans", k),
            ..Subject::default()
        })
        .collect();
    f.meaning = "an orphan is a TCP connection its program has closed that the kernel still finishes (FIN_WAIT1 with data or a FIN not yet acked, LAST_ACK, CLOSING); past net.ipv4.tcp_max_orphans the kernel resets new orphans at once (\"too many orphaned sockets\") and their peers see RSTs instead of the end of the data".into();
    f.advice = "look at the peers the orphans wait for (the subjects): one that does not read keeps our FIN behind unsent data, one that is gone never acks it; raise net.ipv4.tcp_max_orphans if memory allows (each orphan may hold up to its send buffer)".into();
    out.push(f);
}

/// TCP's memory (pages) against `tcp_mem`'s pressure and high marks.
pub(super) fn tcp_memory(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let pressures = cx.rise("TcpExt", "TCPMemoryPressures").unwrap_or(0);
    let (Some(pages), Some([_, pressure, high])) =
        (cx.kernel("TCP", "mem"), cx.look.sysctls.tcp_mem)
    else {
        return;
    };
    let severity = if pages >= high {
        Severity::Critical
    } else if pages >= pressure || pressures > 0 {
        Severity::Warning
    } else {
        return;
    };
    let mut summary = format!(
        "TCP holds {pages} pages of memory; net.ipv4.tcp_mem pressure at {pressure}, limit {high}"
    );
    if pressures > 0 {
        let _ = write!(
            summary,
            "; entered pressure {pressures} times {}",
            cx.over()
        );
    }
    let mut f = cx.finding(Kind::TcpMemoryPressure, severity, summary);
    f.host_wide = true;
    f.evidence = Evidence::default()
        .count("pages", pages)
        .count("pressure_pages", pressure)
        .count("limit_pages", high)
        .count("pressures", pressures);
    // The biggest holders this namespace can see.
    let mut holders: Vec<(&Socket, u64)> = cx
        .sockets()
        .map(|s| &s.socket)
        .filter(|s| s.proto == Proto::Tcp)
        .filter_map(|s| {
            let m = s.internals.as_ref()?.memory?;
            let held = u64::from(m.rmem_alloc.unwrap_or(0)) + u64::from(m.wmem_queued.unwrap_or(0));
            (held > 0).then_some((s, held))
        })
        .collect();
    holders.sort_by_key(|(_, h)| std::cmp::Reverse(*h));
    if let Some((s, h)) = holders.first() {
        let who = cx.owner(s).map_or_else(String::new, |o| format!(" ({o})"));
        let _ = write!(
            f.summary,
            "; the most {}: {}{who} to {}, {h} bytes",
            cx.here(),
            ep(&s.local),
            ep(&s.remote)
        );
    }
    f.subjects = holders
        .into_iter()
        .take(5)
        .map(|(s, h)| Subject {
            process: cx.owner(s),
            local: Some(ep(&s.local)),
            peer: Some(ep(&s.remote)),
            evidence: Evidence::default().count("bytes", h),
        })
        .collect();
    f.meaning = "all TCP sockets of the host together hold this much buffer memory: past the pressure mark the kernel shrinks buffers (throughput drops), past the limit it refuses memory, drops segments and aborts orphans".into();
    f.advice = "find the sockets holding the memory (the subjects; nettool sockstat -m): a peer that does not read keeps our send buffers full, a program that does not read keeps its receive buffers full; raise net.ipv4.tcp_mem if the load is real".into();
    out.push(f);
}
