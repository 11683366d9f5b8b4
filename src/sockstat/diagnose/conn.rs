//! Findings about connections: `CLOSE_WAIT` leaks, `FIN_WAIT2` held open,
//! `TIME_WAIT` pressure on the ephemeral ports, retransmissions, and data
//! that nobody reads on either end.
//!
//! A finding is about a state that lasts, not a moment: the same socket
//! (by cookie) in both readings, and nothing moved on it in between where
//! movement would mean it works (bytes read by the program, bytes
//! acknowledged, data still flowing over a half-close). A slow connection
//! that moves is never reported as a stuck one. Ages come from `tcp_info`'s
//! `last_ack_recv`, a lower bound ("for at least").

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::{Cx, Evidence, Finding, Kind, SUBJECTS, Seen, Severity, Subject, ep, host, some_of};
use crate::sockstat::model::{Proto, Socket, TcpState, TimerKind};
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

/// In `state` in both readings with nothing sent or received in between,
/// or (one reading) quiet for a second: a state that lasts, not one passed
/// through, nor a half-closed connection still carrying data the other
/// way (a response streamed after the request's `shutdown(SHUT_WR)`).
fn lasting(cx: &Cx<'_>, s: &Seen, state: TcpState) -> bool {
    if cx.has_interval() {
        cx.before(s.cookie).is_some_and(|b| {
            let moved = |f: fn(&TcpInfo<TcpInfoBytes>) -> Option<u64>| {
                info(b).and_then(f) != info(&s.socket).and_then(f)
            };
            b.state == state && !moved(TcpInfo::bytes_received) && !moved(TcpInfo::bytes_acked)
        })
    } else {
        quiet_ms(&s.socket).is_none_or(|ms| ms >= 1000)
    }
}

