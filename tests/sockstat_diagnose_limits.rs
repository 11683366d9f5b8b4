//! `nettool sockstat --diagnose`'s limit findings, each made happen in the
//! network lab (tests/lab, shared/LAB.md) and then found: a listener whose
//! accept queue overflows, a `SYN_RECV` pile-up with syncookies, a UDP
//! socket that drops datagrams, orphans near `net.ipv4.tcp_max_orphans`
//! and TCP memory past `net.ipv4.tcp_mem`'s pressure mark; `-s` showing
//! the findings; `--all-netns` and `-N` naming the right namespace.
//!
//! Each test builds a pair of namespaces (A 198.51.100.1, B 198.51.100.2);
//! the sockets are the test's own, made on threads that joined A or B, and
//! the kernel's TCP and UDP do the rest. nettool runs inside A or B,
//! except for the `--all-netns`/`-N` runs, which only read netlink and
//! /proc from the root namespace (all traffic stays between A and B).
//!
//! The orphan and TCP memory limits are host-wide sysctls: those tests
//! lower one for about a second, just above what the host holds
//! (`tcp_max_orphans` to half again the orphans there are, the test's
//! own included; `tcp_mem`'s pressure mark, never its limit, to halfway
//! through the test's own memory), and a guard puts the old value back
//! even when the test panics; a lock keeps them from running together.

mod lab;
mod util;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;
use socket2::{Domain, SockAddr, Socket, Type};

use lab::Pair;
use util::{Output, nettool, wait_until};

/// How long the tests wait for a condition to build up.
const BUILD_UP: Duration = Duration::from_secs(10);

/// `pid/command` of this test process: how nettool names the owner of the
/// sockets the test made.
fn me() -> String {
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    format!("{}/{}", std::process::id(), comm.trim())
}

/// Whether an owner (`pid/command`, several joined by commas) names this
/// process. Another test's child, between its fork and its exec, holds
/// copies of our sockets for a moment: an owner scan may see it as well.
fn is_mine(process: &Value) -> bool {
    let me = me();
    process
        .as_str()
        .is_some_and(|p| p.split(',').any(|o| o == me))
}

/// `text` with the owner list in parentheses that names this process
/// written `(me)` (see [`is_mine`]).
fn as_mine(text: &str) -> String {
    let me = me();
    let mut out = text.to_string();
    if let Some(at) = text.find(&me) {
        let open = text[..at].rfind('(');
        let close = text[at..].find(')').map(|c| at + c);
        if let (Some(open), Some(close)) = (open, close) {
            let list = &text[open + 1..close];
            if list.split(',').any(|o| o == me) {
                out.replace_range(open..=close, "(me)");
            }
        }
    }
    out
}

/// A thread in a namespace that does `step` every `every` until stopped
/// (or dropped), keeping what `each` makes (open sockets) until then.
struct Hammer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<usize>>,
}

impl Hammer {
    fn start<T: 'static>(
        ns: &str,
        every: Duration,
        mut each: impl FnMut() -> Option<T> + Send + 'static,
    ) -> Hammer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = lab::thread_in(ns, move || {
            let mut kept = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(t) = each() {
                    // Bounded: a slow machine must not pile up sockets.
                    if kept.len() < 2000 {
                        kept.push(t);
                    }
                }
                thread::sleep(every);
            }
            kept.len()
        });
        Hammer {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops it; how many things it kept.
    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Hammer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A non-blocking connect to `to`: one SYN (and the socket, kept open so
/// the kernel does not answer the SYN-ACK with a reset). Closed, it
/// resets: it leaves no orphan to count against the host's limit.
fn syn(to: SocketAddr) -> Option<Socket> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    s.set_linger(Some(Duration::ZERO)).ok()?;
    s.set_nonblocking(true).ok()?;
    let _ = s.connect(&SockAddr::from(to));
    Some(s)
}

/// `nettool sockstat --diagnose --json --interval S ARGS` inside `ns`: the
/// output (exit status 1: something was found) and the findings.
#[track_caller]
fn diagnose_in(ns: &str, interval: &str, args: &[&str]) -> (Output, Vec<Value>) {
    let mut all = vec!["sockstat", "--diagnose", "--json", "--interval", interval];
    all.extend_from_slice(args);
    let out = nettool(&all)
        .in_netns(ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    let findings = findings_of(&out, "nettool.sockstat.diagnosis/1");
    (out, findings)
}

#[track_caller]
fn findings_of(out: &Output, schema: &str) -> Vec<Value> {
    let doc = out.json();
    assert_eq!(doc["schema"], schema, "{out:?}");
    doc["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array{out:?}"))
        .clone()
}

/// The findings of `kind`.
fn of_kind<'a>(findings: &'a [Value], kind: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["kind"] == kind).collect()
}

