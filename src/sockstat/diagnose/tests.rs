//! The findings, judged on made-up looks: each fires on its condition and
//! stays quiet on the healthy version of it.

use super::*;
use crate::sockstat::model::{Internals, Timer, TimerKind};
use crate::wire::sock_diag::SkMemInfo;
use crate::wire::tcp_info::{TcpInfo, TcpInfoBytes, field};

pub fn sock(state: TcpState, local: &str, remote: &str) -> Socket {
    Socket {
        proto: Proto::Tcp,
        v6: false,
        local: Endpoint::Inet(local.parse().unwrap()),
        remote: Endpoint::Inet(remote.parse().unwrap()),
        state,
        recv_q: Some(0),
        send_q: Some(0),
        uid: Some(0),
        inode: 100,
        timer: None,
        unix_kind: None,
        peer_inode: None,
        internals: None,
    }
}

/// `tcp_info` with the fields given (offset, little-endian value).
pub fn with_info(
    mut s: Socket,
    set: &[(std::ops::Range<usize>, u64)],
    bytes: &[(usize, u8)],
) -> Socket {
    let mut b = vec![0u8; 240];
    for (r, v) in set {
        let n = r.len();
        b[r.clone()].copy_from_slice(&v.to_ne_bytes()[..n]);
    }
    for &(at, v) in bytes {
        b[at] = v;
    }
    let i = s.internals.get_or_insert_with(Box::default);
    i.tcp_info = Some(TcpInfo::new(TcpInfoBytes::new(&b)));
    s
}

fn seen(cookie: u64, socket: Socket) -> Seen {
    Seen { cookie, socket }
}

fn look(first: Option<Vec<Seen>>, last: Vec<Seen>) -> Look {
    Look {
        first: first.map(|sockets| Reading {
            sockets,
            counters: Counters::default(),
        }),
        last: Reading {
            sockets: last,
            counters: Counters::default(),
        },
        seconds: 1.0,
        sysctls: Sysctls {
            somaxconn: Some(4096),
            ip_local_port_range: Some((40000, 40019)),
            tcp_tw_reuse: Some(2),
            tcp_fin_timeout: Some(60),
            tcp_max_orphans: Some(1000),
            tcp_mem: Some([100, 200, 300]),
            tcp_max_syn_backlog: Some(128),
            tcp_syncookies: Some(1),
            tcp_retries2: Some(15),
        },
        ..Look::default()
    }
}

fn kinds(f: &[Finding]) -> Vec<Kind> {
    f.iter().map(|f| f.kind).collect()
}

fn counters(items: &[(&str, &str, i128)]) -> Counters {
    let mut c = Counters::default();
    for (s, k, v) in items {
        c.insert(s, k, *v);
    }
    c
}

#[test]
fn a_healthy_look_finds_nothing() {
    let listener = sock(TcpState::Listen, "198.51.100.1:80", "0.0.0.0:0");
    let mut l = listener.clone();
    l.send_q = Some(128);
    let est = sock(
        TcpState::Established,
        "198.51.100.1:80",
        "198.51.100.2:40000",
    );
    let tw = sock(TcpState::TimeWait, "198.51.100.1:40001", "198.51.100.2:80");
    let socks = || {
        vec![
            seen(1, l.clone()),
            seen(2, est.clone()),
            seen(3, tw.clone()),
        ]
    };
    let mut lk = look(Some(socks()), socks());
    lk.kernel = [(
        "TCP".to_string(),
        [("orphan".to_string(), 3), ("mem".to_string(), 10)].into(),
    )]
    .into();
    assert_eq!(findings(&lk), vec![]);
}

#[test]
fn close_wait_that_lasts_is_a_leak_named_by_process_and_one_passing_through_is_not() {
    let cw = |port: u16| {
        let s = sock(
            TcpState::CloseWait,
            "198.51.100.1:80",
            &format!("198.51.100.2:{port}"),
        );
        with_info(s, &[(field::LAST_ACK_RECV, 95_000)], &[])
    };
    let mut lk = look(
        Some(vec![seen(1, cw(1)), seen(2, cw(2))]),
        vec![seen(1, cw(1)), seen(2, cw(2)), seen(3, cw(3))],
    );
    lk.owners.insert(100, "812/nginx".into());
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::CloseWaitLeak]);
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].summary
            == "812/nginx holds 2 sockets in CLOSE_WAIT that 198.51.100.2 closed, the oldest for at least 95.0 s",
        "{}",
        f[0].summary
    );
    assert_eq!(f[0].subjects.len(), 2);
    assert!(f[0].advice.contains("close()"));
    assert!(f[0].meaning.contains("EMFILE"));
    // Only in the last reading: passing through, not (yet) a leak.
    let lk = look(Some(vec![]), vec![seen(3, cw(3))]);
    assert_eq!(findings(&lk), vec![]);
    // Still sending after the peer's FIN (a response to a half-closed
    // request): in use, not leaked.
    let sending = |acked: u64| {
        with_info(
            cw(4),
            &[(field::LAST_ACK_RECV, 10), (field::BYTES_ACKED, acked)],
            &[],
        )
    };
    let lk = look(
        Some(vec![seen(4, sending(1000))]),
        vec![seen(4, sending(9000))],
    );
    assert_eq!(findings(&lk), vec![]);
    let lk = look(
        Some(vec![seen(4, sending(9000))]),
        vec![seen(4, sending(9000))],
    );
    assert_eq!(kinds(&findings(&lk)), vec![Kind::CloseWaitLeak]);
    assert!(
        findings(&lk)[0]
            .summary
            .ends_with("that 198.51.100.2 closed, for at least 0.0 s")
    );
}

