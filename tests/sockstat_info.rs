//! `nettool sockstat -i` and `-m` against `ss -tin` / `ss -tmn` on the same
//! sockets, in the network lab (tests/lab, shared/LAB.md).
//!
//! Each test builds its own pair of namespaces (A 198.51.100.1, B
//! 198.51.100.2 on a veth), with the kernel's TCP at both ends: a sender
//! and a receiver written here, each on a thread that joined its namespace.
//! nettool and ss run inside A (or B), back to back, on the same sockets.
//! A connection that is still moving changes between two reads, so there
//! the comparison is a bracket: nettool, then ss, then nettool again, and
//! ss's figure must lie between the two nettool ones (counters) or within
//! what they moved (rtt, cwnd). Once the connection is idle (every byte
//! acked, nothing in flight) nothing in its `tcp_info` moves but its ages,
//! and the figures must be equal.

mod lab;
mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::Host;
use util::{nettool, wait_until};

/// What a bulk sender writes: about 1.6 s at 20 Mbit/s.
const BULK: usize = 4_000_000;

/// The rows of `nettool sockstat ARGS --json` inside `host`.
#[track_caller]
fn sockets(host: &Host, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["sockstat"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = host.nettool(&all);
    out.ok();
    assert!(out.stderr.is_empty(), "stderr{out:?}");
    out.json()["sockets"]
        .as_array()
        .unwrap_or_else(|| panic!("no sockets{out:?}"))
        .clone()
}

/// The one TCP row of `host` whose remote end is `peer`, with `-i`/`-m`.
#[track_caller]
fn row_to(host: &Host, flags: &str, peer: SocketAddr) -> Value {
    let dport = peer.port().to_string();
    let rows = sockets(host, &[flags, "--dport", &dport]);
    let mine: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["remote"]["address"] == peer.ip().to_string()
                && r["remote"]["port"] == u64::from(peer.port())
        })
        .collect();
    assert_eq!(mine.len(), 1, "one row to {peer}: {rows:#?}");
    mine[0].clone()
}

/// `ss -tinmH` in `host` for the connection to `peer`: its `key:value`
/// words (`rtt` -> `5.343/0.785`, `skmem` -> `(r0,rb131072,...)`).
#[track_caller]
fn ss_words(host: &Host, flags: &str, peer: SocketAddr) -> Vec<(String, String)> {
    let filter = format!("dst {peer}");
    let out = host.run("ss", &[flags, "-H", &filter]);
    out.ok();
    let text = out.stdout.trim();
    assert!(!text.is_empty(), "ss found no socket{out:?}");
    // The socket's line, then its details on an indented line.
    let details: String = text.lines().skip(1).collect::<Vec<_>>().join(" ");
    assert!(
        text.lines().next().unwrap().split_whitespace().count() >= 4,
        "{out:?}"
    );
    details
        .split_whitespace()
        .map(|w| match w.split_once(':') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (w.to_string(), String::new()),
        })
        .collect()
}

fn word<'a>(words: &'a [(String, String)], key: &str) -> Option<&'a str> {
    words
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What `ss -ti` shows of one connection, in nettool's units. ss leaves
/// out `bytes_acked`, `retrans` and `ssthresh` while they are 0 (or
/// infinite).
#[derive(Debug, Clone, Copy, PartialEq)]
struct SsInfo {
    rtt_us: u64,
    rttvar_us: u64,
    cwnd: u64,
    mss: u64,
    retrans: u64,
    total_retrans: u64,
    bytes_acked: u64,
    ssthresh: Option<u64>,
}

/// ss prints rtt in ms with `%g` (six significant digits): exact to the
/// microsecond below 1000 ms.
fn ms_to_us(ms: &str) -> u64 {
    let v: f64 = ms.parse().unwrap_or_else(|e| panic!("{ms:?}: {e}"));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let us = (v * 1000.0).round() as u64;
    us
}

