//! Findings about connections: `CLOSE_WAIT` leaks, `FIN_WAIT2` held open,
//! `TIME_WAIT` pressure on the ephemeral ports, retransmissions, and data
//! that nobody reads on either end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Cx, Evidence, Finding, Kind, SUBJECTS, Seen, Severity, Subject, ep, host, some_of};
use crate::sockstat::model::{Proto, Socket, TcpState};
use crate::wire::tcp_info::{TcpInfo, TcpInfoBytes};

fn info(s: &Socket) -> Option<&TcpInfo<TcpInfoBytes>> {
    s.internals.as_ref()?.tcp_info.as_ref()
}

/// Milliseconds since the peer's last acknowledgement (its FIN carried
/// one, so in `CLOSE_WAIT` this is how long ago the peer closed).
fn quiet_ms(s: &Socket) -> Option<u32> {
    info(s)?.last_ack_recv_ms()
}

fn secs(ms: u32) -> f64 {
    f64::from(ms) / 1000.0
}

/// In `state` in both readings, or (one reading) quiet for a second: a
/// state that lasts, not one passed through.
fn lasting(cx: &Cx<'_>, s: &Seen, state: TcpState) -> bool {
    if cx.has_interval() {
        cx.before(s.cookie).is_some_and(|b| b.state == state)
    } else {
        quiet_ms(&s.socket).is_none_or(|ms| ms >= 1000)
    }
}

/// Each distinct peer address, most frequent first.
fn peers<'a>(socks: impl Iterator<Item = &'a Socket>) -> Vec<String> {
    let mut n: BTreeMap<String, usize> = BTreeMap::new();
    for s in socks {
        *n.entry(host(&s.remote)).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = n.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(h, _)| h).collect()
}

fn subject(cx: &Cx<'_>, s: &Socket, evidence: Evidence) -> Subject {
    Subject {
        process: cx.owner(s),
        local: Some(ep(&s.local)),
        peer: Some(ep(&s.remote)),
        evidence,
    }
}

/// `812/nginx`, or what to say when no process could be named.
fn who(owner: Option<&String>) -> String {
    owner.map_or_else(
        || "a process nettool could not inspect (run as root to name it)".into(),
        Clone::clone,
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// TCP sockets of the last reading in `state` that last, by owner.
fn lasting_by_owner<'a>(
    cx: &Cx<'a>,
    state: TcpState,
    keep: impl Fn(&Socket) -> bool,
) -> BTreeMap<Option<String>, Vec<&'a Seen>> {
    let mut by: BTreeMap<Option<String>, Vec<&Seen>> = BTreeMap::new();
    for s in cx.sockets() {
        let sk = &s.socket;
        if sk.proto == Proto::Tcp && sk.state == state && keep(sk) && lasting(cx, s, state) {
            by.entry(cx.owner(sk)).or_default().push(s);
        }
    }
    by
}

