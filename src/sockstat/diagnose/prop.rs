//! Any look, however odd (random states, queues, `tcp_info` of any length,
//! sysctls of any value), gives findings that are whole sentences, at most
//! [`SUBJECTS`] subjects each, most severe first, and serialise: no panic.

use proptest::prelude::*;

use super::*;
use crate::sockstat::model::{Internals, Timer, TimerKind};
use crate::wire::sock_diag::SkMemInfo;
use crate::wire::tcp_info::{TcpInfo, TcpInfoBytes};

fn socket() -> impl Strategy<Value = Seen> {
    (
        (0u64..40, any::<bool>(), 0usize..12, 0u16..6, 0u16..6),
        (
            proptest::option::of(0u32..70_000),
            proptest::option::of(0u32..70_000),
            0u64..4,
            proptest::option::of(0u8..6),
        ),
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
            proptest::option::of((any::<u32>(), any::<u32>(), any::<u32>())),
        ),
    )
        .prop_map(
            |((cookie, udp, st, lp, rp), (rq, sq, inode, timer), (info, mem))| {
                let state = TcpState::ALL[st % TcpState::ALL.len()];
                let local = format!(
                    "198.51.100.1:{}",
                    [80, 0, 40000, 40001, 65535, 22][usize::from(lp)]
                );
                let remote = format!("198.51.100.{}:{}", rp + 2, 1000 + rp);
                let internals = (info.is_some() || mem.is_some()).then(|| {
                    Box::new(Internals {
                        tcp_info: info.map(|b| TcpInfo::new(TcpInfoBytes::new(&b))),
                        congestion: None,
                        memory: mem.map(|(d, r, w)| SkMemInfo {
                            drops: Some(d),
                            rmem_alloc: Some(r),
                            wmem_queued: Some(w),
                            rcvbuf: Some(r / 2),
                            ..SkMemInfo::default()
                        }),
                    })
                });
                Seen {
                    cookie,
                    socket: Socket {
                        proto: if udp { Proto::Udp } else { Proto::Tcp },
                        v6: false,
                        local: Endpoint::Inet(local.parse().unwrap()),
                        remote: Endpoint::Inet(remote.parse().unwrap()),
                        state,
                        recv_q: rq,
                        send_q: sq,
                        uid: None,
                        inode: inode * 100,
                        timer: timer.map(|k| Timer {
                            kind: TimerKind::from_kernel(k),
                            expires_ms: 5,
                            retrans: 1,
                        }),
                        unix_kind: None,
                        peer_inode: None,
                        internals,
                    },
                }
            },
        )
}

fn counters() -> impl Strategy<Value = Counters> {
    proptest::collection::vec((0usize..6, -5i128..1_000_000), 0..6).prop_map(|v| {
        let keys = [
            ("TcpExt", "ListenOverflows"),
            ("TcpExt", "ListenDrops"),
            ("TcpExt", "SyncookiesSent"),
            ("Udp", "RcvbufErrors"),
            ("TcpExt", "TCPMemoryPressures"),
            ("TcpExt", "TCPAbortOnMemory"),
        ];
        let mut c = Counters::default();
        for (k, n) in v {
            c.insert(keys[k].0, keys[k].1, n);
        }
        c
    })
}

fn sysctls() -> impl Strategy<Value = Sysctls> {
    (
        proptest::option::of(any::<u64>()),
        proptest::option::of((any::<u16>(), any::<u16>())),
        proptest::option::of(any::<u64>()),
        proptest::option::of(proptest::array::uniform3(0u64..1000)),
        proptest::option::of(0u64..3),
    )
        .prop_map(|(somaxconn, range, orphans, mem, reuse)| Sysctls {
            somaxconn,
            ip_local_port_range: range.map(|(a, b)| (a.min(b), a.max(b))),
            tcp_max_orphans: orphans,
            tcp_mem: mem,
            tcp_tw_reuse: reuse,
            tcp_max_syn_backlog: somaxconn,
            tcp_syncookies: reuse,
            tcp_fin_timeout: reuse,
            tcp_retries2: reuse,
        })
}

proptest! {
    #[test]
    fn any_look_gives_whole_findings_in_order(
        first in proptest::option::of((proptest::collection::vec(socket(), 0..30), counters())),
        last in proptest::collection::vec(socket(), 0..30),
        last_counters in counters(),
        sysctls in sysctls(),
        orphan in proptest::option::of(any::<u64>()),
        mem in proptest::option::of(any::<u64>()),
        owners in proptest::collection::btree_map(0u64..4, "[a-z\x1b/0-9]{0,8}", 0..4),
    ) {
        let mut tcp = BTreeMap::new();
        if let Some(o) = orphan { tcp.insert("orphan".to_string(), o); }
        if let Some(m) = mem { tcp.insert("mem".to_string(), m); }
        let look = Look {
            first: first.map(|(sockets, counters)| Reading { sockets, counters }),
            last: Reading { sockets: last, counters: last_counters },
            seconds: 0.5,
            kernel: [("TCP".to_string(), tcp)].into(),
            sysctls,
            owners: owners.into_iter().map(|(k, v)| (k * 100, v)).collect(),
            netns: Some("ns".into()),
            metric_netns: Some("net:[1]".into()),
        };
        let f = findings(&look);
        for w in f.windows(2) {
            prop_assert!(w[0].severity <= w[1].severity);
        }
        for x in &f {
            prop_assert!(!x.summary.is_empty() && !x.meaning.is_empty() && !x.advice.is_empty());
            prop_assert!(x.subjects.len() <= SUBJECTS);
            let line = crate::output::diagnose::line(x);
            prop_assert!(!line.contains('\n'), "{line}");
            prop_assert!(serde_json::to_string(x).is_ok());
            prop_assert_eq!(x.metric_netns.as_deref(), Some("net:[1]"));
        }
        let merged = merge(vec![f.clone(), f.clone()]);
        prop_assert!(merged.len() <= 2 * f.len());
    }
}