#[track_caller]
fn ss_info(host: &Host, peer: SocketAddr) -> SsInfo {
    let w = ss_words(host, "-tin", peer);
    let num = |k: &str| word(&w, k).map(|v| v.parse::<u64>().unwrap());
    let (rtt, var) = word(&w, "rtt")
        .and_then(|r| r.split_once('/'))
        .unwrap_or_else(|| panic!("no rtt in {w:?}"));
    let (retrans, total) = word(&w, "retrans").map_or((0, 0), |r| {
        let (a, b) = r.split_once('/').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    });
    SsInfo {
        rtt_us: ms_to_us(rtt),
        rttvar_us: ms_to_us(var),
        cwnd: num("cwnd").unwrap_or_else(|| panic!("no cwnd in {w:?}")),
        mss: num("mss").unwrap_or_else(|| panic!("no mss in {w:?}")),
        retrans,
        total_retrans: total,
        bytes_acked: num("bytes_acked").unwrap_or(0),
        ssthresh: num("ssthresh"),
    }
}

/// The same figures from one of nettool's `tcp_info` objects.
#[track_caller]
fn nettool_info(row: &Value) -> SsInfo {
    let t = &row["tcp_info"];
    let n = |k: &str| {
        t[k].as_u64()
            .unwrap_or_else(|| panic!("tcp_info.{k} missing: {row}"))
    };
    SsInfo {
        rtt_us: n("rtt_us"),
        rttvar_us: n("rttvar_us"),
        cwnd: n("snd_cwnd_segs"),
        mss: n("snd_mss_bytes"),
        retrans: n("retrans_segs"),
        total_retrans: n("total_retrans_segs"),
        bytes_acked: n("bytes_acked"),
        ssthresh: Some(n("snd_ssthresh_segs")).filter(|&s| s < 0xffff),
    }
}

/// A receiver in `host` on port 0: returns its address and a handle that
/// yields how many bytes it read before EOF (or, with `read` false, holds
/// the connection without reading until `release` says so).
fn receiver(host: &Host, read: bool) -> (SocketAddr, mpsc::Sender<()>, thread::JoinHandle<usize>) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let ip = host.ip;
    let h = lab::thread_in(&host.ns, move || {
        let l = TcpListener::bind((ip, 0)).unwrap();
        addr_tx.send(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        if !read {
            let _ = release_rx.recv();
            return 0;
        }
        let mut buf = vec![0; 1 << 16];
        let mut total = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    });
    (addr_rx.recv().unwrap(), release_tx, h)
}

/// A sender in `host` that connects to `to`, writes `bytes` (blocking until
/// the kernel took them all) and then keeps the connection open, idle,
/// until told to close. Returns its local address and the handles.
fn sender(
    host: &Host,
    to: SocketAddr,
    bytes: usize,
) -> (
    SocketAddr,
    mpsc::Receiver<()>,
    mpsc::Sender<()>,
    thread::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (written_tx, written_rx) = mpsc::channel();
    let (close_tx, close_rx) = mpsc::channel::<()>();
    let h = lab::thread_in(&host.ns, move || {
        let mut s = TcpStream::connect(to).unwrap();
        addr_tx.send(s.local_addr().unwrap()).unwrap();
        let chunk = vec![0x5a; 64 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            if s.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n;
        }
        let _ = written_tx.send(());
        let _ = close_rx.recv();
    });
    (addr_rx.recv().unwrap(), written_rx, close_tx, h)
}

/// `tc qdisc add dev IFACE root tbf rate 20mbit burst 32kbit latency 50ms`
/// on `host`'s lab interface: a bottleneck that queues and drops (this
/// kernel has no netem).
fn bottleneck(host: &Host) {
    host.run(
        "tc",
        &[
            "qdisc",
            "add",
            "dev",
            &host.iface,
            "root",
            "tbf",
            "rate",
            "20mbit",
            "burst",
            "32kbit",
            "latency",
            "50ms",
        ],
    )
    .ok();
}

