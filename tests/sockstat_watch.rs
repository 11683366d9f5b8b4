//! `nettool sockstat --watch` in the network lab (tests/lab, shared/LAB.md):
//! nettool runs inside the namespace it watches, with the kernel's TCP at
//! both ends of the connections it must report.
//!
//! A watcher does not report the sockets present when it starts, so each
//! test first opens a sentinel listener and waits until the watcher says
//! it is `new`: from then on it is dumping and subscribed to the destroy
//! groups. Its JSON lines are read while it runs from its stdout file.

mod lab;
mod util;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::thread_in;
use util::{Bg, nettool, wait_until};

/// The JSON lines a running nettool has written so far.
fn lines_so_far(bg: &Bg) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("/proc/{}/fd/1", bg.pid())).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn port_of(v: &Value) -> u64 {
    v["port"].as_u64().unwrap_or(0)
}

/// Start `nettool sockstat --watch --json ARGS` in `ns` and return once it
/// has reported a listener opened after it started (one bound before its
/// first dump is not new to it: so bind again until one is reported).
fn watcher(ns: &str, sentinel: SocketAddr, args: &[&str]) -> (Bg, TcpListener) {
    watcher_as(ns, sentinel, args, |n| n)
}

/// [`watcher`], with the command adjusted by `how` (run as another user).
fn watcher_as(
    ns: &str,
    sentinel: SocketAddr,
    args: &[&str],
    how: impl FnOnce(util::Nettool) -> util::Nettool,
) -> (Bg, TcpListener) {
    let mut all = vec!["sockstat", "--watch", "--json", "-t", "-a"];
    all.extend_from_slice(args);
    let bg = how(nettool(&all).in_netns(ns)).spawn();
    for _ in 0..20 {
        let listener = thread_in(ns, move || TcpListener::bind(sentinel).unwrap())
            .join()
            .unwrap();
        let seen = wait_until(Duration::from_millis(700), || {
            lines_so_far(&bg).iter().any(|e| {
                e["kind"] == "new"
                    && e["to"] == "LISTEN"
                    && port_of(&e["local"]) == u64::from(sentinel.port())
            })
        });
        if seen {
            return (bg, listener);
        }
    }
    panic!("the watcher never reported the sentinel listener");
}

/// The events about the socket with this local and remote port, in order.
fn about(events: &[Value], local: u16, remote: u16) -> Vec<Value> {
    events
        .iter()
        .filter(|e| {
            e["schema"] == "nettool.sockstat.event/1"
                && port_of(&e["local"]) == u64::from(local)
                && port_of(&e["remote"]) == u64::from(remote)
        })
        .cloned()
        .collect()
}