/// A process holding `CLOSE_WAIT` sockets that last: the peer closed and
/// the program never called `close()`.
pub(super) fn close_wait_leak(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for (owner, socks) in lasting_by_owner(cx, TcpState::CloseWait, |_| true) {
        let n = socks.len();
        let oldest = socks.iter().filter_map(|s| quiet_ms(&s.socket)).max();
        let peers = peers(socks.iter().map(|s| &s.socket));
        let mut summary = format!(
            "{} holds {} in CLOSE_WAIT, closed by {}",
            who(owner.as_ref()),
            plural(n, "socket", "sockets"),
            some_of(&peers, 3)
        );
        if let Some(ms) = oldest {
            let _ = write!(summary, "; the oldest closed {:.1} s ago", secs(ms));
        }
        let mut f = cx.finding(Kind::CloseWaitLeak, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("sockets", n as u64)
            .count("peers", peers.len() as u64);
        if let Some(ms) = oldest {
            f.evidence = f.evidence.real("oldest_s", secs(ms));
        }
        f.subjects = socks
            .iter()
            .take(SUBJECTS)
            .map(|s| {
                let e = match quiet_ms(&s.socket) {
                    Some(ms) => Evidence::default().real("closed_s_ago", secs(ms)),
                    None => Evidence::default(),
                };
                subject(cx, &s.socket, e)
            })
            .collect();
        f.meaning = "the peers closed their side (their FIN arrived and was ACKed) and the program never called close(): each socket keeps a descriptor and its buffers until it does, and a leak only grows".into();
        f.advice = "fix the program: close() the socket when read() returns 0 (end of stream) and on every error path; restarting it frees them for now".into();
        out.push(f);
    }
}

/// `FIN_WAIT2` that lasts: our side closed its half (shutdown or close)
/// and the peer never closed its own.
pub(super) fn fin_wait2_held(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let fin_timeout = cx.look.sysctls.tcp_fin_timeout;
    for (owner, socks) in lasting_by_owner(cx, TcpState::FinWait2, |s| s.inode != 0) {
        let n = socks.len();
        let peers = peers(socks.iter().map(|s| &s.socket));
        let summary = format!(
            "{} half-closed {} that {} never closed",
            who(owner.as_ref()),
            plural(n, "connection", "connections"),
            some_of(&peers, 3)
        );
        let mut f = cx.finding(Kind::FinWait2Held, Severity::Notice, summary);
        f.evidence = Evidence::default()
            .count("sockets", n as u64)
            .count("peers", peers.len() as u64);
        f.subjects = socks
            .iter()
            .take(SUBJECTS)
            .map(|s| subject(cx, &s.socket, Evidence::default()))
            .collect();
        f.meaning = "our side sent its FIN (shutdown(SHUT_WR) or close) and the peer ACKed it, but the peer's program has not closed its end: it sits in CLOSE_WAIT there, and this socket waits in FIN_WAIT2 for its FIN, still able to receive".into();
        f.advice = format!(
            "look for a CLOSE_WAIT leak on the peer (nettool sockstat --diagnose there); if this program has nothing more to read, close() instead of keeping the half-closed socket: an orphan then waits at most net.ipv4.tcp_fin_timeout ({})",
            fin_timeout.map_or_else(|| "60 s by default".into(), |t| format!("now {t} s"))
        );
        out.push(f);
    }
    // Orphans: closed by their program, the kernel finishes them.
    let orphans: Vec<&Seen> = cx
        .sockets()
        .filter(|s| {
            s.socket.proto == Proto::Tcp
                && s.socket.state == TcpState::FinWait2
                && s.socket.inode == 0
                && lasting(cx, s, TcpState::FinWait2)
        })
        .collect();
    if orphans.len() >= ORPHAN_FIN_WAIT2 {
        let n = orphans.len();
        let peers = peers(orphans.iter().map(|s| &s.socket));
        let summary = format!(
            "{n} closed connections wait for a FIN that {} never sent",
            some_of(&peers, 3)
        );
        let mut f = cx.finding(Kind::FinWait2Held, Severity::Notice, summary);
        f.evidence = Evidence::default()
            .count("orphans", n as u64)
            .count("peers", peers.len() as u64)
            .some("tcp_fin_timeout_s", fin_timeout);
        f.subjects = orphans
            .iter()
            .take(SUBJECTS)
            .map(|s| subject(cx, &s.socket, Evidence::default()))
            .collect();
        f.meaning = "our programs closed these connections and the peers ACKed our FIN but never closed theirs; the kernel keeps each orphan in FIN_WAIT2 for net.ipv4.tcp_fin_timeout, then drops it".into();
        f.advice = format!(
            "the peers' programs leak (CLOSE_WAIT there); lowering net.ipv4.tcp_fin_timeout ({}) frees orphans sooner",
            fin_timeout.map_or_else(|| "60 s by default".into(), |t| format!("now {t} s"))
        );
        out.push(f);
    }
}

/// Orphans in `FIN_WAIT2` below this many are routine.
const ORPHAN_FIN_WAIT2: usize = 10;

/// `TIME_WAIT` per destination against the ephemeral port range: at this
/// share a warning, at [`TW_CRITICAL`] critical.
const TW_WARNING: f64 = 0.5;
const TW_CRITICAL: f64 = 0.9;

/// `TIME_WAIT` sockets of outgoing connections, per (source address,
/// destination), against the size of `ip_local_port_range`.
pub(super) fn time_wait_pressure(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let s = &cx.look.sysctls;
    let Some((lo, hi)) = s.ip_local_port_range else {
        return;
    };
    let Some(size) = s.ephemeral_ports() else {
        return;
    };
    let mut per: BTreeMap<(String, String), u64> = BTreeMap::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto != Proto::Tcp || sk.state != TcpState::TimeWait {
            continue;
        }
        // Ours was the connecting side: the local port is an ephemeral one.
        if !sk.local.port().is_some_and(|p| (lo..=hi).contains(&p)) {
            continue;
        }
        *per.entry((host(&sk.local), ep(&sk.remote))).or_default() += 1;
    }
    for ((from, to), n) in per {
        #[allow(clippy::cast_precision_loss, reason = "a share to show")]
        let share = n as f64 / size as f64;
        let severity = if share >= TW_CRITICAL {
            Severity::Critical
        } else if share >= TW_WARNING {
            Severity::Warning
        } else {
            continue;
        };
        let summary = format!(
            "{n} TIME_WAIT from {from} to {to} hold {:.0}% of the {size} ephemeral ports ({lo}-{hi})",
            share * 100.0
        );
        let mut f = cx.finding(Kind::TimeWaitPressure, severity, summary);
        f.evidence = Evidence::default()
            .count("time_wait", n)
            .count("ephemeral_ports", size)
            .real("share", share)
            .some("tcp_tw_reuse", s.tcp_tw_reuse);
        f.subjects = vec![Subject {
            local: Some(from.clone()),
            peer: Some(to.clone()),
            ..Subject::default()
        }];
        f.meaning = format!(
            "TIME_WAIT is held by the side that closed first (here this host, the client), for 2MSL (60 s on Linux), so late segments of the old connection die; each one pins a local port for this destination, and connect() to it fails with EADDRNOTAVAIL once all {size} are taken (at 100%; the port search slows well before)"
        );
        f.advice = format!(
            "reuse connections (keep-alive, pooling) or let the server close first; net.ipv4.tcp_tw_reuse=1 ({}) lets outgoing connect() take a TIME_WAIT port after 1 s; more source addresses or a wider net.ipv4.ip_local_port_range give more ports",
            s.tcp_tw_reuse
                .map_or_else(|| "unknown now".into(), |v| format!("now {v}"))
        );
        out.push(f);
    }
}