#[test]
fn time_wait_pressure_is_per_destination_against_the_port_range() {
    let tw = |port: u16, to: &str| sock(TcpState::TimeWait, &format!("198.51.100.1:{port}"), to);
    let mut socks: Vec<Seen> = (0..12)
        .map(|i| seen(i, tw(40000 + u16::try_from(i).unwrap(), "198.51.100.2:80")))
        .collect();
    // Another destination, and a server-side TIME_WAIT (port 80 is not ephemeral).
    socks.push(seen(50, tw(40000, "198.51.100.3:80")));
    socks.push(seen(51, tw(80, "198.51.100.9:40000")));
    let f = findings(&look(None, socks));
    assert_eq!(kinds(&f), vec![Kind::TimeWaitPressure]);
    assert_eq!(
        f[0].summary,
        "12 TIME_WAIT sockets from 198.51.100.1 to 198.51.100.2:80 hold 60% of the 20 ephemeral ports (40000-40019)"
    );
    assert!(f[0].meaning.contains("EADDRNOTAVAIL"));
    assert!(f[0].meaning.contains("closed first"));
    assert!(
        f[0].advice
            .contains("tcp_tw_reuse=1 (now 2: loopback only)")
    );
    let mut socks: Vec<Seen> = (0..19)
        .map(|i| seen(i, tw(40000 + u16::try_from(i).unwrap(), "198.51.100.2:80")))
        .collect();
    let f = findings(&look(None, socks.clone()));
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(!f[0].summary.contains("fails"), "{}", f[0].summary);
    // An open connection takes the last port: connect() fails now, unless
    // tcp_tw_reuse lets it take a TIME_WAIT port.
    let open = sock(
        TcpState::Established,
        "198.51.100.1:40019",
        "198.51.100.2:80",
    );
    socks.push(seen(99, open));
    let mut lk = look(None, socks);
    let f = findings(&lk);
    assert_eq!(
        f[0].summary,
        "19 TIME_WAIT sockets from 198.51.100.1 to 198.51.100.2:80 hold 95% of the 20 ephemeral ports (40000-40019), \
         and 1 open connection to it holds one more: every port is taken, connect() to 198.51.100.2:80 fails with EADDRNOTAVAIL now"
    );
    assert_eq!(
        f[0].evidence
            .0
            .iter()
            .find(|(k, _)| *k == "other_connections"),
        Some(&("other_connections", Figure::Count(1)))
    );
    lk.sysctls.tcp_tw_reuse = Some(1);
    let f = findings(&lk);
    assert!(!f[0].summary.contains("fails"), "{}", f[0].summary);
    assert!(f[0].advice.contains("(now 1: on)"));
}

#[test]
fn a_full_accept_queue_with_overflows_is_critical_and_names_the_listener() {
    let mut l = sock(TcpState::Listen, "198.51.100.1:8080", "0.0.0.0:0");
    l.recv_q = Some(5);
    l.send_q = Some(4);
    let mut lk = look(Some(vec![seen(1, l.clone())]), vec![seen(1, l)]);
    lk.first.as_mut().unwrap().counters = counters(&[
        ("TcpExt", "ListenOverflows", 10),
        ("TcpExt", "ListenDrops", 10),
    ]);
    lk.last.counters = counters(&[
        ("TcpExt", "ListenOverflows", 17),
        ("TcpExt", "ListenDrops", 17),
    ]);
    lk.owners.insert(100, "77/slow".into());
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::AcceptQueueOverflow]);
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(
        f[0].summary,
        "listener 198.51.100.1:8080 (77/slow) has 5 connections waiting for accept() with a backlog of 4; ListenOverflows +7, ListenDrops +7 in 1.0 s"
    );
    assert!(f[0].advice.contains("net.core.somaxconn (now 4096)"));
    // Full, or at the backlog, with nothing arriving: a warning that says
    // which (the kernel queues one past the backlog).
    for (q, end) in [
        (
            5,
            "; it is full: new connections are dropped until the program accept()s",
        ),
        (4, "; one more fits, then new connections are dropped"),
    ] {
        let mut l = sock(TcpState::Listen, "198.51.100.1:8080", "0.0.0.0:0");
        l.recv_q = Some(q);
        l.send_q = Some(4);
        let f = findings(&look(Some(vec![seen(1, l.clone())]), vec![seen(1, l)]));
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].summary.ends_with(end), "{}", f[0].summary);
    }
    // Not full: nothing, even with old overflows since boot.
    let mut l = sock(TcpState::Listen, "198.51.100.1:8080", "0.0.0.0:0");
    l.recv_q = Some(3);
    l.send_q = Some(4);
    let lk = look(Some(vec![seen(1, l.clone())]), vec![seen(1, l)]);
    assert_eq!(findings(&lk), vec![]);
}