/// The one finding of `kind` about the socket `local`.
#[track_caller]
fn finding_about<'a>(findings: &'a [Value], kind: &str, local: &str) -> &'a Value {
    let mine: Vec<&Value> = of_kind(findings, kind)
        .into_iter()
        .filter(|f| {
            f["subjects"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["local"] == local))
        })
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one {kind} finding about {local}: {findings:#?}"
    );
    mine[0]
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// `ss ARGS` inside `ns`, its lines.
fn ss(ns: &str, args: &[&str]) -> Vec<String> {
    let out = lab::run_in(ns, "ss", args);
    out.ok();
    out.stdout.lines().map(str::to_string).collect()
}

/// The listener on `port` fills its accept queue and SYNs keep coming: the
/// kernel drops them (`ListenOverflows`, `ListenDrops`). The finding names the
/// listener, its process, the queue against the backlog, and says what to
/// do.
#[test]
fn a_listener_whose_accept_queue_overflows_is_named_with_its_process() {
    let Some(lab) = lab::require() else { return };
    let Pair { net: _net, a, b } = lab.pair();
    let addr = SocketAddr::from((a.ip, 8080));
    // Never accept()ed: 4 + 1 connections fill the queue.
    let _listener = lab::listener_in(&a.ns, addr, 4);
    let hammer = Hammer::start(&b.ns, Duration::from_millis(10), move || syn(addr));
    assert!(
        wait_until(BUILD_UP, || ss(&a.ns, &["-ltnH", "sport = :8080"])
            .first()
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("5"))),
        "the accept queue did not fill: {:?}",
        ss(&a.ns, &["-ltnH"])
    );

    let (out, findings) = diagnose_in(&a.ns, "0.5", &[]);
    out.expect_code(1);
    let f = finding_about(&findings, "accept_queue_overflow", "198.51.100.1:8080");
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert!(is_mine(&f["subjects"][0]["process"]), "{f:#}");
    let e = &f["evidence"];
    assert_eq!(n(&e["backlog"]), 4, "{f:#}");
    assert_eq!(n(&e["accept_queue"]), 5, "{f:#}");
    // Every SYN of the interval was dropped: B sent one every 10 ms.
    assert!(n(&e["listen_overflows"]) >= 5, "{f:#}");
    assert!(n(&e["listen_drops"]) >= n(&e["listen_overflows"]), "{f:#}");
    let somaxconn = lab::run_in(&a.ns, "cat", &["/proc/sys/net/core/somaxconn"]);
    assert_eq!(e["somaxconn"].to_string(), somaxconn.stdout.trim(), "{f:#}");

    // The line a person reads.
    let line = text_line(&a.ns, "accept queue overflow");
    let want = "critical accept queue overflow: listener 198.51.100.1:8080 (me) has 5 connections waiting for accept() with a backlog of 4; ListenOverflows +";
    assert!(as_mine(&line).starts_with(want), "{line}\nwant: {want}");
    for words in [
        "does not accept() fast enough",
        "listen(fd, N)",
        &format!("net.core.somaxconn (now {})", somaxconn.stdout.trim()),
    ] {
        assert!(line.contains(words), "{words:?} in {line}");
    }
    assert!(hammer.stop() > 10);
}

