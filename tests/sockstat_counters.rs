//! `nettool sockstat -s`: the kernel's protocol counters and `--interval`,
//! against real kernels in the network lab (tests/lab).
//!
//! The counters are per network namespace, so each test makes its own,
//! where they start at zero and only the test's own connections (on the
//! namespace's loopback) move them: exact figures can be asserted. nettool
//! runs only inside those namespaces. Oracles: `nstat` and the
//! /proc/net/snmp a `cat` in the same namespace reads.

mod lab;
mod util;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use util::{Bg, Output, nettool};

/// One empty namespace (loopback up) and the network that owns it.
fn namespace(lab: lab::Lab) -> (lab::Net, String) {
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    (net, ns)
}

/// `nettool sockstat ARGS...` inside `ns`.
fn sockstat(ns: &str, args: &[&str]) -> util::Nettool {
    let mut all = vec!["sockstat"];
    all.extend_from_slice(args);
    nettool(&all).in_netns(ns).timeout(lab::DEFAULT_TIMEOUT)
}

/// Waits (at most `limit`) for a background run to end by itself.
#[track_caller]
fn finish(mut bg: Bg, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while bg.running() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let out = bg.stop();
    assert!(!out.timed_out, "still running after {limit:?}{out:?}");
    out
}

/// `n` connections to a listener of this test on `127.0.0.1`, each closed
/// the polite way (the client writes, closes; the server reads to the end
/// and closes), and `refused` connects to a port nobody listens on: run on
/// a thread inside `ns`.
fn polite_connections(ns: &str, n: usize, refused: usize) {
    lab::thread_in(ns, move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            for _ in 0..n {
                let (mut c, _) = listener.accept().unwrap();
                let mut got = Vec::new();
                c.read_to_end(&mut got).unwrap();
                assert_eq!(got, b"hello");
            }
        });
        for _ in 0..n {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"hello").unwrap();
        }
        server.join().unwrap();
        let closed: SocketAddr = "127.0.0.1:9".parse().unwrap();
        for _ in 0..refused {
            let e = TcpStream::connect(closed).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        }
    })
    .join()
    .unwrap();
}

/// `nstat -asz --json` in `ns`: every counter by nstat's name
/// (`TcpActiveOpens`, `TcpExtListenOverflows`, `Udp6InErrors`), its
/// history kept out of the way.
fn nstat(ns: &str, history: &std::path::Path) -> BTreeMap<String, i128> {
    let out = lab::run_in(
        ns,
        "env",
        &[
            &format!("NSTAT_HISTORY={}", history.display()),
            "nstat",
            "-asz",
            "--json",
        ],
    );
    out.ok();
    let doc: Value = out.json();
    doc["kernel"]
        .as_object()
        .unwrap_or_else(|| panic!("nstat JSON without kernel{out:?}"))
        .iter()
        .map(|(k, v)| (k.clone(), i128::from(v.as_i64().expect("a number"))))
        .collect()
}

/// nettool's `counters` as nstat names them: section + key.
fn flat(counters: &Value) -> BTreeMap<String, i128> {
    let mut out = BTreeMap::new();
    for (section, keys) in counters.as_object().expect("counters object") {
        for (key, v) in keys.as_object().expect("section object") {
            let v = v
                .as_i64()
                .map(i128::from)
                .or_else(|| v.as_u64().map(i128::from))
                .expect("an integer");
            out.insert(format!("{section}{key}"), v);
        }
    }
    out
}