/// The server (A) closes first: A's socket goes `ESTABLISHED` ->
/// `FIN_WAIT1` -> `FIN_WAIT2` -> `TIME_WAIT`, B's `ESTABLISHED` ->
/// `CLOSE_WAIT` -> `LAST_ACK` -> gone, each seen by a watcher inside its
/// namespace, in that order. A drops B's FIN for a while, so `LAST_ACK`
/// lasts long enough to be seen (B retransmits the FIN until A lets it in).
#[test]
#[allow(
    clippy::too_many_lines,
    reason = "one connection's whole life, step by step, then both sides' checks"
)]
fn close_sequence_server_first_is_seen_step_by_step_on_both_sides() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let (wa, _sa) = watcher(
        &pair.a.ns,
        SocketAddr::new(pair.a.ip.into(), 7001),
        &["--interval", "0.05"],
    );
    let (wb, _sb) = watcher(
        &pair.b.ns,
        SocketAddr::new(pair.b.ip.into(), 7002),
        &["--interval", "0.05"],
    );
    let server_addr = SocketAddr::new(pair.a.ip.into(), 5000);
    let listener = thread_in(&pair.a.ns, move || TcpListener::bind(server_addr).unwrap())
        .join()
        .unwrap();
    let (go_close, closing) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        s.write_all(b"0123456789").unwrap();
        // Read what B sent: closing with unread data would send RST.
        let mut hello = [0u8; 5];
        s.read_exact(&mut hello).unwrap();
        closing.recv().unwrap();
        drop(s);
        peer
    });
    let client = thread_in(&pair.b.ns, move || {
        let mut c = TcpStream::connect(server_addr).unwrap();
        c.write_all(b"hello").unwrap();
        c
    })
    .join()
    .unwrap();
    let client_port = client.local_addr().unwrap().port();
    thread::sleep(Duration::from_millis(600));
    go_close.send(()).unwrap();
    let peer = server.join().unwrap();
    assert_eq!(peer.port(), client_port);
    // B reads the data and the FIN, sits in CLOSE_WAIT, then closes.
    let mut c = client;
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"0123456789");
    thread::sleep(Duration::from_millis(600));
    lab::nft(
        &pair.a.ns,
        "table inet nt_watch { chain input { type filter hook input priority 0; tcp dport 5000 drop; }; }",
    );
    drop(c);
    thread::sleep(Duration::from_millis(600));
    pair.a
        .run("nft", &["delete", "table", "inet", "nt_watch"])
        .ok();
    // LAST_ACK lasts a round trip; TIME_WAIT shows on the next dump.
    let done = wait_until(Duration::from_secs(10), || {
        let b = about(&lines_so_far(&wb), client_port, 5000);
        let a = about(&lines_so_far(&wa), 5000, client_port);
        b.iter().any(|e| e["kind"] == "gone") && a.iter().any(|e| e["to"] == "TIME_WAIT")
    });
    let (a, b) = (wa.stop(), wb.stop());
    let a_events = about(
        &a.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect::<Vec<_>>(),
        5000,
        client_port,
    );
    let b_events = about(
        &b.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect::<Vec<_>>(),
        client_port,
        5000,
    );
    assert!(done, "not finished:\nA {a_events:#?}\nB {b_events:#?}");

    // Server side: the states seen are in the machine's order, FIN_WAIT2
    // and TIME_WAIT among them, and it is not gone (TIME_WAIT holds it).
    let a_states: Vec<&str> = a_events.iter().filter_map(|e| e["to"].as_str()).collect();
    let order = ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"];
    let ranks: Vec<usize> = a_states
        .iter()
        .map(|s| order.iter().position(|o| o == s).unwrap_or(99))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{a_events:#?}");
    assert_eq!(a_states.first(), Some(&"ESTABLISHED"), "{a_events:#?}");
    assert!(a_states.contains(&"FIN_WAIT2"), "{a_events:#?}");
    assert_eq!(a_states.last(), Some(&"TIME_WAIT"), "{a_events:#?}");
    assert!(
        a_events.iter().all(|e| e["kind"] != "gone"),
        "{a_events:#?}"
    );
    // One cookie throughout, the TIME_WAIT remnant's too.
    let cookies: HashSet<u64> = a_events
        .iter()
        .filter_map(|e| e["cookie"].as_u64())
        .collect();
    assert_eq!(cookies.len(), 1, "{a_events:#?}");

    // Client side: exactly these four events.
    let b_steps: Vec<(String, String, String)> = b_events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-").to_string();
            (s("kind"), s("from"), s("to"))
        })
        .collect();
    let want = [
        ("new", "-", "ESTABLISHED"),
        ("state", "ESTABLISHED", "CLOSE_WAIT"),
        ("state", "CLOSE_WAIT", "LAST_ACK"),
        ("gone", "LAST_ACK", "-"),
    ]
    .map(|(k, f, t)| (k.to_string(), f.to_string(), t.to_string()));
    assert_eq!(b_steps, want, "{b_events:#?}");
    // The gone carries the connection's totals from the destroy
    // notification, and how long it lived.
    let gone = &b_events[3];
    let received = gone["bytes_received"].as_u64().unwrap();
    let acked = gone["bytes_acked"].as_u64().unwrap();
    // 10 bytes in, 5 out; the sequence numbers SYN and FIN take may
    // count too.
    assert!((10..=12).contains(&received), "{gone}");
    assert!((5..=7).contains(&acked), "{gone}");
    // The FIN A dropped was sent again.
    assert!(gone["total_retrans"].as_u64().unwrap() >= 1, "{gone}");
    let lived = gone["lived_ms"].as_u64().unwrap();
    assert!((1_000..10_000).contains(&lived), "{gone}");
}