#[test]
fn syn_recv_pile_up_and_syncookies() {
    let mut l = sock(TcpState::Listen, "198.51.100.1:80", "0.0.0.0:0");
    l.send_q = Some(16);
    let mut socks = vec![seen(1, l)];
    for i in 0..8u16 {
        let mut r = sock(
            TcpState::SynRecv,
            "198.51.100.1:80",
            &format!("203.0.113.{}:1000", i + 1),
        );
        r.inode = 0;
        socks.push(seen(10 + u64::from(i), r));
    }
    let f = findings(&look(None, socks.clone()));
    assert_eq!(kinds(&f), vec![Kind::SynFlood]);
    assert_eq!(f[0].severity, Severity::Warning);
    assert!(
        f[0].summary
            .contains("8 half-open connections (SYN_RECV) from 8 addresses, backlog 16"),
        "{}",
        f[0].summary
    );
    // Fewer, quietly: nothing; with syncookies: critical, named when
    // the listener's queue is half full (cookies go out while it is full),
    // else not blamed.
    let cookies = |socks: Vec<Seen>| {
        let mut lk = look(Some(socks.clone()), socks);
        lk.last.counters = counters(&[("TcpExt", "SyncookiesSent", 30)]);
        lk.first.as_mut().unwrap().counters = counters(&[("TcpExt", "SyncookiesSent", 0)]);
        findings(&lk)
    };
    let few: Vec<Seen> = socks[..4].to_vec();
    assert_eq!(findings(&look(Some(few.clone()), few.clone())), vec![]);
    let f = cookies(socks[..9].to_vec());
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(
        f[0].summary
            .ends_with("backlog 16; 30 syncookies sent in 1.0 s"),
        "{}",
        f[0].summary
    );
    let f = cookies(few);
    assert_eq!(kinds(&f), vec![Kind::SynFlood]);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(
        f[0].summary,
        "30 syncookies sent in 1.0 s: a listener's SYN queue overflowed (none is near full now)"
    );
    assert!(f[0].subjects.is_empty());
}

#[test]
fn retransmissions_name_the_peer_and_rise_over_the_interval() {
    let c = |total: u64, now: u8, backoff: u8| {
        let s = sock(
            TcpState::Established,
            "198.51.100.1:40000",
            "198.51.100.2:22",
        );
        with_info(
            s,
            &[
                (field::TOTAL_RETRANS, total),
                (field::RTO, 3_200_000),
                (field::LAST_ACK_RECV, 6_400),
            ],
            &[(field::RETRANSMITS, now), (field::BACKOFF, backoff)],
        )
    };
    let mut lk = look(Some(vec![seen(1, c(2, 0, 0))]), vec![seen(1, c(9, 3, 3))]);
    lk.owners.insert(100, "7/ssh".into());
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::Retransmitting]);
    assert_eq!(
        f[0].summary,
        "1 connection to 198.51.100.2 from 7/ssh retransmits: 9 segments sent again (7 in the last 1.0 s), \
         nothing acknowledged for 6.4 s, RTO doubled 3 times to 3.2 s"
    );
    assert!(
        f[0].advice
            .contains("nettool probe --trace 198.51.100.2:22 ")
    );
    // Old retransmissions, none now: healthy.
    let lk = look(Some(vec![seen(1, c(9, 0, 0))]), vec![seen(1, c(9, 0, 0))]);
    assert_eq!(findings(&lk), vec![]);
    // A bulk transfer's fast retransmits: lossy only at 5% of its segments.
    let bulk = |total: u64, segs: u64| {
        let s = sock(
            TcpState::Established,
            "198.51.100.1:40000",
            "198.51.100.2:22",
        );
        with_info(
            s,
            &[
                (field::TOTAL_RETRANS, total),
                (field::DATA_SEGS_OUT, segs),
                (field::RTO, 204_000),
            ],
            &[],
        )
    };
    let lk = look(
        Some(vec![seen(1, bulk(0, 0))]),
        vec![seen(1, bulk(4, 1000))],
    );
    assert_eq!(findings(&lk), vec![]);
    let lk = look(
        Some(vec![seen(1, bulk(0, 0))]),
        vec![seen(1, bulk(10, 100))],
    );
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::Retransmitting]);
    assert_eq!(
        f[0].summary,
        "1 connection to 198.51.100.2 retransmits: 10 segments sent again (10 in the last 1.0 s), RTO 0.2 s"
    );
}