/// States in which TCP sends and so may retransmit.
fn sending(st: TcpState) -> bool {
    matches!(
        st,
        TcpState::Established
            | TcpState::SynSent
            | TcpState::FinWait1
            | TcpState::CloseWait
            | TcpState::LastAck
            | TcpState::Closing
    )
}

/// Connections retransmitting now (or over the interval), per peer.
#[allow(
    clippy::too_many_lines,
    reason = "one finding: select, group by peer, word it"
)]
pub(super) fn retransmitting(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    struct Bad<'a> {
        seen: &'a Seen,
        now: u8,
        rose: u32,
        lost: u32,
        backoff: u8,
        rto_ms: u32,
    }
    let mut per: BTreeMap<String, Vec<Bad<'_>>> = BTreeMap::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto != Proto::Tcp || !sending(sk.state) {
            continue;
        }
        let Some(i) = info(sk) else { continue };
        let now = i.retransmits().unwrap_or(0);
        let backoff = i.backoff().unwrap_or(0);
        let lost = i.lost().unwrap_or(0);
        let rose = match (cx.before(seen.cookie).and_then(info), i.total_retrans()) {
            (Some(b), Some(t)) => t.saturating_sub(b.total_retrans().unwrap_or(t)),
            _ => 0,
        };
        if now == 0 && backoff == 0 && lost == 0 && rose == 0 {
            continue;
        }
        per.entry(host(&sk.remote)).or_default().push(Bad {
            seen,
            now,
            rose,
            lost,
            backoff,
            rto_ms: i.rto_us().unwrap_or(0) / 1000,
        });
    }
    let retries2 = cx.look.sysctls.tcp_retries2;
    for (peer, bad) in per {
        let n = bad.len();
        let rose: u64 = bad.iter().map(|b| u64::from(b.rose)).sum();
        let backoff = bad.iter().map(|b| b.backoff).max().unwrap_or(0);
        let rto_ms = bad.iter().map(|b| b.rto_ms).max().unwrap_or(0);
        let lost: u64 = bad.iter().map(|b| u64::from(b.lost)).sum();
        let mut owners: Vec<String> = bad
            .iter()
            .filter_map(|b| cx.owner(&b.seen.socket))
            .collect();
        owners.sort();
        owners.dedup();
        let mut summary = format!(
            "{} to {peer} {}",
            plural(n, "connection", "connections"),
            if n == 1 { "retransmits" } else { "retransmit" }
        );
        let mut parts = Vec::new();
        if cx.has_interval() {
            parts.push(format!("{rose} segments sent again {}", cx.over()));
        }
        if lost > 0 {
            parts.push(format!("{lost} presumed lost"));
        }
        parts.push(format!("RTO up to {:.1} s", f64::from(rto_ms) / 1000.0));
        if backoff > 0 {
            parts.push(format!("backed off {backoff} times"));
        }
        let _ = write!(summary, " ({})", parts.join(", "));
        let syn_sent = bad
            .iter()
            .filter(|b| b.seen.socket.state == TcpState::SynSent)
            .count();
        if syn_sent > 0 {
            let _ = write!(summary, "; {syn_sent} in SYN_SENT: the SYN is not answered");
        }
        if !owners.is_empty() {
            let _ = write!(summary, ", from {}", some_of(&owners, 3));
        }
        let mut f = cx.finding(Kind::Retransmitting, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("connections", n as u64)
            .count(
                "retransmitting_now",
                bad.iter().filter(|b| b.now > 0).count() as u64,
            )
            .count("lost", lost)
            .count("max_backoff", backoff)
            .count("max_rto_ms", rto_ms);
        if cx.has_interval() {
            f.evidence = f.evidence.count("retransmitted", rose);
        }
        f.subjects = bad
            .iter()
            .take(SUBJECTS)
            .map(|b| {
                let e = Evidence::default()
                    .text("state", b.seen.socket.state.netstat_name())
                    .count("retransmits", b.now)
                    .count("backoff", b.backoff)
                    .count("rto_ms", b.rto_ms);
                subject(cx, &b.seen.socket, e)
            })
            .collect();
        f.meaning = format!(
            "segments to this peer go unacknowledged and are sent again; every timeout doubles the RTO (backoff), and after net.ipv4.tcp_retries2 ({}) retries the connection is dropped",
            retries2.map_or_else(|| "15 by default".into(), |r| format!("now {r}"))
        );
        f.advice = format!(
            "find where packets die: nettool probe --trace {peer}:PORT, `ip -s link` and the NIC's counters; a peer that stopped answering (down, or a firewall now dropping) leaves only its connections to time out"
        );
        out.push(f);
    }
}