/// 1,000 connections opened and closed in under a second, each living far
/// less than one interval: every client socket is reported `gone` through
/// its destroy notification, none missed.
#[test]
fn a_thousand_short_connections_are_each_reported_gone() {
    const N: usize = 1000;
    let Some(lab) = lab::require() else { return };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    // ss -E, the oracle, hears the same destroy groups: started first, it
    // is listening by the time the watcher is ready.
    let oracle = lab::spawn_in(&ns, "stdbuf", &["-oL", "ss", "-E", "-tnH"]);
    let (w, _s) = watcher(&ns, "127.0.0.1:7003".parse().unwrap(), &[]);
    let made = thread_in(&ns, || {
        let listener = TcpListener::bind("127.0.0.1:6000").unwrap();
        let server = thread::spawn(move || {
            for _ in 0..N {
                let (mut s, _) = listener.accept().unwrap();
                s.write_all(b"x").unwrap();
                // The server closes first: its side ends in TIME_WAIT,
                // the client's is destroyed after LAST_ACK.
            }
        });
        let started = Instant::now();
        let mut ports = Vec::with_capacity(N);
        for _ in 0..N {
            let mut c = TcpStream::connect("127.0.0.1:6000").unwrap();
            ports.push(c.local_addr().unwrap().port());
            let mut b = Vec::new();
            c.read_to_end(&mut b).unwrap();
        }
        server.join().unwrap();
        (ports, started.elapsed())
    })
    .join()
    .unwrap();
    let (ports, took) = made;
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let want: HashSet<u16> = ports.into_iter().collect();
    assert_eq!(want.len(), N);
    let gone_ports = |events: &[Value]| -> HashSet<u16> {
        events
            .iter()
            .filter(|e| e["kind"] == "gone" && port_of(&e["remote"]) == 6000)
            .filter_map(|e| u16::try_from(port_of(&e["local"])).ok())
            .collect()
    };
    let all = wait_until(Duration::from_secs(10), || {
        gone_ports(&lines_so_far(&w)).is_superset(&want)
    });
    let out = w.stop();
    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let got = gone_ports(&events);
    let missed: Vec<_> = want.difference(&got).collect();
    assert!(
        all && missed.is_empty(),
        "{} missed: {missed:?}",
        missed.len()
    );
    // Each client socket exactly once, with the byte it received.
    let client_gone: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "gone" && port_of(&e["remote"]) == 6000)
        .collect();
    assert_eq!(client_gone.len(), N);
    // ss -E saw the same client sockets destroyed.
    let ss = oracle.stop();
    let ss_client_ports: HashSet<u16> = ss
        .stdout
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let local: SocketAddr = cols.get(3)?.parse().ok()?;
            let peer: SocketAddr = cols.get(4)?.parse().ok()?;
            (peer.port() == 6000).then_some(local.port())
        })
        .collect();
    assert_eq!(ss_client_ports, got, "ss -E and nettool disagree{ss:?}");
    assert!(
        client_gone
            .iter()
            .all(|e| e["bytes_received"].as_u64().is_some_and(|b| b >= 1)),
        "{:#?}",
        client_gone
            .iter()
            .find(|e| e["bytes_received"].as_u64().is_none_or(|b| b < 1))
    );
}

/// `--count N` stops after N events with a summary record; `--duration`
/// stops by itself.
#[test]
fn count_and_duration_stop_the_watch() {
    let Some(lab) = lab::require() else { return };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let (w, _s) = watcher(
        &ns,
        "127.0.0.1:7004".parse().unwrap(),
        &["--count", "3", "--interval", "0.05"],
    );
    // The sentinel was reported (with perhaps a sentinel before it gone);
    // listeners bound one by one add one event each until the count.
    let held = thread_in(&ns, || {
        let mut v = Vec::new();
        for port in 7005..7010 {
            v.push(TcpListener::bind(("127.0.0.1", port)).unwrap());
            thread::sleep(Duration::from_millis(150));
        }
        v
    })
    .join()
    .unwrap();
    let mut w = w;
    assert!(
        wait_until(Duration::from_secs(5), || !w.running()),
        "still running"
    );
    let out = w.stop();
    out.ok();
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "{out:?}");
    let ports: Vec<u64> = lines[..3].iter().map(|e| port_of(&e["local"])).collect();
    let last = ports[2];
    assert!(
        ports.contains(&7004) && (7005..=7006).contains(&last),
        "{out:?}"
    );
    let summary = &lines[3];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["stopped_by"], "count", "{out:?}");
    let total: u64 = ["new", "state", "gone"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3, "{out:?}");
    drop(held);

    let started = Instant::now();
    let out = nettool(&["sockstat", "--watch", "--duration", "0.3"])
        .in_netns(&ns)
        .run();
    out.ok();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.stdout, "", "{out:?}");
    let err = out.stderr.trim();
    assert!(
        err.starts_with("nettool: watched 0.3") && err.ends_with("0 new, 0 state changes, 0 gone"),
        "{out:?}"
    );
}