#[test]
fn a_zero_window_with_send_q_stuck_is_a_peer_not_reading_and_the_reader_side_is_local() {
    let mut w = sock(
        TcpState::Established,
        "198.51.100.1:40000",
        "198.51.100.2:9000",
    );
    w.send_q = Some(200_000);
    w.timer = Some(Timer {
        kind: TimerKind::Probe,
        expires_ms: 200,
        retrans: 0,
    });
    // Zero-window probes back the timer off: not a retransmission.
    let w = with_info(
        w,
        &[(field::BYTES_ACKED, 5000), (field::SND_WND, 0)],
        &[(field::BACKOFF, 3)],
    );
    let mut r = sock(
        TcpState::Established,
        "198.51.100.2:9000",
        "198.51.100.1:40000",
    );
    r.inode = 200;
    r.recv_q = Some(100_000);
    let mut r2 = r.clone();
    r2.recv_q = Some(131_072);
    let mut lk = look(
        Some(vec![seen(1, w.clone()), seen(2, r)]),
        vec![seen(1, w), seen(2, r2)],
    );
    lk.owners.insert(200, "9/reader".into());
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::PeerNotReading, Kind::LocalNotReading]);
    assert!(
        f[0].summary
            .starts_with("198.51.100.2 does not read: 1 connection from"),
        "{}",
        f[0].summary
    );
    assert!(
        f[0].summary
            .ends_with("200000 bytes in Send-Q behind a zero window, none acknowledged in 1.0 s; the window probed 3 times")
    );
    assert_eq!(
        f[0].evidence.0.iter().find(|(k, _)| *k == "window_probes"),
        Some(&("window_probes", Figure::Count(3)))
    );
    // Probes that go unanswered, three in a row: the peer may be gone.
    let mut lk2 = lk.clone();
    for r in [lk2.first.as_mut().unwrap(), &mut lk2.last] {
        let w = &mut r.sockets[0].socket;
        *w = with_info(
            w.clone(),
            &[(field::BYTES_ACKED, 5000), (field::SND_WND, 0)],
            &[(field::BACKOFF, 3), (field::PROBES, 3)],
        );
    }
    let g = findings(&lk2);
    assert!(
        g[0].summary
            .ends_with("; the window probed 3 times, the last 3 unanswered: the peer may be gone"),
        "{}",
        g[0].summary
    );
    assert_eq!(
        f[1].summary,
        "9/reader does not read 1 connection from 198.51.100.1: Recv-Q 100000 -> 131072 bytes in 1.0 s, nothing read"
    );
}

#[test]
fn a_reader_that_keeps_up_is_not_local_not_reading_whatever_its_recv_q() {
    // (bytes received, Recv-Q): read = received - Recv-Q.
    let r = |received: u64, q: u32, wnd: u64| {
        let mut s = sock(
            TcpState::Established,
            "198.51.100.2:9000",
            "198.51.100.1:40000",
        );
        s.recv_q = Some(q);
        with_info(
            s,
            &[(field::BYTES_RECEIVED, received), (field::RCV_WND, wnd)],
            &[],
        )
    };
    // A bulk receiver behind by a growing Recv-Q, yet reading: healthy.
    let lk = look(
        Some(vec![seen(1, r(1_000_000, 20_000, 65_535))]),
        vec![seen(1, r(9_000_000, 60_000, 65_535))],
    );
    assert_eq!(findings(&lk), vec![]);
    // The same Recv-Q and nothing read, even as more arrived: not reading.
    let lk = look(
        Some(vec![seen(1, r(1_000_000, 20_000, 65_535))]),
        vec![seen(1, r(1_010_000, 30_000, 0))],
    );
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::LocalNotReading]);
    assert!(
        f[0].summary.ends_with(
            "Recv-Q 20000 -> 30000 bytes in 1.0 s, nothing read; its receive window is closed"
        ),
        "{}",
        f[0].summary
    );
    // Recv-Q shrank to a few bytes but something was read: healthy.
    let lk = look(
        Some(vec![seen(1, r(1_000_000, 20_000, 65_535))]),
        vec![seen(1, r(1_000_000, 100, 65_535))],
    );
    assert_eq!(findings(&lk), vec![]);
}