/// `Tcp CurrEstab` as /proc/net/snmp in `ns` says (nstat leaves it out).
fn curr_estab(ns: &str) -> i128 {
    let out = lab::run_in(ns, "cat", &["/proc/net/snmp"]);
    out.ok();
    let tcp: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("Tcp:"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let i = tcp[0].iter().position(|k| *k == "CurrEstab").unwrap();
    tcp[1][i].parse().unwrap()
}

/// The diagnosis lines of a summary document.
fn diagnosis(doc: &Value) -> Vec<String> {
    doc["diagnosis"]
        .as_array()
        .expect("diagnosis array")
        .iter()
        .map(|d| d.as_str().expect("a sentence").to_string())
        .collect()
}

/// The sentences about counters (they start with the counter's section).
fn counter_alarms(lines: &[String]) -> Vec<&String> {
    let sections: Vec<&str> = ::nettool::sockstat::summary::alarm_sections().collect();
    lines
        .iter()
        .filter(|l| sections.iter().any(|s| l.starts_with(&format!("{s} "))))
        .collect()
}

#[test]
fn counters_equal_nstat_in_the_same_namespace() {
    let Some(lab) = lab::require_with(&["nstat"]) else {
        return;
    };
    let (_net, ns) = namespace(lab);
    polite_connections(&ns, 5, 3);
    // One connection left open: CurrEstab counts it on both sides.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let holder = lab::thread_in(&ns, move || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let s = l.accept().unwrap();
        let _ = rx.recv();
        drop((c, s));
    });
    let history = tempfile::NamedTempFile::new().unwrap();
    // nstat before and after nettool: a counter the two agree on did not
    // move meanwhile, and nettool must have read that same value.
    let (mut doc, mut stable) = (Value::Null, BTreeMap::new());
    let mut moved = Vec::new();
    for _ in 0..5 {
        let before = nstat(&ns, history.path());
        let out = sockstat(&ns, &["-s", "--json"]).run();
        out.expect_clean_success();
        doc = out.summary_json();
        let after = nstat(&ns, history.path());
        moved = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        stable = before
            .into_iter()
            .filter(|(k, v)| after.get(k) == Some(v))
            .collect();
        if moved.is_empty() {
            break;
        }
    }
    let ours = flat(&doc["counters"]);
    for (k, v) in &stable {
        if k.starts_with("Sctp") {
            continue; // nstat reads /proc/net/sctp/snmp too; -s does not
        }
        assert_eq!(ours.get(k), Some(v), "{k}: nettool vs nstat");
    }
    // What the test did, exactly: a fresh namespace counted nothing else.
    let want = [
        ("TcpActiveOpens", 9),
        ("TcpPassiveOpens", 6),
        ("TcpAttemptFails", 3),
        ("TcpEstabResets", 0),
        ("TcpExtListenOverflows", 0),
        ("TcpRetransSegs", 0),
    ];
    for (k, v) in want {
        assert_eq!(ours.get(k), Some(&v), "{k}{doc:#}");
        assert!(stable.contains_key(k), "{k} kept moving: {moved:?}");
    }
    // The refused connects were answered with a RST each.
    assert!(ours["TcpOutRsts"] >= 3, "{doc:#}");
    assert_eq!(ours["TcpCurrEstab"], 2, "{doc:#}");
    assert_eq!(curr_estab(&ns), 2);
    assert_eq!(doc["counters"]["Tcp"]["MaxConn"], -1, "{doc:#}");
    assert!(doc.get("deltas").is_none(), "no deltas without --interval");
    tx.send(()).unwrap();
    holder.join().unwrap();

    // The table shows the same figures, since boot, with their meanings.
    let out = sockstat(&ns, &["-s"]).run();
    out.expect_clean_success();
    let row = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} row{out:?}"))
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert!(
        out.stdout.contains("Protocol counters since boot"),
        "{out:?}"
    );
    assert_eq!(row("PassiveOpens"), "6", "{out:?}");
    assert_eq!(row("AttemptFails"), "3", "{out:?}");
    assert!(
        out.stdout.contains("connections this host opened"),
        "meanings{out:?}"
    );
}

/// The port `probe serve --behavior no-accept` listens on in
/// `listen_overflows_...` (the namespace is the test's own).
const PORT: u16 = 7000;