/// `for at least 4.2 s`: the oldest quiet time of `socks` (the peer's last
/// segment: in `CLOSE_WAIT` its FIN, in `FIN_WAIT2` its ACK of ours, or
/// anything after), a lower bound on how long they have been in it.
fn oldest(socks: &[&Seen]) -> Option<u32> {
    socks.iter().filter_map(|s| quiet_ms(&s.socket)).max()
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

/// The evidence of a state that lasts: how many sockets, how many peers,
/// and the oldest's age.
fn lasting_evidence(n: usize, peers: usize, oldest: Option<u32>) -> Evidence {
    let e = Evidence::default()
        .count("sockets", n as u64)
        .count("peers", peers as u64);
    match oldest {
        Some(ms) => e.real("oldest_s", secs(ms)),
        None => e,
    }
}

/// The first [`SUBJECTS`] sockets, each with its age as `age`.
fn aged_subjects(cx: &Cx<'_>, socks: &[&Seen], age: &'static str) -> Vec<Subject> {
    socks
        .iter()
        .take(SUBJECTS)
        .map(|s| {
            let e = match quiet_ms(&s.socket) {
                Some(ms) => Evidence::default().real(age, secs(ms)),
                None => Evidence::default(),
            };
            subject(cx, &s.socket, e)
        })
        .collect()
}

/// A process holding `CLOSE_WAIT` sockets that last: the peer closed and
/// the program never called `close()`.
pub(super) fn close_wait_leak(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    for (owner, socks) in lasting_by_owner(cx, TcpState::CloseWait, |_| true) {
        let n = socks.len();
        let oldest = oldest(&socks);
        let peers = peers(socks.iter().map(|s| &s.socket));
        let mut summary = format!(
            "{} holds {} in CLOSE_WAIT that {} closed",
            who(owner.as_ref()),
            plural(n, "socket", "sockets"),
            some_of(&peers, 3)
        );
        if let Some(ms) = oldest {
            let which = if n == 1 { "" } else { " the oldest" };
            let _ = write!(summary, ",{which} for at least {:.1} s", secs(ms));
        }
        let mut f = cx.finding(Kind::CloseWaitLeak, Severity::Warning, summary);
        f.evidence = lasting_evidence(n, peers.len(), oldest);
        f.subjects = aged_subjects(cx, &socks, "closed_s_ago");
        f.meaning = "the peers closed their side (their FIN arrived and was ACKed) and the program has not called close(): each socket keeps a file descriptor and its buffers until it does, a leak only grows, and at the process's limit accept() and open() fail with EMFILE (too many open files)".into();
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
        let oldest = oldest(&socks);
        let peers = peers(socks.iter().map(|s| &s.socket));
        let mut summary = format!(
            "{} half-closed {} that {} has not closed",
            who(owner.as_ref()),
            plural(n, "connection", "connections"),
            some_of(&peers, 3)
        );
        if let Some(ms) = oldest {
            let which = if n == 1 { "it" } else { "the oldest" };
            let _ = write!(
                summary,
                "; {which} has waited in FIN_WAIT2 for at least {:.1} s",
                secs(ms)
            );
        }
        let mut f = cx.finding(Kind::FinWait2Held, Severity::Notice, summary);
        f.evidence = lasting_evidence(n, peers.len(), oldest);
        f.subjects = aged_subjects(cx, &socks, "waiting_s");
        f.meaning = "our side sent its FIN (shutdown(SHUT_WR)) and the peer ACKed it, but the peer's program has not closed its end: it sits in CLOSE_WAIT there, and this socket waits in FIN_WAIT2 for its FIN, still able to receive; no timer ends it while the program holds the socket (net.ipv4.tcp_fin_timeout applies only after close())".into();
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
    // A server that closes first holds some routinely: a twentieth of its
    // TCP sockets, at least ORPHAN_FIN_WAIT2, before it is worth a line.
    let tcp = cx
        .sockets()
        .filter(|s| s.socket.proto == Proto::Tcp)
        .count();
    if orphans.len() >= ORPHAN_FIN_WAIT2.max(tcp / 20) {
        let n = orphans.len();
        let peers = peers(orphans.iter().map(|s| &s.socket));
        let mut summary = format!(
            "{n} connections closed here (orphans) wait in FIN_WAIT2 for a FIN that {} has not sent",
            some_of(&peers, 3)
        );
        if let Some(t) = fin_timeout {
            let _ = write!(summary, "; the kernel drops each within {t} s of its close");
        }
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
        f.meaning = "our programs closed these connections and the peers ACKed our FIN but have not closed theirs; the kernel keeps each orphan in FIN_WAIT2 for net.ipv4.tcp_fin_timeout, then drops it without the peer's FIN, and every orphan counts against net.ipv4.tcp_max_orphans".into();
        f.advice = format!(
            "look for a CLOSE_WAIT leak in the peers' programs (nettool sockstat --diagnose there); lowering net.ipv4.tcp_fin_timeout ({}) frees orphans sooner",
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

/// `now 2: loopback only` for `net.ipv4.tcp_tw_reuse`.
fn tw_reuse_words(v: Option<u64>) -> String {
    match v {
        None => "unknown now".into(),
        Some(0) => "now 0: off".into(),
        Some(1) => "now 1: on".into(),
        Some(2) => "now 2: loopback only".into(),
        Some(v) => format!("now {v}"),
    }
}

/// `TIME_WAIT` sockets of outgoing connections, per (source address,
/// destination), against the size of `ip_local_port_range`. The other
/// connections from an ephemeral port to the same destination take ports
/// too: they are counted for when `connect()` fails, not for the share.
pub(super) fn time_wait_pressure(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    let s = &cx.look.sysctls;
    let Some((lo, hi)) = s.ip_local_port_range else {
        return;
    };
    let Some(size) = s.ephemeral_ports() else {
        return;
    };
    // (time_wait, other connections) per (source, destination).
    let mut per: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut open: Vec<(String, String)> = Vec::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        // Ours was the connecting side: the local port is an ephemeral one.
        if sk.proto != Proto::Tcp
            || sk.state == TcpState::Listen
            || !sk.local.port().is_some_and(|p| (lo..=hi).contains(&p))
        {
            continue;
        }
        let key = (host(&sk.local), ep(&sk.remote));
        if sk.state == TcpState::TimeWait {
            per.entry(key).or_default().0 += 1;
        } else {
            open.push(key);
        }
    }
    for key in open {
        if let Some(e) = per.get_mut(&key) {
            e.1 += 1;
        }
    }
    for ((from, to), (n, others)) in per {
        #[allow(clippy::cast_precision_loss, reason = "a share to show")]
        let share = n as f64 / size as f64;
        let severity = if share >= TW_CRITICAL {
            Severity::Critical
        } else if share >= TW_WARNING {
            Severity::Warning
        } else {
            continue;
        };
        let taken = n + others;
        let mut summary = format!(
            "{n} TIME_WAIT sockets from {from} to {to} hold {:.0}% of the {size} ephemeral ports ({lo}-{hi})",
            share * 100.0
        );
        if others > 0 {
            let _ = write!(
                summary,
                ", and {} to it {}",
                plural(
                    usize::try_from(others).unwrap_or(usize::MAX),
                    "open connection",
                    "open connections"
                ),
                if others == 1 {
                    "holds one more".into()
                } else {
                    format!("hold {others} more")
                }
            );
        }
        // Without reuse, nothing is left for this destination.
        let reuse = match s.tcp_tw_reuse {
            Some(1) => true,
            // As the kernel's tcp_twsk_unique: a loopback source or
            // destination, IPv4-mapped ones too.
            Some(2) => {
                let to_ip = to.parse::<SocketAddr>().ok().map(|a| a.ip());
                [from.parse::<IpAddr>().ok(), to_ip]
                    .into_iter()
                    .flatten()
                    .any(|ip| ip.to_canonical().is_loopback())
            }
            _ => false,
        };
        if taken >= size && !reuse {
            let _ = write!(
                summary,
                ": every port is taken, connect() to {to} fails with EADDRNOTAVAIL now"
            );
        }
        let mut f = cx.finding(Kind::TimeWaitPressure, severity, summary);
        f.evidence = Evidence::default()
            .count("time_wait", n)
            .count("other_connections", others)
            .count("ephemeral_ports", size)
            .real("share", share)
            .some("tcp_tw_reuse", s.tcp_tw_reuse);
        f.subjects = vec![Subject {
            local: Some(from.clone()),
            peer: Some(to.clone()),
            ..Subject::default()
        }];
        f.meaning = format!(
            "TIME_WAIT is held by the side that closed first (here this host, the client), for 2MSL (60 s on Linux), so that late segments of the old connection die with it; each one pins a local port for this destination, and connect() to it fails with EADDRNOTAVAIL once all {size} are taken (at 100%; the port search slows well before)"
        );
        f.advice = format!(
            "reuse connections (keep-alive, pooling) or let the server close first; net.ipv4.tcp_tw_reuse=1 ({}) lets outgoing connect() take a TIME_WAIT port after 1 s (with TCP timestamps, on by default); more source addresses or a wider net.ipv4.ip_local_port_range give more ports",
            tw_reuse_words(s.tcp_tw_reuse)
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

/// The RTO's backoff: zero-window probes back off too, and a closed
/// window is the peer not reading (`peer_not_reading`), nothing lost.
fn rto_backoff(s: &Socket, i: &TcpInfo<TcpInfoBytes>) -> u8 {
    if s.timer.is_some_and(|t| t.kind == TimerKind::Probe) {
        0
    } else {
        i.backoff().unwrap_or(0)
    }
}

/// Retransmissions over the interval that make a connection lossy (and
/// not just a fast retransmit in a bulk transfer): at least this many,
/// and at least [`LOSSY_SHARE`] of the data segments it sent.
const LOSSY_AT_LEAST: u32 = 3;
const LOSSY_SHARE: f64 = 0.05;

/// Connections in retransmission timeouts now, or losing a share of their
/// segments over the interval, per peer.
#[allow(
    clippy::too_many_lines,
    reason = "one finding: select, group by peer, word it"
)]
pub(super) fn retransmitting(cx: &Cx<'_>, out: &mut Vec<Finding>) {
    struct Bad<'a> {
        seen: &'a Seen,
        now: u8,
        rose: u32,
        total: u32,
        lost: u32,
        backoff: u8,
        rto_ms: u32,
        /// Since the peer's last ACK, while timing out.
        silent_ms: Option<u32>,
    }
    let mut per: BTreeMap<String, Vec<Bad<'_>>> = BTreeMap::new();
    for seen in cx.sockets() {
        let sk = &seen.socket;
        if sk.proto != Proto::Tcp || !sending(sk.state) {
            continue;
        }
        let Some(i) = info(sk) else { continue };
        let now = i.retransmits().unwrap_or(0);
        let backoff = rto_backoff(sk, i);
        let before = cx.before(seen.cookie).and_then(info);
        let grew = |f: fn(&TcpInfo<TcpInfoBytes>) -> Option<u32>| match (before.and_then(f), f(i)) {
            (Some(b), Some(n)) => n.saturating_sub(b),
            _ => 0,
        };
        let rose = grew(TcpInfo::total_retrans);
        let sent = grew(TcpInfo::data_segs_out);
        // A timeout that lasts: running at both readings (one that began
        // in between is a moment, routine on a busy host's many
        // connections; more in between make it lossy below), or, from
        // one reading, nothing acknowledged for a second.
        let in_timeout = now > 0 || backoff > 0;
        let timing_out = in_timeout
            && if cx.has_interval() {
                cx.before(seen.cookie).is_some_and(|b| {
                    info(b).is_some_and(|bi| {
                        bi.retransmits().unwrap_or(0) > 0 || rto_backoff(b, bi) > 0
                    })
                })
            } else {
                sk.state == TcpState::SynSent || quiet_ms(sk).is_none_or(|ms| ms >= 1000)
            };
        let lossy =
            rose >= LOSSY_AT_LEAST && f64::from(rose) >= LOSSY_SHARE * f64::from(sent.max(1));
        if !timing_out && !lossy {
            continue;
        }
        per.entry(host(&sk.remote)).or_default().push(Bad {
            seen,
            now,
            rose,
            total: i.total_retrans().unwrap_or(0),
            lost: i.lost().unwrap_or(0),
            backoff,
            rto_ms: i.rto_us().unwrap_or(0) / 1000,
            // (A SYN_SENT socket has heard nothing ever: no age to give.)
            silent_ms: if in_timeout && sk.state != TcpState::SynSent {
                quiet_ms(sk)
            } else {
                None
            },
        });
    }
    let retries2 = cx.look.sysctls.tcp_retries2;
    for (peer, bad) in per {
        let n = bad.len();
        let rose: u64 = bad.iter().map(|b| u64::from(b.rose)).sum();
        let total: u64 = bad.iter().map(|b| u64::from(b.total)).sum();
        let backoff = bad.iter().map(|b| b.backoff).max().unwrap_or(0);
        let rto_ms = bad.iter().map(|b| b.rto_ms).max().unwrap_or(0);
        let lost: u64 = bad.iter().map(|b| u64::from(b.lost)).sum();
        let silent_ms = bad.iter().filter_map(|b| b.silent_ms).max();
        let mut owners: Vec<String> = bad
            .iter()
            .filter_map(|b| cx.owner(&b.seen.socket))
            .collect();
        owners.sort();
        owners.dedup();
        let mut summary = format!("{} to {peer}", plural(n, "connection", "connections"));
        if !owners.is_empty() {
            let _ = write!(summary, " from {}", some_of(&owners, 3));
        }
        summary.push_str(if n == 1 {
            " retransmits: "
        } else {
            " retransmit: "
        });
        let mut parts = vec![format!("{total} segments sent again")];
        if cx.has_interval() {
            let _ = write!(parts[0], " ({rose} in the last {:.1} s)", cx.look.seconds);
        }
        if lost > 0 {
            parts.push(format!("{lost} presumed lost"));
        }
        if let Some(ms) = silent_ms {
            parts.push(format!("nothing acknowledged for {:.1} s", secs(ms)));
        }
        let rto = f64::from(rto_ms) / 1000.0;
        parts.push(match backoff {
            0 => format!("RTO {rto:.1} s"),
            1 => format!("RTO doubled to {rto:.1} s"),
            2 => format!("RTO doubled twice to {rto:.1} s"),
            b => format!("RTO doubled {b} times to {rto:.1} s"),
        });
        summary.push_str(&parts.join(", "));
        let syn_sent = bad
            .iter()
            .filter(|b| b.seen.socket.state == TcpState::SynSent)
            .count();
        if syn_sent > 0 {
            let _ = write!(summary, "; {syn_sent} in SYN_SENT: the SYN is not answered");
        }
        let mut f = cx.finding(Kind::Retransmitting, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("connections", n as u64)
            .count(
                "retransmitting_now",
                bad.iter().filter(|b| b.now > 0).count() as u64,
            )
            .count("total_retrans", total)
            .count("lost", lost)
            .count("max_backoff", backoff)
            .count("max_rto_ms", rto_ms);
        if cx.has_interval() {
            f.evidence = f.evidence.count("retransmitted", rose);
        }
        if let Some(ms) = silent_ms {
            f.evidence = f.evidence.real("silent_s", secs(ms));
        }
        f.subjects = bad
            .iter()
            .take(SUBJECTS)
            .map(|b| {
                let e = Evidence::default()
                    .text("state", b.seen.socket.state.netstat_name())
                    .count("retransmits", b.now)
                    .count("total_retrans", b.total)
                    .count("backoff", b.backoff)
                    .count("rto_ms", b.rto_ms);
                subject(cx, &b.seen.socket, e)
            })
            .collect();
        f.meaning = format!(
            "segments to this peer go unacknowledged and are sent again; each timeout in a row doubles the RTO (backoff), and after net.ipv4.tcp_retries2 ({}) of them the kernel drops the connection",
            retries2.map_or_else(
                || "15 by default, about 15 minutes".into(),
                |r| format!("now {r}")
            )
        );
        let target = ep(&bad[0].seen.socket.remote);
        f.advice = format!(
            "find where packets die: nettool probe --trace {target} shows the hop where a SYN stops, `ip -s link` and the NICs' counters show drops; a peer that stopped answering (down, or a firewall now dropping) leaves only its connections to time out"
        );
        out.push(f);
    }
}

/// Zero-window probes unanswered in a row worth a word: one or two are
/// routine (the latest in flight, or an answer the peer rate-limited under
/// `net.ipv4.tcp_invalid_ratelimit`).
const UNANSWERED_PROBES: u8 = 3;

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
        let probing = sk.timer.is_some_and(|t| t.kind == TimerKind::Probe);
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
        let max = |f: fn(&TcpInfo<TcpInfoBytes>) -> Option<u8>| {
            socks
                .iter()
                .filter_map(|s| info(&s.socket).and_then(f))
                .max()
                .unwrap_or(0)
        };
        // Each probe backs the timer off once (up to tcp_retries2); each
        // answer resets the unanswered count.
        let (probed, unanswered) = (max(TcpInfo::backoff), max(TcpInfo::probes));
        let mut summary = format!(
            "{peer} does not read: {} from {} {} {queued} bytes in Send-Q behind a zero window",
            plural(n, "connection", "connections"),
            who(owner.as_ref()),
            if n == 1 { "has" } else { "have" }
        );
        if cx.has_interval() {
            let _ = write!(summary, ", none acknowledged {}", cx.over());
        }
        match probed {
            0 => {}
            1 => summary.push_str("; the window probed once"),
            2 => summary.push_str("; the window probed twice"),
            p => {
                let _ = write!(summary, "; the window probed {p} times");
            }
        }
        if unanswered >= UNANSWERED_PROBES {
            let _ = write!(
                summary,
                ", the last {unanswered} unanswered: the peer may be gone"
            );
        }
        let mut f = cx.finding(Kind::PeerNotReading, Severity::Warning, summary);
        f.evidence = Evidence::default()
            .count("connections", n as u64)
            .count("send_q_bytes", queued)
            .count("window_probes", probed)
            .count("unanswered_probes", unanswered);
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
        f.meaning = format!(
            "the peer advertises a zero receive window: its program is not reading what arrived, so its buffer is full; our data waits in Send-Q and the kernel probes the window, less and less often, for as long as the peer answers (after net.ipv4.tcp_retries2 ({}) unanswered probes it drops the connection)",
            cx.look
                .sysctls
                .tcp_retries2
                .map_or_else(|| "15 by default".into(), |r| format!("now {r}"))
        );
        f.advice = format!(
            "look at the program on {peer} (its Recv-Q is full: nettool sockstat there); here writes block or return EAGAIN until it reads: use timeouts so one stuck peer does not hold the sender"
        );
        out.push(f);
    }
}

/// What the program has read of `s`: received less what waits
/// (`bytes_received` counts up to `rcv_nxt`, Recv-Q is `rcv_nxt` less what
/// was copied to the program). `None` when Recv-Q is more than what was
/// received (a repaired socket's queue, or the two read apart).
fn read_by_program(s: &Socket) -> Option<u64> {
    info(s)?.bytes_received()?.checked_sub(u64::from(s.recv_q?))
}

/// Data waiting in Recv-Q through the interval and none of it read: our
/// program does not read. (Without `tcp_info`: a Recv-Q that stays or
/// grows.) A reader that keeps up with a fast sender has a Recv-Q too, at
/// any moment; it is told apart by what it read in between.
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
        let Some(b) = cx.before(seen.cookie) else {
            continue;
        };
        let before = b.recv_q.unwrap_or(0);
        let idle = match (read_by_program(b), read_by_program(sk)) {
            (Some(then), Some(since)) => then == since,
            _ => now >= before,
        };
        if before == 0 || now == 0 || !idle {
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
            "{} does not read {} from {}: Recv-Q {before} -> {now} bytes {}, nothing read",
            who(owner.as_ref()),
            plural(n, "connection", "connections"),
            some_of(&peers, 3),
            cx.over(),
        );
        match (closed, n) {
            (0, _) => {}
            (1, 1) => summary.push_str("; its receive window is closed"),
            (c, _) => {
                let _ = write!(summary, "; {c} with the receive window closed");
            }
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
        f.meaning = "data has arrived and waits in the kernel, and the program has not read any of it during the interval: it is blocked elsewhere, busy, or lost track of the socket; once the buffer fills, the receive window closes and the peer's sends stall".into();
        f.advice = "see what the program is doing (a stack dump, strace -p PID); read every readable socket until EAGAIN, or give the slow work its own thread".into();
        out.push(f);
    }
}