#[test]
fn udp_drops_rising_name_the_socket() {
    let u = |drops: u32, q: u32| {
        let mut s = sock(TcpState::Close, "198.51.100.1:5353", "0.0.0.0:0");
        s.proto = Proto::Udp;
        s.recv_q = Some(q);
        s.internals = Some(Box::new(Internals {
            memory: Some(SkMemInfo {
                drops: Some(drops),
                rcvbuf: Some(4608),
                ..SkMemInfo::default()
            }),
            ..Internals::default()
        }));
        s
    };
    let mut lk = look(
        Some(vec![seen(1, u(10, 4000))]),
        vec![seen(1, u(510, 4300))],
    );
    lk.owners.insert(100, "5/dnsd".into());
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::UdpDrops]);
    assert_eq!(
        f[0].summary,
        "198.51.100.1:5353 (5/dnsd) dropped 500 datagrams in 1.0 s (Recv-Q 4300 bytes, SO_RCVBUF 4608)"
    );
    let lk = look(Some(vec![seen(1, u(510, 0))]), vec![seen(1, u(510, 0))]);
    assert_eq!(findings(&lk), vec![]);
    // One reading (-s without --interval): the drops may be old, a notice.
    let f = findings(&look(None, vec![seen(1, u(510, 0))]));
    assert_eq!(f[0].severity, Severity::Notice);
    assert!(
        f[0].summary.contains("since it was opened"),
        "{}",
        f[0].summary
    );
}

#[test]
fn a_queue_that_filled_and_drained_without_a_drop_is_not_a_finding() {
    let l = |q: u32| {
        let mut l = sock(TcpState::Listen, "198.51.100.1:8080", "0.0.0.0:0");
        l.recv_q = Some(q);
        l.send_q = Some(4);
        l
    };
    let lk = look(Some(vec![seen(1, l(5))]), vec![seen(1, l(0))]);
    assert_eq!(findings(&lk), vec![]);
    // With drops meanwhile it is one.
    let mut lk = look(Some(vec![seen(1, l(5))]), vec![seen(1, l(0))]);
    lk.first.as_mut().unwrap().counters = counters(&[("TcpExt", "ListenOverflows", 1)]);
    lk.last.counters = counters(&[("TcpExt", "ListenOverflows", 9)]);
    assert_eq!(kinds(&findings(&lk)), vec![Kind::AcceptQueueOverflow]);
}

#[test]
fn fin_wait2_orphans_are_judged_against_how_many_connections_there_are() {
    let orphan = |i: u16| {
        let mut s = sock(
            TcpState::FinWait2,
            &format!("198.51.100.1:{}", 80),
            &format!("198.51.100.2:{}", 40000 + i),
        );
        s.inode = 0;
        seen(u64::from(i), s)
    };
    let mut socks: Vec<Seen> = (0..12).map(orphan).collect();
    assert_eq!(
        kinds(&findings(&look(Some(socks.clone()), socks.clone()))),
        vec![Kind::FinWait2Held]
    );
    // The same 12 among 400 idle connections: a server closing first.
    for i in 0..400u16 {
        socks.push(seen(
            1000 + u64::from(i),
            sock(
                TcpState::Established,
                "198.51.100.1:80",
                &format!("198.51.100.3:{}", 1000 + i),
            ),
        ));
    }
    assert_eq!(findings(&look(Some(socks.clone()), socks)), vec![]);
}

#[test]
fn orphans_and_tcp_memory_are_host_wide_and_reported_once() {
    let mut lk = look(None, vec![]);
    lk.kernel = [(
        "TCP".to_string(),
        [("orphan".to_string(), 950), ("mem".to_string(), 250)].into(),
    )]
    .into();
    lk.netns = Some("a".into());
    lk.metric_netns = Some("net:[11]".into());
    let f = findings(&lk);
    assert_eq!(
        kinds(&f),
        vec![Kind::OrphansNearLimit, Kind::TcpMemoryPressure]
    );
    // The metrics' label goes with the text's, and the JSON has only that.
    assert!(
        f.iter()
            .all(|f| f.metric_netns.as_deref() == Some("net:[11]"))
    );
    let json = serde_json::to_value(&f[0]).unwrap();
    assert_eq!(json["netns"], "a");
    assert!(json.get("metric_netns").is_none(), "{json}");
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[1].severity, Severity::Warning);
    let mut other = lk.clone();
    other.netns = Some("b".into());
    other.metric_netns = Some("net:[12]".into());
    let merged = merge(vec![f, findings(&other)]);
    assert_eq!(merged.len(), 2);
    assert!(
        merged
            .iter()
            .all(|f| f.netns.is_none() && f.metric_netns.is_none())
    );
    // What this namespace holds of them: the orphans by peer, the
    // biggest holder of memory.
    let mut orphan = sock(
        TcpState::FinWait1,
        "198.51.100.2:40000",
        "198.51.100.1:8085",
    );
    orphan.inode = 0;
    let mut holder = sock(
        TcpState::Established,
        "198.51.100.1:8086",
        "198.51.100.2:40001",
    );
    holder.internals = Some(Box::new(Internals {
        memory: Some(SkMemInfo {
            rmem_alloc: Some(500_000),
            ..SkMemInfo::default()
        }),
        ..Internals::default()
    }));
    lk.last.sockets = vec![seen(1, orphan), seen(2, holder)];
    lk.owners.insert(100, "9/hoard".into());
    let f = findings(&lk);
    assert_eq!(
        f[0].summary,
        "950 orphaned TCP sockets, 95% of net.ipv4.tcp_max_orphans (1000); in a: 1 to 198.51.100.1"
    );
    assert_eq!(
        f[1].summary,
        "TCP holds 250 pages of memory; net.ipv4.tcp_mem pressure at 200, limit 300; the most in a: 198.51.100.1:8086 (9/hoard) to 198.51.100.2:40001, 500000 bytes"
    );
}