/// Bad input: one line on stderr, exit 2, nothing watched.
#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, want) in [
        (
            &["--watch", "--interval", "0"][..],
            "nettool: --interval 0: give 0.01 to 3600 seconds (fractions allowed)",
        ),
        (
            &["--watch", "--interval", "-0.5"],
            "nettool: --interval -0.5: give 0.01 to 3600 seconds (fractions allowed)",
        ),
        (
            &["--watch", "--count", "0"],
            "nettool: --count 0: give the number of events to stop after, 1 or more",
        ),
        (
            &["--watch", "-N", "0"],
            "nettool: -N 0: not a process id: give a name under /run/netns (ip netns list), a path to a namespace file (/proc/PID/ns/net) or a PID",
        ),
        (
            &["--interval", "1"],
            "nettool: --interval goes with -s, --watch or --diagnose",
        ),
    ] {
        let mut all = vec!["sockstat"];
        all.extend_from_slice(args);
        let out = nettool(&all).run();
        out.expect_code(2);
        assert_eq!(out.stderr_lines(), [want], "{out:?}");
        assert_eq!(out.stdout, "");
    }
    for args in [
        &["--watch", "-s"][..],
        &["--watch", "-K", "--sport", "1"],
        &["--watch", "-i"],
    ] {
        let mut all = vec!["sockstat"];
        all.extend_from_slice(args);
        let out = nettool(&all).run();
        out.expect_code(2);
        assert!(out.stderr.contains("cannot be used with"), "{out:?}");
    }
}

/// `-p` names the process of a socket that appears; Ctrl-C (SIGINT) ends
/// the watch with its summary record, exit 130.
#[test]
fn owner_with_p_and_ctrl_c_ends_with_the_summary() {
    let Some(lab) = lab::require() else { return };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let (mut w, _s) = watcher(
        &ns,
        "127.0.0.1:7010".parse().unwrap(),
        &["-p", "--interval", "0.05"],
    );
    let held = thread_in(&ns, || {
        let l = TcpListener::bind("127.0.0.1:6100").unwrap();
        let c = TcpStream::connect("127.0.0.1:6100").unwrap();
        let s = l.accept().unwrap().0;
        (l, c, s)
    })
    .join()
    .unwrap();
    let port = held.1.local_addr().unwrap().port();
    let me = format!("({})", std::process::id());
    let named = wait_until(Duration::from_secs(5), || {
        lines_so_far(&w).iter().any(|e| {
            e["kind"] == "new"
                && port_of(&e["local"]) == u64::from(port)
                && e["owner"]
                    .as_str()
                    .is_some_and(|o| o.split(',').any(|o| o.ends_with(&me)))
        })
    });
    let pid = w.pid().to_string();
    lab::run_in(&ns, "kill", &["-INT", &pid]).ok();
    assert!(
        wait_until(Duration::from_secs(5), || !w.running()),
        "still running"
    );
    let out = w.stop();
    assert!(named, "no event named this process {me}{out:?}");
    out.expect_code(130);
    let last: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "summary", "{out:?}");
    assert_eq!(last["stopped_by"], "signal", "{out:?}");
    assert!(last["new"].as_u64().unwrap() >= 2, "{out:?}");
    drop(held);
}

/// The destroy groups are open to any user (Linux 6.18): as nobody,
/// without capabilities, a connection that lives less than one interval is
/// still reported `gone` with its totals.
#[test]
fn an_unprivileged_watcher_hears_destroyed_sockets_too() {
    use std::os::unix::fs::PermissionsExt;
    let Some(lab) = lab::require() else { return };
    let Some(setpriv) = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        util::skip_or_fail("setpriv (util-linux) is not installed");
        return;
    };
    // A copy of the binary that uid 65534 can reach.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("nettool");
    std::fs::copy(util::bin(), &exe).unwrap();
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let prefix = [
        setpriv,
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
    ];
    let (w, _s) = watcher_as(&ns, "127.0.0.1:7020".parse().unwrap(), &[], |cmd| {
        cmd.exe(&exe).wrapped(&prefix)
    });
    let port = thread_in(&ns, || {
        let listener = TcpListener::bind("127.0.0.1:6200").unwrap();
        let mut client = TcpStream::connect("127.0.0.1:6200").unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"abc").unwrap();
        drop(server);
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        client.local_addr().unwrap().port()
    })
    .join()
    .unwrap();
    let gone = wait_until(Duration::from_secs(5), || {
        lines_so_far(&w).iter().any(|e| {
            e["kind"] == "gone"
                && port_of(&e["local"]) == u64::from(port)
                && e["bytes_received"].as_u64().is_some_and(|b| b >= 3)
        })
    });
    let out = w.stop();
    assert!(gone, "no gone with totals for port {port}{out:?}");
}