/// The server's namespace drops the client's final ACK of each handshake:
/// its connections stay half-open (`SYN_RECV`) until the SYN queue (the
/// listen backlog, 8) is full, and from then on the kernel answers with
/// syncookies.
#[test]
fn half_open_connections_and_syncookies_are_a_syn_recv_pile_up() {
    let Some(lab) = lab::require_with(&["nft"]) else {
        return;
    };
    let Pair { net: _net, a, b } = lab.pair();
    let addr = SocketAddr::from((a.ip, 8081));
    let _listener = lab::listener_in(&a.ns, addr, 8);
    lab::nft(
        &a.ns,
        "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  \
         tcp dport 8081 tcp flags & (syn | ack) == ack drop\n }\n}\n",
    );
    lab::sysctl(&a.ns, "net.ipv4.tcp_syncookies", "1");
    let hammer = Hammer::start(&b.ns, Duration::from_millis(10), move || syn(addr));
    assert!(
        wait_until(BUILD_UP, || ss(&a.ns, &["-tnH", "state", "syn-recv"]).len()
            >= 8),
        "no SYN_RECV pile-up: {:?}",
        ss(&a.ns, &["-tanH"])
    );

    let (out, findings) = diagnose_in(&a.ns, "0.5", &[]);
    out.expect_code(1);
    let f = finding_about(&findings, "syn_flood", "198.51.100.1:8081");
    assert_eq!(f["severity"], "critical", "{f:#}");
    let s = &f["subjects"][0];
    assert!(is_mine(&s["process"]), "{f:#}");
    assert_eq!(s["peer"], "198.51.100.2", "{f:#}");
    let e = &f["evidence"];
    // The SYN queue holds as many as the backlog; ss counts them too.
    assert_eq!(n(&e["backlog"]), 8, "{f:#}");
    // (Under a load that slows the test for seconds, the kernel may have
    // given up on the oldest, and queued new ones; and the kernel may let
    // one past the backlog in.)
    assert!((4..=9).contains(&n(&e["syn_recv"])), "{f:#}");
    assert_eq!(n(&e["addresses"]), 1, "{f:#}");
    assert!(n(&e["syncookies_sent"]) >= 5, "{f:#}");
    assert_eq!(n(&e["tcp_syncookies"]), 1, "{f:#}");
    let max = lab::run_in(&a.ns, "cat", &["/proc/sys/net/ipv4/tcp_max_syn_backlog"]);
    assert_eq!(
        e["tcp_max_syn_backlog"].to_string(),
        max.stdout.trim(),
        "{f:#}"
    );
    let summary = f["summary"].as_str().unwrap();
    assert!(
        as_mine(summary).starts_with(&format!(
            "listener 198.51.100.1:8081 (me) has {} half-open connections (SYN_RECV) from 1 address, backlog 8; ",
            e["syn_recv"]
        )),
        "{summary}"
    );
    assert!(summary.contains("syncookies sent in 0."), "{summary}");
    let line = text_line(&a.ns, "SYN_RECV pile-up");
    assert!(
        line.starts_with("critical SYN_RECV pile-up: listener 198.51.100.1:8081 ("),
        "{line}"
    );
    assert!(line.contains("raise the listen() backlog"), "{line}");
    assert!(hammer.stop() > 10);
}

/// A UDP socket with a small receive buffer that is never read, and
/// datagrams arriving all the time: the kernel drops them and counts the
/// drops on the socket (`ss -uam`'s `d`).
#[test]
fn a_udp_socket_that_is_not_read_drops_datagrams_and_is_named() {
    udp_drops_are_named(false);
}

/// The same over IPv6: the namespace's counter is `Udp6`'s.
#[test]
fn a_udp6_socket_that_is_not_read_drops_datagrams_and_is_named() {
    udp_drops_are_named(true);
}

fn udp_drops_are_named(v6: bool) {
    let Some(lab) = lab::require() else { return };
    let Pair { net: _net, a, b } = if v6 { lab.pair_v6() } else { lab.pair() };
    let at = if v6 {
        SocketAddr::from((a.ip6.unwrap(), 9999))
    } else {
        SocketAddr::from((a.ip, 9999))
    };
    let local = at.to_string();
    let (_sink, to) = udp_sink(&a.ns, at);
    let blaster = udp_blaster(&b.ns, to);
    assert!(
        wait_until(BUILD_UP, || skmem_drops(&a.ns, 9999) > 0),
        "no drops: {:?}",
        ss(&a.ns, &["-uamnH"])
    );

    let (out, findings) = diagnose_in(&a.ns, "0.5", &[]);
    out.expect_code(1);
    let after = skmem_drops(&a.ns, 9999);
    let f = finding_about(&findings, "udp_drops", &local);
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert!(is_mine(&f["subjects"][0]["process"]), "{f:#}");
    let e = &f["evidence"];
    // A datagram every 2 ms, all of them dropped.
    assert!(n(&e["drops"]) >= 10, "{f:#}");
    assert!(n(&e["drops"]) <= n(&e["drops_total"]), "{f:#}");
    assert!(n(&e["drops_total"]) <= after, "ss saw {after}: {f:#}");
    assert_eq!(n(&e["rcvbuf"]), skmem(&a.ns, 9999, "rb"), "{f:#}");
    assert!(n(&e["recv_q"]) > 0, "{f:#}");
    // The namespace's counter, read just before the sockets each time.
    assert!(n(&e["rcvbuf_errors"]) * 2 >= n(&e["drops"]), "{f:#}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        as_mine(summary).starts_with(&format!(
            "{local} (me) dropped {} datagrams in 0.",
            e["drops"]
        )),
        "{summary}"
    );
    let line = text_line(&a.ns, "UDP receive drops");
    assert!(
        line.starts_with(&format!("warning  UDP receive drops: {local} (")),
        "{line}"
    );
    assert!(line.contains(" bytes, SO_RCVBUF "), "{line}");
    drop(blaster);
}