#[test]
fn fin_wait2_held_by_a_process_and_orphans_only_in_numbers() {
    let f2 = |inode: u64, port: u16| {
        let mut s = sock(
            TcpState::FinWait2,
            &format!("198.51.100.1:{port}"),
            "198.51.100.2:80",
        );
        s.inode = inode;
        s
    };
    let held = vec![seen(1, f2(100, 40000))];
    let f = findings(&look(Some(held.clone()), held));
    assert_eq!(kinds(&f), vec![Kind::FinWait2Held]);
    assert!(
        f[0].summary
            .ends_with("half-closed 1 connection that 198.51.100.2 has not closed"),
        "{}",
        f[0].summary
    );
    // Quiet for 2.5 s; and one still receiving its response: a half-close
    // at work, not held open.
    let timed = |received: u64, quiet: u64| {
        with_info(
            f2(100, 40000),
            &[
                (field::BYTES_RECEIVED, received),
                (field::LAST_ACK_RECV, quiet),
            ],
            &[],
        )
    };
    let lk = look(
        Some(vec![seen(1, timed(500, 1500))]),
        vec![seen(1, timed(500, 2500))],
    );
    let f = findings(&lk);
    assert!(
        f[0].summary
            .ends_with("has not closed; it has waited in FIN_WAIT2 for at least 2.5 s"),
        "{}",
        f[0].summary
    );
    assert!(f[0].meaning.contains("no timer ends it"));
    let lk = look(
        Some(vec![seen(1, timed(500, 0))]),
        vec![seen(1, timed(80_000, 0))],
    );
    assert_eq!(findings(&lk), vec![]);
    let few: Vec<Seen> = (0..3)
        .map(|i| seen(i, f2(0, 40000 + u16::try_from(i).unwrap())))
        .collect();
    assert_eq!(findings(&look(Some(few.clone()), few)), vec![]);
    let many: Vec<Seen> = (0..10)
        .map(|i| seen(i, f2(0, 40000 + u16::try_from(i).unwrap())))
        .collect();
    let f = findings(&look(Some(many.clone()), many));
    assert_eq!(kinds(&f), vec![Kind::FinWait2Held]);
    assert_eq!(
        f[0].summary,
        "10 connections closed here (orphans) wait in FIN_WAIT2 for a FIN that 198.51.100.2 has not sent; \
         the kernel drops each within 60 s of its close"
    );
    assert!(f[0].advice.contains("(now 60 s)"));
}

#[test]
fn most_severe_first_and_the_json_shape() {
    let mut lk = look(None, vec![]);
    lk.kernel = [(
        "TCP".to_string(),
        [("orphan".to_string(), 600), ("mem".to_string(), 350)].into(),
    )]
    .into();
    let f = findings(&lk);
    assert_eq!(
        kinds(&f),
        vec![Kind::TcpMemoryPressure, Kind::OrphansNearLimit]
    );
    let v = serde_json::to_value(&f[1]).unwrap();
    assert_eq!(v["kind"], "orphans_near_limit");
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["evidence"]["orphans"], 600);
    assert_eq!(v["evidence"]["share"], 0.6);
    assert!(v["meaning"].as_str().unwrap().contains("tcp_max_orphans"));
    assert!(v.get("host_wide").is_none());
    let keys: Vec<&String> = v["evidence"].as_object().unwrap().keys().collect();
    assert!(keys.contains(&&"tcp_max_orphans".to_string()));
}

#[test]
fn a_recv_q_larger_than_bytes_received_does_not_panic() {
    // Recv-Q above bytes_received (a TCP_REPAIR queue, or the two read
    // apart): no subtraction below zero, judged from the queues alone.
    let r = |received: u64, q: u32| {
        let mut s = sock(
            TcpState::Established,
            "198.51.100.2:9000",
            "198.51.100.1:40000",
        );
        s.recv_q = Some(q);
        with_info(s, &[(field::BYTES_RECEIVED, received)], &[])
    };
    let lk = look(
        Some(vec![seen(1, r(10, 20_000))]),
        vec![seen(1, r(10, 30_000))],
    );
    assert_eq!(kinds(&findings(&lk)), vec![Kind::LocalNotReading]);
}