/// The peer's window is closed: our Send-Q waits and the kernel probes.
pub(super) fn peer_not_reading(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let mut per: BTreeMap<(Option<String>, String), Vec<&Seen>> = BTreeMap::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto != Proto::Tcp
            || !matches!(sk.state, TcpState::Established | TcpState::CloseWait)
            || sk.send_q.unwrap_or(0) == 0
        {
            continue;
        }
        let probing = sk
            .timer
            .is_some_and(|t| t.kind == crate::sockstat::model::TimerKind::Probe);
        let zero_window = info(sk).and_then(TcpInfo::snd_wnd) == Some(0);
        if !probing && !zero_window {
            continue;
        }
        // Over an interval: still waiting, nothing more acknowledged.
        if cx.has_interval() {
            let Some(b) = cx.before(seen.cookie) else {
                continue;
            };
            let acked = |s: &Socket| info(s).and_then(TcpInfo::bytes_acked);
            if b.send_q.unwrap_or(0) == 0 || acked(b) != acked(sk) {
                continue;
            }
        }
        per.entry((cx.owner(sk), host(&sk.remote)))
            .or_default()
            .push(seen);
    }
    for ((owner, peer), socks) in per {
        let n = socks.len();
        let queued: u64 = socks
            .iter()
            .map(|s| u64::from(s.socket.send_q.unwrap_or(0)))
            .sum();
        let probes = socks
            .iter()
            .filter_map(|s| info(&s.socket).and_then(TcpInfo::probes))
            .max()
            .unwrap_or(0);
        let mut summary = format!(
            "{peer} does not read: {} from {} {} {queued} bytes in Send-Q behind a zero window",
            plural(n, "connection", "connections"),
            who(owner.as_ref()),
            if n == 1 { "has" } else { "have" }
        );
        if cx.has_interval() {
            let _ = write!(summary, ", none acknowledged {}", cx.over());
        }
        let mut f = cx.finding(Kind::PeerNotReading, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("connections", n as u64)
            .count("send_q_bytes", queued)
            .count("zero_window_probes", probes);
        f.subjects = socks
            .iter()
            .take(SUBJECTS)
            .map(|s| {
                let e = Evidence::default()
                    .some("send_q", s.socket.send_q)
                    .some("snd_wnd", info(&s.socket).and_then(TcpInfo::snd_wnd));
                subject(cx, &s.socket, e)
            })
            .collect();
        f.meaning = "the peer advertises a zero receive window: its program is not reading what arrived, so its buffer is full; our data waits in Send-Q and the kernel sends zero-window probes until the window opens".into();
        f.advice = format!(
            "look at the program on {peer} (its Recv-Q is full: nettool sockstat there); here writes block or return EAGAIN until it reads: use timeouts so one stuck peer does not hold the sender"
        );
        out.push(f);
    }
}