#[test]
fn info_agrees_with_ss_during_and_after_a_bulk_transfer() {
    let Some(lab) = lab::require_with(&["ss", "tc"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    bottleneck(a);
    let (server, _release, got) = receiver(b, true);
    let (_client, written, close, sent) = sender(a, server, BULK);

    // While it runs: nettool, ss, nettool, back to back.
    thread::sleep(Duration::from_millis(400));
    let n1 = nettool_info(&row_to(a, "-tni", server));
    let ss = ss_info(a, server);
    let n2 = nettool_info(&row_to(a, "-tni", server));
    let during = format!("nettool {n1:?}\nss      {ss:?}\nnettool {n2:?}");
    assert!(
        n1.bytes_acked > 0 && n2.bytes_acked < BULK as u64 + 1,
        "{during}"
    );
    // The MSS is the path's: fixed for the connection.
    assert_eq!((ss.mss, n2.mss), (n1.mss, n1.mss), "{during}");
    assert_eq!(n1.mss, 1448, "1500-byte MTU, timestamps on: {during}");
    // Counters only grow: ss read between the two nettool reads.
    for (what, lo, mid, hi) in [
        (
            "bytes_acked",
            n1.bytes_acked,
            ss.bytes_acked,
            n2.bytes_acked,
        ),
        (
            "total_retrans_segs",
            n1.total_retrans,
            ss.total_retrans,
            n2.total_retrans,
        ),
    ] {
        assert!(
            lo <= mid && mid <= hi,
            "{what}: {lo} <= {mid} <= {hi}\n{during}"
        );
    }
    // rtt and cwnd move both ways. Between reads a few milliseconds
    // apart they move by about what they moved from the first nettool
    // read to the second; the kernel's own rttvar bounds how far a
    // smoothed rtt strays, and cwnd changes by a few segments per round
    // trip (the bottleneck's queue is at most 50 ms, a few round trips).
    let within = |v: u64, x: u64, y: u64, slack: u64| {
        let (lo, hi) = (x.min(y), x.max(y));
        let spread = hi - lo + slack;
        lo.saturating_sub(spread) <= v && v <= hi + spread
    };
    let rttvar = n1.rttvar_us.max(n2.rttvar_us).max(ss.rttvar_us);
    assert!(
        within(ss.rtt_us, n1.rtt_us, n2.rtt_us, 2 * rttvar),
        "rtt: {during}"
    );
    assert!(
        within(ss.cwnd, n1.cwnd, n2.cwnd, n1.cwnd.max(n2.cwnd) / 2 + 4),
        "cwnd: {during}"
    );

    // Idle: every byte written and acked. Then nothing moves.
    written
        .recv_timeout(Duration::from_secs(30))
        .expect("the sender wrote everything");
    let idle = wait_until(Duration::from_secs(20), || {
        let t = &row_to(a, "-tni", server)["tcp_info"];
        t["unacked_segs"] == 0 && t["notsent_bytes"] == 0
    });
    assert!(idle, "the connection never went idle");
    let mut last = String::new();
    let stable = wait_until(Duration::from_secs(10), || {
        let n1 = nettool_info(&row_to(a, "-tni", server));
        let ss = ss_info(a, server);
        let n2 = nettool_info(&row_to(a, "-tni", server));
        last = format!("nettool {n1:?}\nss      {ss:?}\nnettool {n2:?}");
        // A late window update may still land between reads: then the
        // two nettool reads differ and the round is read again.
        n1 == n2 && ss == n1
    });
    assert!(stable, "idle connection, nettool and ss differ:\n{last}");
    let t = row_to(a, "-tni", server)["tcp_info"].clone();
    assert_eq!(t["bytes_acked"], BULK as u64 + 1, "the SYN counts: {t}");
    // Every byte went out at least once; what went twice is retransmitted.
    let (bytes_sent, bytes_retrans) = (t["bytes_sent"].as_u64(), t["bytes_retrans"].as_u64());
    assert!(
        bytes_sent >= Some(BULK as u64) && bytes_retrans <= bytes_sent,
        "{t}"
    );
    assert!(!t["congestion"].as_str().unwrap().is_empty(), "{t}");

    // The table's second line says the same, with units.
    let out = a.nettool(&["sockstat", "-tni", "--dport", &server.port().to_string()]);
    out.ok().expect_plain_text();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "header, row, info line{out:?}");
    assert!(lines[1].contains(&server.to_string()), "{out:?}");
    let info = lines[2];
    assert!(info.starts_with("    "), "{out:?}");
    let cong = t["congestion"].as_str().unwrap();
    assert!(info[4..].starts_with(&format!("{cong} ")), "{out:?}");
    for part in [
        format!(" mss {} B ", t["snd_mss_bytes"]),
        format!(" cwnd {} seg ", t["snd_cwnd_segs"]),
        format!(" retrans 0/{} seg ", t["total_retrans_segs"]),
    ] {
        assert!(info.contains(&part), "{part:?} not in{out:?}");
    }

    close.send(()).unwrap();
    sent.join().unwrap();
    assert_eq!(got.join().unwrap(), BULK);
}

#[test]
fn a_receiver_that_does_not_read_makes_rwnd_limited_time_grow() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let (server, release, held) = receiver(b, false);
    // More than the receive buffer and the send buffer hold together: the
    // writer blocks, and the sender sits on a closed window.
    let (_client, _written, close, sent) = sender(a, server, 64 << 20);
    let zero_window = wait_until(Duration::from_secs(10), || {
        row_to(a, "-tni", server)["tcp_info"]["snd_wnd_bytes"] == 0
    });
    assert!(zero_window, "the receiver's window never closed");
    let first = row_to(a, "-tni", server);
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(500));
    let second = row_to(a, "-tni", server);
    let elapsed = t0.elapsed();
    let limited = |r: &Value| r["tcp_info"]["rwnd_limited_us"].as_u64().unwrap();
    let busy = |r: &Value| r["tcp_info"]["busy_time_us"].as_u64().unwrap();
    let grew = limited(&second) - limited(&first);
    // Window-limited the whole time: the clock runs while we wait (less a
    // little for the two runs' own startup), and never faster than time.
    let waited = u64::try_from(elapsed.as_micros()).unwrap();
    assert!(
        grew >= 400_000 && grew <= waited + 200_000,
        "rwnd_limited grew {grew} us in {waited} us:\n{first}\n{second}"
    );
    // All of that busy time is window-limited, none buffer-limited.
    assert!(busy(&second) >= limited(&second), "{second}");
    assert!(
        second["tcp_info"]["bytes_received"] == 0
            && second["tcp_info"]["notsent_bytes"].as_u64().unwrap() > 0,
        "{second}"
    );
    release.send(()).unwrap();
    drop(close);
    drop(held);
    drop(sent);
}