#[test]
fn syn_recv_is_blamed_on_the_listener_of_its_address_and_a_reuseport_group_adds_up() {
    // Two programs on port 80: 9/small on 198.51.100.1 (backlog 8) and
    // 10/big on 198.51.100.2 (backlog 512). Nine half-open connections to
    // .2 are not a pile-up on .1's small queue.
    let mut small = sock(TcpState::Listen, "198.51.100.1:80", "0.0.0.0:0");
    small.send_q = Some(8);
    small.inode = 9;
    let mut big = sock(TcpState::Listen, "198.51.100.2:80", "0.0.0.0:0");
    big.send_q = Some(512);
    big.inode = 10;
    let half = |to: &str| -> Vec<Seen> {
        (0..9u16)
            .map(|i| {
                let mut r = sock(TcpState::SynRecv, to, &format!("203.0.113.{}:1000", i + 1));
                r.inode = 0;
                seen(100 + u64::from(i), r)
            })
            .collect()
    };
    let mut lk = look(
        None,
        [
            vec![seen(1, small.clone()), seen(2, big)],
            half("198.51.100.2:80"),
        ]
        .concat(),
    );
    lk.owners = BTreeMap::from([(9, "9/small".into()), (10, "10/big".into())]);
    assert_eq!(findings(&lk), vec![]);
    // To .1 they are, and name .1's program.
    lk.last.sockets = [vec![seen(1, small.clone())], half("198.51.100.1:80")].concat();
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::SynFlood]);
    assert!(
        f[0].summary
            .starts_with("listener 198.51.100.1:80 (9/small) has 9"),
        "{}",
        f[0].summary
    );
    // A SO_REUSEPORT group of four such listeners has a SYN queue of 32:
    // nine is not half of it.
    let group: Vec<Seen> = (0..4).map(|i| seen(1 + i, small.clone())).collect();
    lk.last.sockets = [group, half("198.51.100.1:80")].concat();
    assert_eq!(findings(&lk), vec![]);
    // An IPv4 connection to a dual-stack [::]:80 listener shows as
    // ::ffff:198.51.100.1: the listener is found, its backlog used.
    let mut dual = sock(TcpState::Listen, "[::]:80", "[::]:0");
    dual.send_q = Some(512);
    dual.inode = 10;
    let mapped: Vec<Seen> = half("198.51.100.1:80")
        .into_iter()
        .map(|mut s| {
            s.socket.local = Endpoint::Inet("[::ffff:198.51.100.1]:80".parse().unwrap());
            s
        })
        .collect();
    lk.last.sockets = [vec![seen(1, dual.clone())], mapped.clone()].concat();
    assert_eq!(findings(&lk), vec![]);
    lk.last.sockets = [vec![seen(1, dual), seen(2, small)], mapped].concat();
    // (.1's own listener takes them, not the wildcard.)
    let f = findings(&lk);
    assert_eq!(kinds(&f), vec![Kind::SynFlood]);
    assert!(f[0].summary.contains("(9/small)"), "{}", f[0].summary);
}

#[test]
fn with_all_netns_a_host_wide_finding_keeps_the_namespace_that_holds_it() {
    // The host's namespace (first, nothing of its own) and "b", whose
    // orphans and memory these are: the finding once, naming b's.
    let mut host = look(None, vec![]);
    host.kernel = [(
        "TCP".to_string(),
        [("orphan".to_string(), 950), ("mem".to_string(), 250)].into(),
    )]
    .into();
    host.netns = Some("host".into());
    let mut b = host.clone();
    b.netns = Some("b".into());
    let mut orphan = sock(
        TcpState::FinWait1,
        "198.51.100.2:40000",
        "198.51.100.1:8085",
    );
    orphan.inode = 0;
    let mut holder = sock(
        TcpState::Established,
        "198.51.100.1:8086",
        "198.51.100.2:40001",
    );
    holder.internals = Some(Box::new(Internals {
        memory: Some(SkMemInfo {
            rmem_alloc: Some(500_000),
            ..SkMemInfo::default()
        }),
        ..Internals::default()
    }));
    b.last.sockets = vec![seen(1, orphan.clone()), seen(2, orphan), seen(3, holder)];
    for order in [vec![&host, &b], vec![&b, &host]] {
        let merged = merge(order.into_iter().map(findings).collect());
        assert_eq!(
            kinds(&merged),
            vec![Kind::OrphansNearLimit, Kind::TcpMemoryPressure]
        );
        assert!(merged.iter().all(|f| f.netns.is_none()));
        assert!(
            merged[0].summary.ends_with("; in b: 2 to 198.51.100.1"),
            "{}",
            merged[0].summary
        );
        assert_eq!(merged[0].subjects.len(), 1);
        assert!(
            merged[1]
                .summary
                .contains("; the most in b: 198.51.100.1:8086"),
            "{}",
            merged[1].summary
        );
    }
}