#[test]
fn listen_overflows_rise_over_an_interval_and_the_diagnosis_names_the_listener() {
    let Some(lab) = lab::require() else {
        return;
    };
    let (_net, ns) = namespace(lab);
    let listen = format!("127.0.0.1:{PORT}");
    let server = nettool(&["probe", "serve", &listen, "--behavior", "no-accept"])
        .in_netns(&ns)
        .spawn();
    let listening = util::wait_until(Duration::from_secs(5), || {
        let out = lab::run_in(&ns, "ss", &["-tlnH"]);
        out.stdout.contains(&listen)
    });
    assert!(listening, "probe serve does not listen{:?}", server.stop());
    // Both views at once: JSON, and the table with -p naming the owner.
    let json = sockstat(&ns, &["-s", "--json", "--interval", "3"]).spawn();
    let text = sockstat(&ns, &["-s", "-p", "--interval", "3"]).spawn();
    thread::sleep(Duration::from_secs(1));
    // The burst: backlog 1 queues 2 connections; the other SYNs overflow.
    let clients = lab::thread_in(&ns, move || {
        let addr: SocketAddr = format!("127.0.0.1:{PORT}").parse().unwrap();
        let burst: Vec<_> = (0..12)
            .map(|_| {
                thread::spawn(move || TcpStream::connect_timeout(&addr, Duration::from_millis(300)))
            })
            .collect();
        burst
            .into_iter()
            .filter_map(|t| t.join().unwrap().ok())
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    // The accept queue takes backlog + 1; a client whose handshake ACK
    // the full queue dropped still thinks it is connected, so maybe more.
    assert!(clients.len() >= 2, "the accept queue takes backlog + 1");
    let json = finish(json, Duration::from_secs(20));
    let text = finish(text, Duration::from_secs(20));
    json.expect_clean_success();
    text.expect_clean_success();
    let doc = json.summary_json();
    let overflows = doc["deltas"]["TcpExt"]["ListenOverflows"]
        .as_i64()
        .unwrap_or(0);
    assert!(overflows >= 10, "10 SYNs or more overflowed{doc:#}");
    assert!(doc["interval_s"].as_f64().unwrap() >= 3.0, "{doc:#}");
    assert!(
        doc["rates_per_s"]["TcpExt"]["ListenOverflows"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{doc:#}"
    );
    assert_eq!(doc["tcp_states"]["LISTEN"], 1, "{doc:#}");
    let lines = diagnosis(&doc);
    let alarm = lines
        .iter()
        .find(|l| l.starts_with("TcpExt ListenOverflows +"))
        .unwrap_or_else(|| panic!("no ListenOverflows sentence{doc:#}"));
    assert!(
        alarm.contains(&format!(
            "at their backlog now: {listen} (Recv-Q 2, backlog 1)"
        )),
        "{alarm}"
    );
    assert!(alarm.contains("somaxconn"), "{alarm}");
    // The table: the delta among the changes, and the owner named with -p.
    let row = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("ListenOverflows "))
        .unwrap_or_else(|| panic!("no ListenOverflows row{text:?}"));
    assert!(row.contains(" +"), "a delta{text:?}");
    let owner = format!("{listen} (Recv-Q 2, backlog 1, {}/nettool)", server.pid());
    assert!(
        text.stdout
            .lines()
            .any(|l| l.contains("TcpExt ListenOverflows +") && l.contains(&owner)),
        "want {owner:?}{text:?}"
    );
    drop(clients);
    server.stop();
}

#[test]
fn a_healthy_namespace_over_an_interval_raises_no_alarm() {
    let Some(lab) = lab::require() else {
        return;
    };
    let (_net, ns) = namespace(lab);
    let json = sockstat(&ns, &["-s", "--json", "--interval", "2.5"]).spawn();
    thread::sleep(Duration::from_secs(1));
    polite_connections(&ns, 5, 0);
    let out = finish(json, Duration::from_secs(20));
    out.expect_clean_success();
    let doc = out.summary_json();
    // The traffic was seen: these were its deltas, exactly.
    assert_eq!(doc["deltas"]["Tcp"]["ActiveOpens"], 5, "{doc:#}");
    assert_eq!(doc["deltas"]["Tcp"]["PassiveOpens"], 5, "{doc:#}");
    assert_eq!(doc["deltas"]["Tcp"]["RetransSegs"], 0, "{doc:#}");
    assert!(doc["resets"].as_object().unwrap().is_empty(), "{doc:#}");
    let lines = diagnosis(&doc);
    assert!(
        counter_alarms(&lines).is_empty(),
        "no counter is alarming: {lines:#?}"
    );
}

#[test]
fn ctrl_c_during_the_interval_exits_130_without_output() {
    let Some(lab) = lab::require() else {
        return;
    };
    let (_net, ns) = namespace(lab);
    let bg = sockstat(&ns, &["-s", "--interval", "30"]).spawn();
    thread::sleep(Duration::from_millis(500));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &bg.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let started = Instant::now();
    let out = finish(bg, Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(2), "{out:?}");
    out.expect_code(130);
    assert!(
        out.stdout.is_empty() && out.stderr.is_empty(),
        "nothing half-done{out:?}"
    );
}

#[test]
fn interval_out_of_range_or_without_summary_is_a_usage_error() {
    for (args, line) in [
        (
            &["sockstat", "-s", "--interval", "0"][..],
            "--interval 0: give 0.01 to 3600 seconds (fractions allowed)",
        ),
        (
            &["sockstat", "-s", "--interval", "7200"],
            "--interval 7200: give 0.01 to 3600 seconds (fractions allowed)",
        ),
    ] {
        let out = nettool(args).run();
        out.expect_code(2);
        assert_eq!(out.stderr_lines(), [format!("nettool: {line}")], "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    let out = nettool(&["sockstat", "--interval", "1"]).run();
    out.expect_code(2);
    assert_eq!(
        out.stderr_lines(),
        ["nettool: --interval goes with -s, --watch or --diagnose"],
        "{out:?}"
    );
}