/// `skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0)` as (key, value) pairs.
fn skmem(words: &[(String, String)]) -> Vec<(String, u64)> {
    let v = word(words, "skmem").unwrap_or_else(|| panic!("no skmem in {words:?}"));
    v.trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(|kv| {
            let split = kv.find(|c: char| c.is_ascii_digit()).unwrap();
            (kv[..split].to_string(), kv[split..].parse().unwrap())
        })
        .collect()
}

/// ss's skmem keys and nettool's memory fields, in the kernel's order.
const SKMEM_KEYS: [(&str, &str); 9] = [
    ("r", "rmem_alloc_bytes"),
    ("rb", "rcvbuf_bytes"),
    ("t", "wmem_alloc_bytes"),
    ("tb", "sndbuf_bytes"),
    ("f", "fwd_alloc_bytes"),
    ("w", "wmem_queued_bytes"),
    ("o", "optmem_bytes"),
    ("bl", "backlog_bytes"),
    ("d", "drops"),
];

#[test]
fn memory_agrees_with_ss_on_both_ends_and_on_udp() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let (server, _release, got) = receiver(b, true);
    let (client, written, close, sent) = sender(a, server, 300_000);
    written.recv_timeout(Duration::from_secs(20)).unwrap();
    // A UDP socket in A with two datagrams queued and unread.
    let (udp_tx, udp_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let udp = lab::thread_in(&a.ns, move || {
        let r = UdpSocket::bind((lab::v4(1), 0)).unwrap();
        let s = UdpSocket::bind((lab::v4(1), 0)).unwrap();
        s.send_to(&[1; 1000], r.local_addr().unwrap()).unwrap();
        s.send_to(&[2; 500], r.local_addr().unwrap()).unwrap();
        udp_tx.send(r.local_addr().unwrap()).unwrap();
        let _ = done_rx.recv();
    });
    let udp_addr = udp_rx.recv().unwrap();

    // Each end of the connection in its own namespace, idle once all is
    // acked: the buffers no longer change.
    for (host, peer) in [(a, server), (b, client)] {
        let mut last = String::new();
        let same = wait_until(Duration::from_secs(10), || {
            let n1 = row_to(host, "-tnm", peer)["memory"].clone();
            let ss = skmem(&ss_words(host, "-tmn", peer));
            let n2 = row_to(host, "-tnm", peer)["memory"].clone();
            last = format!("nettool {n1}\nss      {ss:?}\nnettool {n2}");
            n1 == n2
                && ss.len() == SKMEM_KEYS.len()
                && SKMEM_KEYS
                    .iter()
                    .zip(&ss)
                    .all(|((k, field), (sk, sv))| k == sk && n1[*field] == *sv)
        });
        assert!(same, "{} to {peer}:\n{last}", host.ns);
        // The buffer limits at least: exactly the kernel's.
        let m = row_to(host, "-tnm", peer)["memory"].clone();
        assert!(
            m["rcvbuf_bytes"].as_u64().unwrap() > 0 && m["sndbuf_bytes"].as_u64().unwrap() > 0,
            "{m}"
        );
    }

    // UDP: -m covers every inet socket; the queued bytes are there.
    let rows = sockets(a, &["-uanm"]);
    let row = rows
        .iter()
        .find(|r| r["local"]["port"] == u64::from(udp_addr.port()))
        .unwrap_or_else(|| panic!("no {udp_addr}: {rows:#?}"));
    let out = a.run("ss", &["-uamnH", &format!("src {udp_addr}")]);
    out.ok();
    let words: Vec<(String, String)> = out
        .stdout
        .split_whitespace()
        .filter_map(|w| w.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ss = skmem(&words);
    for ((_, field), (key, value)) in SKMEM_KEYS.iter().zip(&ss) {
        assert_eq!(row["memory"][*field], *value, "{key}: {row}{out:?}");
    }
    assert!(
        row["memory"]["rmem_alloc_bytes"].as_u64().unwrap() >= 1500,
        "{row}"
    );
    assert!(
        row.get("tcp_info").is_none(),
        "-m alone adds no tcp_info: {row}"
    );

    done_tx.send(()).unwrap();
    udp.join().unwrap();
    close.send(()).unwrap();
    sent.join().unwrap();
    assert_eq!(got.join().unwrap(), 300_000);
}

#[test]
fn info_and_memory_need_netlink() {
    for (args, mentions) in [
        (
            &["sockstat", "-ti", "--source", "proc"][..],
            "-i/--info needs netlink sock_diag",
        ),
        (
            &["sockstat", "-m", "--source", "proc"],
            "-m/--memory needs netlink sock_diag",
        ),
    ] {
        nettool(args).run().expect_usage_error(mentions);
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("net")).unwrap();
    nettool(&["sockstat", "-tim"])
        .proc_root(root.path())
        .run()
        .expect_usage_error("unset PROC_ROOT");
    let out = nettool(&["sockstat", "-s", "-i"]).run();
    out.expect_code(2);
    assert!(out.stderr.contains("cannot be used with"), "{out:?}");
}