#[test]
fn a_retransmission_timeout_that_began_between_the_readings_is_a_moment() {
    // One of a busy server's connections in its first RTO at the second
    // reading only (a lost segment, recovered a moment later): routine.
    let c = |total: u64, now: u8, backoff: u8, quiet_ms: u64| {
        let s = sock(
            TcpState::Established,
            "198.51.100.1:443",
            "203.0.113.9:50000",
        );
        with_info(
            s,
            &[
                (field::TOTAL_RETRANS, total),
                (field::DATA_SEGS_OUT, 50),
                (field::RTO, 408_000),
                (field::LAST_ACK_RECV, quiet_ms),
            ],
            &[(field::RETRANSMITS, now), (field::BACKOFF, backoff)],
        )
    };
    let lk = look(
        Some(vec![seen(1, c(4, 0, 0, 20))]),
        vec![seen(1, c(5, 1, 1, 300))],
    );
    assert_eq!(findings(&lk), vec![]);
    // Still timing out at both readings: it lasts.
    let lk = look(
        Some(vec![seen(1, c(5, 1, 1, 300))]),
        vec![seen(1, c(6, 2, 2, 1_300))],
    );
    assert_eq!(kinds(&findings(&lk)), vec![Kind::Retransmitting]);
    // From one reading (-s): a timeout with an ACK 0.3 s ago is a moment,
    // one with nothing acknowledged for 1.3 s lasts.
    assert_eq!(
        findings(&look(None, vec![seen(1, c(5, 1, 1, 300))])),
        vec![]
    );
    assert_eq!(
        kinds(&findings(&look(None, vec![seen(1, c(6, 2, 2, 1_300))]))),
        vec![Kind::Retransmitting]
    );
}

#[test]
fn tw_reuse_2_covers_ipv4_mapped_loopback_as_the_kernel_does() {
    // A dual-stack client on ::ffff:127.0.0.1 with every port of the
    // range in TIME_WAIT to the same server: with tcp_tw_reuse=2 the
    // kernel reuses them (a v4-mapped loopback address), connect() works.
    let socks: Vec<Seen> = (0..20u16)
        .map(|i| {
            let mut s = sock(
                TcpState::TimeWait,
                &format!("[::ffff:127.0.0.1]:{}", 40000 + i),
                "[::ffff:127.0.0.1]:8080",
            );
            s.v6 = true;
            seen(u64::from(i), s)
        })
        .collect();
    let mut lk = look(None, socks);
    let f = findings(&lk);
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(!f[0].summary.contains("fails"), "{}", f[0].summary);
    // Without reuse the same is a failing connect().
    lk.sysctls.tcp_tw_reuse = Some(0);
    let f = findings(&lk);
    assert!(
        f[0].summary
            .ends_with("connect() to [::ffff:127.0.0.1]:8080 fails with EADDRNOTAVAIL now"),
        "{}",
        f[0].summary
    );
}

#[test]
fn a_dual_stack_udp_socket_s_rcvbuf_errors_count_ipv4_ones_too() {
    // [::]:53 takes IPv4 queries too; the kernel counts their drops in
    // Udp's RcvbufErrors, not Udp6's.
    let u = |local: &str, drops: u32| {
        let mut s = sock(TcpState::Close, local, "[::]:0");
        s.proto = Proto::Udp;
        s.v6 = true;
        s.internals = Some(Box::new(Internals {
            memory: Some(SkMemInfo {
                drops: Some(drops),
                ..SkMemInfo::default()
            }),
            ..Internals::default()
        }));
        s
    };
    let errors = |local: &str| {
        let mut lk = look(
            Some(vec![seen(1, u(local, 0))]),
            vec![seen(1, u(local, 40))],
        );
        lk.first.as_mut().unwrap().counters =
            counters(&[("Udp", "RcvbufErrors", 0), ("Udp6", "RcvbufErrors", 0)]);
        lk.last.counters = counters(&[("Udp", "RcvbufErrors", 30), ("Udp6", "RcvbufErrors", 10)]);
        let f = findings(&lk);
        assert_eq!(kinds(&f), vec![Kind::UdpDrops]);
        f[0].evidence
            .0
            .iter()
            .find(|(k, _)| *k == "rcvbuf_errors")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(errors("[::]:53"), Some(Figure::Count(40)));
    assert_eq!(errors("[::ffff:198.51.100.1]:53"), Some(Figure::Count(30)));
    assert_eq!(errors("[2001:db8::1]:53"), Some(Figure::Count(10)));
}