/// `-s` judges as `--diagnose` does: the findings are in its text (a
/// section of their own) and in its JSON.
#[test]
fn summary_shows_the_findings() {
    let Some(lab) = lab::require() else { return };
    let Pair { net: _net, a, b } = lab.pair();
    let (_sink, to) = udp_sink(&a.ns, SocketAddr::from((a.ip, 9999)));
    let _blaster = udp_blaster(&b.ns, to);
    assert!(wait_until(BUILD_UP, || skmem_drops(&a.ns, 9999) > 0));

    let out = nettool(&["sockstat", "-s", "--interval", "0.3", "--json"])
        .in_netns(&a.ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    out.ok();
    let findings = findings_of(&out, "nettool.sockstat.summary/1");
    let f = finding_about(&findings, "udp_drops", "198.51.100.1:9999");
    assert!(n(&f["evidence"]["drops"]) > 0, "{f:#}");

    let out = nettool(&["sockstat", "-s", "--interval", "0.3"])
        .in_netns(&a.ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    out.ok();
    let section = out
        .stdout
        .split("\nFindings (as --diagnose)\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no findings section{out:?}"));
    let want = "  warning  UDP receive drops: 198.51.100.1:9999 (me) dropped ";
    assert!(
        section.lines().any(|l| as_mine(l).starts_with(want)),
        "{want:?} in{out:?}"
    );
}

/// A UDP socket at `addr` in `ns` with the smallest receive buffer, never
/// read; and the address it is bound to.
fn udp_sink(ns: &str, addr: SocketAddr) -> (UdpSocket, SocketAddr) {
    let sock = lab::thread_in(ns, move || {
        let s = Socket::new(Domain::for_address(addr), Type::DGRAM, None).unwrap();
        s.set_recv_buffer_size(1).unwrap();
        s.bind(&addr.into()).unwrap();
        UdpSocket::from(s)
    })
    .join()
    .unwrap();
    (sock, addr)
}

/// 200-byte datagrams to `to` from `ns`, one every 2 ms, until dropped.
fn udp_blaster(ns: &str, to: SocketAddr) -> Hammer {
    let mut sock = None;
    Hammer::start(ns, Duration::from_millis(2), move || {
        let any = if to.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" };
        let s = sock.get_or_insert_with(|| UdpSocket::bind(any).unwrap());
        let _ = s.send_to(&[0x5a; 200], to);
        None::<()>
    })
}

/// `ss -uamn`'s skmem figure `key` (`d` drops, `rb` buffer) of the UDP
/// socket on `port` in `ns`.
#[track_caller]
fn skmem(ns: &str, port: u16, key: &str) -> u64 {
    let filter = format!("sport = :{port}");
    let lines = ss(ns, &["-uamnH", &filter]);
    let text = lines.join(" ");
    let inner = text
        .split("skmem:(")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no skmem in {text:?}"));
    inner
        .split(',')
        .find_map(|w| {
            w.strip_prefix(key)
                .filter(|v| v.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or_else(|| panic!("no {key} in {inner:?}"))
}

fn skmem_drops(ns: &str, port: u16) -> u64 {
    skmem(ns, port, "d")
}

/// The text line of `--diagnose` inside `ns` that has `title`.
#[track_caller]
fn text_line(ns: &str, title: &str) -> String {
    let out = nettool(&["sockstat", "--diagnose", "--interval", "0.3"])
        .in_netns(ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    out.expect_code(1);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!(" {title}: ")))
        .unwrap_or_else(|| panic!("no {title} line{out:?}"))
        .to_string();
    if std::env::var_os("SHOW_LINES").is_some() {
        eprintln!("{line}");
    }
    line
}

/// `--all-netns` from the root namespace: A holds a listener whose accept
/// queue is full, B the healthy client ends. The finding is A's and names
/// it; B has none. `-N A` sees A's alone, `-N B` nothing.
#[test]
fn all_netns_names_the_namespace_and_n_sees_only_its_own() {
    let Some(lab) = lab::require() else { return };
    let Pair { net: _net, a, b } = lab.pair();
    let addr = SocketAddr::from((a.ip, 8082));
    let _listener = lab::listener_in(&a.ns, addr, 2);
    // Three handshakes fill a backlog of 2; nothing more arrives.
    let clients: Vec<TcpStream> = lab::thread_in(&b.ns, move || {
        (0..3)
            .map(|_| {
                let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
                // No orphans when they close (see `syn`).
                socket2::SockRef::from(&c)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
                c
            })
            .collect()
    })
    .join()
    .unwrap();
    assert!(wait_until(BUILD_UP, || ss(
        &a.ns,
        &["-ltnH", "sport = :8082"]
    )
    .first()
    .is_some_and(|l| l.split_whitespace().nth(1) == Some("3"))));

    let out = nettool(&[
        "sockstat",
        "--diagnose",
        "--json",
        "--interval",
        "0.2",
        "--all-netns",
    ])
    .timeout(lab::DEFAULT_TIMEOUT)
    .run();
    out.expect_code(1);
    let findings = findings_of(&out, "nettool.sockstat.diagnosis/1");
    let in_ns =
        |ns: &str| -> Vec<&Value> { findings.iter().filter(|f| f["netns"] == ns).collect() };
    let mine = in_ns(&a.ns);
    assert_eq!(mine.len(), 1, "{mine:#?}");
    let f = mine[0];
    assert_eq!(f["kind"], "accept_queue_overflow", "{f:#}");
    // Nothing arrived during the interval: a full queue, no drops yet.
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(f["subjects"][0]["local"], "198.51.100.1:8082", "{f:#}");
    assert!(is_mine(&f["subjects"][0]["process"]), "{f:#}");
    assert_eq!(n(&f["evidence"]["accept_queue"]), 3, "{f:#}");
    assert_eq!(n(&f["evidence"]["backlog"]), 2, "{f:#}");
    assert!(in_ns(&b.ns).is_empty(), "{findings:#?}");
    // Host-wide findings have no namespace, and come once.
    for kind in ["orphans_near_limit", "tcp_memory_pressure"] {
        let all = of_kind(&findings, kind);
        assert!(all.len() <= 1, "{all:#?}");
        assert!(all.iter().all(|f| f.get("netns").is_none()), "{all:#?}");
    }
    // The text line starts with the namespace.
    let out = nettool(&["sockstat", "--diagnose", "--interval", "0.2", "-N", &a.ns])
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    out.expect_code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{out:?}");
    let want = format!(
        "warning  [{}] accept queue overflow: listener 198.51.100.1:8082 (me) has 3 connections waiting for accept() with a backlog of 2; it is full: new connections are dropped until the program accept()s - the program does not accept() fast enough: ",
        a.ns,
    );
    assert!(
        as_mine(lines[0]).starts_with(&want),
        "{}\nwant: {want}",
        lines[0]
    );

    let out = nettool(&["sockstat", "--diagnose", "--interval", "0.2", "-N", &b.ns])
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    out.expect_code(0);
    assert!(out.stdout.starts_with("nothing wrong found: "), "{out:?}");
    // B's three connections, and A's listener not looked at.
    assert!(
        out.stdout
            .contains(" 3 TCP and UDP sockets in 1 namespace "),
        "{out:?}"
    );
    drop(clients);
}

/// The host-wide tests, one at a time.
static HOST_WIDE: Mutex<()> = Mutex::new(());

fn host_wide() -> MutexGuard<'static, ()> {
    HOST_WIDE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A host-wide sysctl (`/proc/sys/net/ipv4/NAME`, written from the root
/// namespace) set for the life of the guard; the old value comes back on
/// drop, a panic included.
struct HostSysctl {
    path: PathBuf,
    old: String,
}

impl HostSysctl {
    fn set(name: &str, value: &str) -> HostSysctl {
        let path = PathBuf::from("/proc/sys/net/ipv4").join(name);
        let old = std::fs::read_to_string(&path).unwrap();
        let guard = HostSysctl { path, old };
        std::fs::write(&guard.path, value)
            .unwrap_or_else(|e| panic!("{}: {e}", guard.path.display()));
        guard
    }
}

impl Drop for HostSysctl {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.path, &self.old) {
            eprintln!(
                "could not put {} back to {:?}: {e}",
                self.path.display(),
                self.old.trim()
            );
        }
    }
}

/// `/proc/net/sockstat`'s `TCP` figure `key` (`orphan`, `mem`): the host's.
fn host_tcp(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/net/sockstat").unwrap();
    let line = text.lines().find(|l| l.starts_with("TCP:")).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| *w == key).unwrap();
    words[at + 1].parse().unwrap()
}

/// Buffer sizes for [`stalled_connections`]: A's `SO_RCVBUF`, B's
/// `SO_SNDBUF` (0: the kernel's own).
struct Buffers {
    rcv: usize,
    snd: usize,
}

/// `count` connections from B to a listener on `port` in A, accepted
/// there and never read, B having written `write` bytes or what fits.
/// Returns A's ends and B's.
fn stalled_connections(
    pair: &Pair,
    port: u16,
    count: usize,
    buf: &Buffers,
    write: usize,
) -> (Vec<TcpStream>, Vec<TcpStream>) {
    let addr = SocketAddr::from((pair.a.ip, port));
    let (rcv, snd) = (buf.rcv, buf.snd);
    let listener = lab::thread_in(&pair.a.ns, move || {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        if rcv > 0 {
            s.set_recv_buffer_size(rcv).unwrap();
        }
        s.bind(&addr.into()).unwrap();
        s.listen(128).unwrap();
        TcpListener::from(s)
    })
    .join()
    .unwrap();
    let clients = lab::thread_in(&pair.b.ns, move || {
        let socks: Vec<Socket> = (0..count)
            .map(|_| {
                let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                if snd > 0 {
                    s.set_send_buffer_size(snd).unwrap();
                }
                s.connect_timeout(&addr.into(), Duration::from_secs(5))
                    .unwrap();
                s.set_nonblocking(true).unwrap();
                s
            })
            .collect();
        // Round after round, until each has written `write`, or none has
        // moved for 100 ms (the peers' windows closed, our buffers full).
        let chunk = [0x5au8; 16384];
        let mut sent = vec![0usize; count];
        let mut progress = Instant::now();
        while progress.elapsed() < Duration::from_millis(100) && sent.iter().any(|&n| n < write) {
            for (s, n) in socks.iter().zip(&mut sent) {
                while *n < write {
                    match s.send(&chunk[..chunk.len().min(write - *n)]) {
                        Ok(k) => {
                            *n += k;
                            progress = Instant::now();
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => panic!("send: {e}"),
                    }
                }
            }
            thread::sleep(Duration::from_millis(5));
        }
        socks.into_iter().map(TcpStream::from).collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    let servers = (0..count).map(|_| listener.accept().unwrap().0).collect();
    (servers, clients)
}

/// B closes connections that still have data the peer does not read:
/// each becomes an orphan in `FIN_WAIT1`, which the kernel keeps sending
/// (probing a zero window). With `tcp_max_orphans` lowered to half again
/// the host's orphans, they are past half the limit; `--all-netns` says
/// so once, not once per namespace.
#[test]
fn orphans_near_tcp_max_orphans_name_their_peer() {
    const ORPHANS: usize = 40;
    let Some(lab) = lab::require() else { return };
    let _one = host_wide();
    let pair = lab.pair();
    let (_servers, clients) = stalled_connections(
        &pair,
        8085,
        ORPHANS,
        &Buffers {
            rcv: 4096,
            snd: 4096,
        },
        1 << 20,
    );
    let before = host_tcp("orphan");
    drop(clients);
    let fin_wait1 = || ss(&pair.b.ns, &["-tnH", "state", "fin-wait-1"]).len();
    assert!(
        wait_until(BUILD_UP, || fin_wait1() == ORPHANS),
        "no orphans: {:?}",
        ss(&pair.b.ns, &["-tanH"])
    );
    let orphans = host_tcp("orphan");
    assert!(
        orphans >= before + ORPHANS as u64 / 2,
        "{before} -> {orphans}"
    );
    // Half again as many as the host has: a warning (past half), with
    // room for the host's own closing connections while it lasts.
    let max = (orphans * 3 / 2).max(orphans + 10);
    let limit = HostSysctl::set("tcp_max_orphans", &max.to_string());

    let (out, findings) = diagnose_in(&pair.b.ns, "0.2", &[]);
    let line = text_line(&pair.b.ns, "orphans near the limit");
    // Every namespace sees the host's orphans and limit: from the root
    // namespace over all of them (reading only), the finding comes once.
    let all = nettool(&[
        "sockstat",
        "--diagnose",
        "--json",
        "--interval",
        "0.1",
        "--all-netns",
    ])
    .timeout(lab::DEFAULT_TIMEOUT)
    .run();
    drop(limit);
    all.expect_code(1);
    let everywhere = findings_of(&all, "nettool.sockstat.diagnosis/1");
    let once = of_kind(&everywhere, "orphans_near_limit");
    assert_eq!(once.len(), 1, "{once:#?}");
    assert!(once[0].get("netns").is_none(), "{:#}", once[0]);
    out.expect_code(1);
    let f = of_kind(&findings, "orphans_near_limit");
    assert_eq!(f.len(), 1, "{findings:#?}");
    let f = f[0];
    assert!(
        f["severity"] == "warning" || f["severity"] == "critical",
        "{f:#}"
    );
    let e = &f["evidence"];
    assert_eq!(n(&e["tcp_max_orphans"]), max, "{f:#}");
    assert!(n(&e["orphans"]) >= ORPHANS as u64, "{f:#}");
    // B's own orphans, by the peer they are stuck on.
    let s = &f["subjects"][0];
    assert_eq!(s["peer"], "198.51.100.1", "{f:#}");
    assert_eq!(n(&s["evidence"]["orphans"]), ORPHANS as u64, "{f:#}");
    assert!(s.get("process").is_none(), "{f:#}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("{} orphaned TCP sockets, ", e["orphans"]))
            && summary.ends_with(&format!(
                "% of net.ipv4.tcp_max_orphans ({max}); here: {ORPHANS} to 198.51.100.1"
            )),
        "{summary}"
    );
    assert!(line.contains(" orphans near the limit: "), "{line}");
}

/// A's program accepts connections and never reads them, and B has
/// written what fits: A's receive buffers hold the data, in TCP's
/// host-wide memory. With `tcp_mem`'s pressure mark lowered to halfway
/// between what TCP held before and after (its limit left as it was), TCP
/// is under pressure, and the biggest holders are A's sockets.
#[test]
fn tcp_memory_past_the_pressure_mark_names_the_holders() {
    const CONNECTIONS: usize = 16;
    const WRITE: usize = 512 * 1024;
    let Some(lab) = lab::require() else { return };
    let _one = host_wide();
    let pair = lab.pair();
    let before = host_tcp("mem");
    let (_servers, _clients) = stalled_connections(
        &pair,
        8086,
        CONNECTIONS,
        &Buffers {
            rcv: 1 << 20,
            snd: 0,
        },
        WRITE,
    );
    let after = host_tcp("mem");
    // 16 x 512 KiB is 2048 pages and more; the kernel counts in steps of
    // 256 pages per CPU.
    assert!(
        after >= before + 1024,
        "TCP memory {before} -> {after} pages"
    );
    let old: Vec<u64> = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_mem")
        .unwrap()
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    let pressure = before + (after - before) / 2;
    let mem = format!("{} {pressure} {}", old[0].min(pressure), old[2]);
    let lowered = HostSysctl::set("tcp_mem", &mem);

    let (out, findings) = diagnose_in(&pair.a.ns, "0.2", &[]);
    let line = text_line(&pair.a.ns, "TCP memory pressure");
    drop(lowered);
    out.expect_code(1);
    let f = of_kind(&findings, "tcp_memory_pressure");
    assert_eq!(f.len(), 1, "{findings:#?}");
    let f = f[0];
    assert_eq!(f["severity"], "warning", "{f:#}");
    let e = &f["evidence"];
    assert_eq!(n(&e["pressure_pages"]), pressure, "{f:#}");
    assert_eq!(n(&e["limit_pages"]), old[2], "{f:#}");
    assert!(n(&e["pages"]) >= pressure, "{f:#}");
    let holders = f["subjects"].as_array().unwrap();
    assert_eq!(holders.len(), 5, "the five biggest: {f:#}");
    for h in holders {
        assert!(is_mine(&h["process"]), "{f:#}");
        assert_eq!(h["local"], "198.51.100.1:8086", "{f:#}");
        assert!(n(&h["evidence"]["bytes"]) >= WRITE as u64 / 2, "{f:#}");
    }
    assert!(
        line.starts_with(&format!(
            "warning  TCP memory pressure: TCP holds {} pages of memory; net.ipv4.tcp_mem pressure at {pressure}, limit {}",
            e["pages"], old[2]
        )) || line.starts_with("warning  TCP memory pressure: TCP holds "),
        "{line}"
    );
}

/// `--all-netns` over B's forty orphans (as in
/// [`orphans_near_tcp_max_orphans_name_their_peer`]): the host-wide
/// finding comes once, and from the namespace that holds the most of
/// them, naming it and their peer (not the host namespace's copy, which
/// comes first and holds none of them).
#[test]
fn all_netns_names_the_namespace_that_holds_the_orphans() {
    const ORPHANS: usize = 40;
    let Some(lab) = lab::require() else { return };
    let _one = host_wide();
    let pair = lab.pair();
    let (_servers, clients) = stalled_connections(
        &pair,
        8087,
        ORPHANS,
        &Buffers {
            rcv: 4096,
            snd: 4096,
        },
        1 << 20,
    );
    drop(clients);
    let fin_wait1 = || ss(&pair.b.ns, &["-tnH", "state", "fin-wait-1"]).len();
    assert!(
        wait_until(BUILD_UP, || fin_wait1() == ORPHANS),
        "no orphans: {:?}",
        ss(&pair.b.ns, &["-tanH"])
    );
    let orphans = host_tcp("orphan");
    let max = (orphans * 3 / 2).max(orphans + 10);
    let limit = HostSysctl::set("tcp_max_orphans", &max.to_string());
    let all = nettool(&[
        "sockstat",
        "--diagnose",
        "--json",
        "--interval",
        "0.1",
        "--all-netns",
    ])
    .timeout(lab::DEFAULT_TIMEOUT)
    .run();
    drop(limit);
    all.expect_code(1);
    let everywhere = findings_of(&all, "nettool.sockstat.diagnosis/1");
    let once = of_kind(&everywhere, "orphans_near_limit");
    assert_eq!(once.len(), 1, "{once:#?}");
    let f = once[0];
    assert!(f.get("netns").is_none(), "{f:#}");
    // The namespace listed holds at least B's (another on the host may
    // hold more, and is then the one named).
    let held: u64 = f["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| n(&s["evidence"]["orphans"]))
        .sum();
    assert!(held >= ORPHANS as u64, "{f:#}");
    let summary = f["summary"].as_str().unwrap();
    assert!(!summary.contains("; here: "), "{summary}");
    if summary.contains(&format!("; in {}: ", pair.b.ns)) {
        assert!(
            summary.ends_with(&format!("; in {}: {ORPHANS} to 198.51.100.1", pair.b.ns)),
            "{summary}"
        );
        assert_eq!(f["subjects"][0]["peer"], "198.51.100.1", "{f:#}");
    }
}

/// `-s` judges the live kernel's sockets only when it reads them: with
/// `--source proc` or a `PROC_ROOT` tree it shows no finding about a
/// socket of the live kernel (here A's listener, its accept queue full),
/// which the tables it lists do not have.
#[test]
fn summary_of_proc_tables_has_no_findings_from_the_live_sockets() {
    let Some(lab) = lab::require() else { return };
    let Pair { net: _net, a, b } = lab.pair();
    let addr = SocketAddr::from((a.ip, 8088));
    let _listener = lab::listener_in(&a.ns, addr, 2);
    let clients: Vec<TcpStream> = lab::thread_in(&b.ns, move || {
        (0..3)
            .map(|_| {
                let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
                socket2::SockRef::from(&c)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
                c
            })
            .collect()
    })
    .join()
    .unwrap();
    assert!(wait_until(BUILD_UP, || ss(
        &a.ns,
        &["-ltnH", "sport = :8088"]
    )
    .first()
    .is_some_and(|l| l.split_whitespace().nth(1) == Some("3"))));
    let about_it = |out: &Output| {
        findings_of(out, "nettool.sockstat.summary/1")
            .iter()
            .filter(|f| f["kind"] == "accept_queue_overflow")
            .count()
    };
    // From netlink: found.
    let live = nettool(&["sockstat", "-s", "--json"])
        .in_netns(&a.ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    live.ok();
    assert_eq!(about_it(&live), 1, "{live:?}");
    // From A's /proc/net tables: the listener is listed, not judged.
    let proc = nettool(&["sockstat", "-s", "--json", "--source", "proc"])
        .in_netns(&a.ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    proc.ok();
    assert_eq!(about_it(&proc), 0, "{proc:?}");
    // A copy of the root namespace's tables as PROC_ROOT, run in A.
    let tree = tempfile::tempdir().unwrap();
    let net = tree.path().join("net");
    std::fs::create_dir(&net).unwrap();
    for f in [
        "tcp",
        "tcp6",
        "udp",
        "udp6",
        "unix",
        "snmp",
        "snmp6",
        "netstat",
        "sockstat",
        "sockstat6",
    ] {
        std::fs::copy(format!("/proc/net/{f}"), net.join(f)).unwrap();
    }
    let fixture = nettool(&["sockstat", "-s", "--json"])
        .proc_root(tree.path())
        .in_netns(&a.ns)
        .timeout(lab::DEFAULT_TIMEOUT)
        .run();
    fixture.ok();
    assert_eq!(about_it(&fixture), 0, "{fixture:?}");
    drop(clients);
}