/// Recv-Q that stays or grows over the interval: our program does not read.
pub(super) fn local_not_reading(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    if !cx.has_interval() {
        return;
    }
    let mut per: BTreeMap<Option<String>, Vec<(&Seen, u32)>> = BTreeMap::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        // Not CLOSE_WAIT: its Recv-Q counts the peer's FIN as one byte.
        if sk.proto != Proto::Tcp || sk.state != TcpState::Established {
            continue;
        }
        let now = sk.recv_q.unwrap_or(0);
        let Some(before) = cx.before(seen.cookie).and_then(|b| b.recv_q) else {
            continue;
        };
        if before == 0 || now < before {
            continue;
        }
        per.entry(cx.owner(sk)).or_default().push((seen, before));
    }
    for (owner, socks) in per {
        let n = socks.len();
        let now: u64 = socks
            .iter()
            .map(|(s, _)| u64::from(s.socket.recv_q.unwrap_or(0)))
            .sum();
        let before: u64 = socks.iter().map(|(_, b)| u64::from(*b)).sum();
        let closed = socks
            .iter()
            .filter(|(s, _)| info(&s.socket).and_then(TcpInfo::rcv_wnd) == Some(0))
            .count();
        let peers = peers(socks.iter().map(|(s, _)| &s.socket));
        let mut summary = format!(
            "{} does not read {}: Recv-Q {before} -> {now} bytes {}, from {}",
            who(owner.as_ref()),
            plural(n, "connection", "connections"),
            cx.over(),
            some_of(&peers, 3)
        );
        if closed > 0 {
            let _ = write!(summary, "; {closed} with the window closed");
        }
        let mut f = cx.finding(Kind::LocalNotReading, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("connections", n as u64)
            .count("recv_q_before", before)
            .count("recv_q_bytes", now)
            .count("window_closed", closed as u64);
        f.subjects = socks
            .iter()
            .take(SUBJECTS)
            .map(|(s, b)| {
                let e = Evidence::default()
                    .count("recv_q_before", *b)
                    .some("recv_q", s.socket.recv_q);
                subject(cx, &s.socket, e)
            })
            .collect();
        f.meaning = "data has arrived and waits in the kernel, and the program has not read it during the interval: it is blocked elsewhere, busy, or lost track of the socket; once the buffer fills, the window closes and the peer stops sending".into();
        f.advice = "see what the program is doing (a stack dump, strace -p PID); read every readable socket until EAGAIN, or give the slow work its own thread".into();
        out.push(f);
    }
}
