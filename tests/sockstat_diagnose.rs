//! `nettool sockstat --diagnose`: the connection findings, each made real
//! in the network lab (tests/lab) and found, and a healthy lab that gives
//! none.
//!
//! Each test builds its own pair of namespaces (A 198.51.100.1, B
//! 198.51.100.2 on a veth) and makes the condition with the kernel's own
//! TCP: sockets opened by threads of this test that joined a namespace
//! (`lab::thread_in`), so the process a finding names is this one. nettool
//! runs inside the namespace it diagnoses, with a short `--interval`. `ss`
//! says when the condition is there before nettool is asked, so a finding
//! is never looked for too early. Every condition here is a state that
//! lasts (a socket held, a window closed, a peer dropped): a slow machine
//! makes the test wait longer, never see something else.

mod lab;
mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use lab::Host;
use util::{Output, own_comm, wait_until};

/// How long a condition may take to set in on a loaded machine.
const SETTLE: Duration = Duration::from_secs(10);

/// The interval between nettool's two readings.
const INTERVAL: &str = "0.3";

/// `pid/comm` of this test process: who holds the lab's sockets.
fn me() -> String {
    format!("{}/{}", std::process::id(), own_comm())
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

/// `nettool sockstat --diagnose --interval 0.3 ARGS...` inside `host`.
#[track_caller]
fn diagnose(host: &Host, args: &[&str]) -> Output {
    let mut all = vec!["sockstat", "--diagnose", "--interval", INTERVAL];
    all.extend_from_slice(args);
    let out = host.nettool(&all);
    assert!(out.stderr.is_empty(), "stderr{out:?}");
    out
}

/// The JSON diagnosis inside `host`: exit 1 and its findings.
#[track_caller]
fn findings(host: &Host) -> (Output, Vec<Value>) {
    let out = diagnose(host, &["--json"]);
    let doc = out.json();
    assert_eq!(doc["schema"], "nettool.sockstat.diagnosis/1", "{out:?}");
    let list = doc["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array{out:?}"))
        .clone();
    if !list.is_empty() {
        out.expect_code(1);
    }
    (out, list)
}

/// The kinds of `list`, in order.
fn kinds(list: &[Value]) -> Vec<&str> {
    list.iter().map(|f| f["kind"].as_str().unwrap()).collect()
}

/// The one finding of `host`'s diagnosis, which must be of `kind` (and
/// nothing else found there), with its text line printed for the reader.
#[track_caller]
fn only(host: &Host, kind: &str) -> Value {
    let (out, list) = findings(host);
    assert_eq!(kinds(&list), [kind], "{out:?}\n{list:#?}");
    let f = list[0].clone();
    for key in ["summary", "meaning", "advice"] {
        assert!(
            f[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} empty{out:?}"
        );
    }
    // The same finding as text: one line, for a person to read.
    let text = diagnose(host, &[]);
    text.expect_code(1);
    let line = text.stdout.trim_end();
    assert!(!line.contains('\n'), "{text:?}");
    // (Its numbers moved on since the JSON run; its words did not.)
    assert!(line.contains(f["advice"].as_str().unwrap()), "{text:?}");
    eprintln!("{line}");
    f
}

/// A whole number of the evidence (of a finding or a subject).
#[track_caller]
fn count(of: &Value, name: &str) -> u64 {
    of["evidence"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {name:?} in {of:#}"))
}

#[track_caller]
fn real(of: &Value, name: &str) -> f64 {
    of["evidence"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no figure {name:?} in {of:#}"))
}

fn subjects(f: &Value) -> &Vec<Value> {
    f["subjects"].as_array().expect("subjects")
}

/// `ss -tanH` rows of `host` in `state` (ss's spelling: `CLOSE-WAIT`)
/// whose peer is `peer`, as (local, peer).
#[track_caller]
fn ss_state(host: &Host, state: &str, peer: &str) -> Vec<(String, String)> {
    let out = host.run("ss", &["-tanH"]);
    out.ok();
    out.stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5 && f[0] == state && f[4].starts_with(peer))
                .then(|| (f[3].to_string(), f[4].to_string()))
        })
        .collect()
}

/// `ss`'s (Recv-Q, Send-Q) of the one connection from `local` to `peer`.
#[track_caller]
fn ss_queues(host: &Host, local: SocketAddr, peer: SocketAddr) -> (u64, u64) {
    let out = host.run(
        "ss",
        &["-tanH", "src", &local.to_string(), "dst", &peer.to_string()],
    );
    out.ok();
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 1, "{out:?}");
    (rows[0][1].parse().unwrap(), rows[0][2].parse().unwrap())
}

/// Waits until `host` has `n` sockets in `state` to `peer` (an address
/// prefix); panics with ss's table otherwise.
#[track_caller]
fn wait_for_state(host: &Host, state: &str, peer: &str, n: usize) {
    let ok = wait_until(SETTLE, || ss_state(host, state, peer).len() == n);
    assert!(
        ok,
        "{n} {state} to {peer} never came: {:?}",
        host.run("ss", &["-tanoH"]).stdout
    );
}

/// A listener of this test on `host`'s address, any port.
fn listen(host: &Host) -> TcpListener {
    let ip = host.ip;
    lab::thread_in(&host.ns, move || TcpListener::bind((ip, 0)).unwrap())
        .join()
        .unwrap()
}

/// `n` connections from `host` to `to`, not yet accepted.
fn connect(host: &Host, to: SocketAddr, n: usize) -> Vec<TcpStream> {
    lab::thread_in(&host.ns, move || {
        (0..n).map(|_| TcpStream::connect(to).unwrap()).collect()
    })
    .join()
    .unwrap()
}

/// `n` connections from `from` to `listener`, each with the end it
/// accepted: (client, server).
fn connected(from: &Host, listener: &TcpListener, n: usize) -> Vec<(TcpStream, TcpStream)> {
    let to = listener.local_addr().unwrap();
    connect(from, to, n)
        .into_iter()
        .map(|c| {
            let (s, _) = listener.accept().unwrap();
            (c, s)
        })
        .collect()
}

/// Closes `first` then `second`, the way a polite pair does: `second`
/// reads `first`'s FIN (end of stream) before it closes. `first`'s side
/// ends in `TIME_WAIT`.
fn close_politely(first: TcpStream, mut second: TcpStream) {
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(second.read(&mut [0u8; 16]).unwrap(), 0, "end of stream");
    drop(second);
}

/// A listener, an idle connection and a `TIME_WAIT` on each side (one
/// client-closed, one server-closed): what every healthy host has.
#[test]
fn a_healthy_lab_gives_no_findings_and_exit_0() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(b);
    let mut conns = connected(a, &listener, 3);
    let (idle_a, idle_b) = conns.remove(0);
    let (c, s) = conns.remove(0);
    close_politely(c, s);
    let (c, s) = conns.remove(0);
    close_politely(s, c);
    let b_addr = b.ip.to_string();
    let a_addr = a.ip.to_string();
    wait_for_state(a, "TIME-WAIT", &b_addr, 1);
    wait_for_state(b, "TIME-WAIT", &a_addr, 1);
    wait_for_state(a, "ESTAB", &b_addr, 1);

    for host in [a, b] {
        let (out, list) = findings(host);
        assert!(list.is_empty(), "findings in a healthy lab{out:?}");
        out.expect_code(0);
        let doc = out.json();
        // A: the idle connection and a TIME_WAIT; B: those and the listener.
        assert!(doc["sockets"].as_u64().unwrap() >= 2, "{out:?}");
        assert!(doc["interval_s"].as_f64().unwrap() >= 0.3, "{out:?}");

        let text = diagnose(host, &[]);
        text.expect_code(0);
        assert!(
            text.stdout.starts_with("nothing wrong found: ") && text.stdout.lines().count() == 1,
            "{text:?}"
        );
    }
    drop((idle_a, idle_b, listener));
}

/// The peer closes three connections this process accepted and never
/// closes: `CLOSE_WAIT` on our side, held.
#[test]
fn close_wait_held_by_this_process_is_a_leak_named_with_its_peers_and_age() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(a);
    let mut conns = connected(b, &listener, 4);
    // One stays open: an established connection is no leak.
    let (open_b, open_a) = conns.pop().unwrap();
    let mut held = Vec::new();
    for (client, server) in conns {
        drop(client);
        held.push(server);
    }
    let b_addr = b.ip.to_string();
    wait_for_state(a, "CLOSE-WAIT", &b_addr, 3);
    std::thread::sleep(Duration::from_millis(500));

    let f = only(a, "close_wait_leak");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(count(&f, "sockets"), 3, "{f:#}");
    assert_eq!(count(&f, "peers"), 1, "{f:#}");
    // Closed at least half a second ago, not a minute.
    let oldest = real(&f, "oldest_s");
    assert!((0.5..30.0).contains(&oldest), "{f:#}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.contains(&me()) && summary.contains(&b_addr) && summary.contains("3 sockets"),
        "{summary}"
    );
    let local = listener.local_addr().unwrap().to_string();
    let mut peers: Vec<String> = subjects(&f)
        .iter()
        .map(|s| {
            assert!(is_mine(&s["process"]), "{s:#}");
            assert_eq!(s["local"], local.as_str(), "{s:#}");
            assert!(real(s, "closed_s_ago") >= 0.5, "{s:#}");
            s["peer"].as_str().unwrap().to_string()
        })
        .collect();
    peers.sort();
    let mut want: Vec<String> = held
        .iter()
        .map(|s| s.peer_addr().unwrap().to_string())
        .collect();
    want.sort();
    assert_eq!(peers, want, "{f:#}");
    drop((held, open_a, open_b));
}

/// This process half-closes (shutdown(Write)) a connection whose peer
/// never closes: `FIN_WAIT2` here, and the peer's `CLOSE_WAIT` there.
#[test]
fn a_half_close_the_peer_never_answers_is_fin_wait2_held_here_and_close_wait_there() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(b);
    let (client, server) = connected(a, &listener, 1).remove(0);
    client.shutdown(Shutdown::Write).unwrap();
    wait_for_state(a, "FIN-WAIT-2", &b.ip.to_string(), 1);

    let held = only(a, "fin_wait2_held");
    assert_eq!(held["severity"], "notice", "{held:#}");
    assert_eq!(count(&held, "sockets"), 1, "{held:#}");
    assert_eq!(count(&held, "peers"), 1, "{held:#}");
    assert!(real(&held, "oldest_s") < 30.0, "{held:#}");
    let ours = &subjects(&held)[0];
    assert!(is_mine(&ours["process"]), "{ours:#}");
    assert_eq!(
        ours["local"],
        client.local_addr().unwrap().to_string().as_str()
    );
    assert_eq!(
        ours["peer"],
        client.peer_addr().unwrap().to_string().as_str()
    );
    assert!(
        held["summary"].as_str().unwrap().contains(&me()),
        "{held:#}"
    );

    // The other end: the peer's program never closed.
    let leak = only(b, "close_wait_leak");
    assert_eq!(count(&leak, "sockets"), 1, "{leak:#}");
    let theirs = &subjects(&leak)[0];
    assert!(is_mine(&theirs["process"]), "{theirs:#}");
    assert_eq!(
        theirs["peer"],
        client.local_addr().unwrap().to_string().as_str()
    );
    drop((client, server, listener));
}

/// A namespace with 20 ephemeral ports whose client closes first: 12
/// `TIME_WAIT` to one server is a warning, 20 is critical, and the 21st
/// `connect()` fails with `EADDRNOTAVAIL`, as the finding says.
#[test]
fn time_wait_filling_a_narrow_port_range_is_pressure_and_connect_then_fails() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    lab::sysctl(&a.ns, "net.ipv4.ip_local_port_range", "40000 40019");
    let listener = listen(b);
    let server = listener.local_addr().unwrap();
    let close_first = |n: usize| {
        for (client, served) in connected(a, &listener, n) {
            assert!((40000..=40019).contains(&client.local_addr().unwrap().port()));
            close_politely(client, served);
        }
    };
    let b_addr = b.ip.to_string();

    close_first(12);
    wait_for_state(a, "TIME-WAIT", &b_addr, 12);
    let f = only(a, "time_wait_pressure");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(count(&f, "time_wait"), 12, "{f:#}");
    assert_eq!(count(&f, "ephemeral_ports"), 20, "{f:#}");
    assert!((real(&f, "share") - 0.6).abs() < 1e-9, "{f:#}");
    let s = &subjects(&f)[0];
    assert_eq!(s["local"], a.ip.to_string().as_str(), "{s:#}");
    assert_eq!(s["peer"], server.to_string().as_str(), "{s:#}");

    close_first(8);
    wait_for_state(a, "TIME-WAIT", &b_addr, 20);
    let f = only(a, "time_wait_pressure");
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert_eq!(count(&f, "time_wait"), 20, "{f:#}");
    assert!((real(&f, "share") - 1.0).abs() < 1e-9, "{f:#}");
    assert!(
        f["summary"].as_str().unwrap().ends_with(&format!(
            "connect() to {server} fails with EADDRNOTAVAIL now"
        )),
        "{f:#}"
    );
    for word in ["EADDRNOTAVAIL", "tcp_tw_reuse"] {
        assert!(
            format!("{}{}", f["meaning"], f["advice"]).contains(word),
            "{f:#}"
        );
    }

    // The claim proven: no port is left for this destination.
    let no_port = lab::thread_in(&a.ns, move || TcpStream::connect(server))
        .join()
        .unwrap();
    let err = no_port.expect_err("a 21st connection with 20 ports in TIME_WAIT");
    assert_eq!(err.kind(), ErrorKind::AddrNotAvailable, "{err:?}");

    // And what the advice says helps: tcp_tw_reuse takes a TIME_WAIT port
    // older than a second for an outgoing connection.
    lab::sysctl(&a.ns, "net.ipv4.tcp_tw_reuse", "1");
    std::thread::sleep(Duration::from_millis(1100));
    let reused = lab::thread_in(&a.ns, move || TcpStream::connect(server))
        .join()
        .unwrap()
        .expect("tcp_tw_reuse=1 reuses a TIME_WAIT port");
    assert!((40000..=40019).contains(&reused.local_addr().unwrap().port()));
    wait_for_state(a, "TIME-WAIT", &b_addr, 19);
    // 19 TIME_WAIT and the new connection hold every port, but with reuse
    // on connect() no longer fails: the finding does not say it does.
    let f = only(a, "time_wait_pressure");
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert_eq!(count(&f, "time_wait"), 19, "{f:#}");
    assert_eq!(count(&f, "other_connections"), 1, "{f:#}");
    assert_eq!(count(&f, "tcp_tw_reuse"), 1, "{f:#}");
    assert!(
        !f["summary"].as_str().unwrap().contains("EADDRNOTAVAIL"),
        "{f:#}"
    );
    drop(reused);
}

/// B drops everything from A once the connection is up; A then writes:
/// its segments go unanswered and are sent again, RTO doubling.
#[test]
fn a_peer_that_stops_answering_makes_a_retransmitting_connection_named_by_peer() {
    let Some(lab) = lab::require_with(&["ss", "nft"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(b);
    let (mut client, server) = connected(a, &listener, 1).remove(0);
    let port = listener.local_addr().unwrap().port();
    lab::nft(
        &b.ns,
        &format!(
            "table inet lab {{\n chain input {{\n  type filter hook input priority 0;\n  \
             ip saddr {} tcp dport {port} drop\n }}\n}}\n",
            a.ip
        ),
    );
    client.write_all(&[7u8; 1000]).unwrap();
    let peer = client.peer_addr().unwrap().to_string();
    // Two timeouts: the RTO has doubled twice.
    let ok = wait_until(SETTLE, || {
        let out = a.run("ss", &["-tinH", "dst", &peer]);
        out.stdout.contains("backoff:2") || out.stdout.contains("backoff:3")
    });
    assert!(ok, "{:?}", a.run("ss", &["-tinH"]));

    let f = only(a, "retransmitting");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(count(&f, "connections"), 1, "{f:#}");
    assert_eq!(count(&f, "retransmitting_now"), 1, "{f:#}");
    assert!(count(&f, "max_backoff") >= 2, "{f:#}");
    // 200 ms at least to start with, doubled twice.
    assert!(count(&f, "max_rto_ms") >= 800, "{f:#}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.contains(&b.ip.to_string()) && summary.contains(&me()),
        "{summary}"
    );
    let s = &subjects(&f)[0];
    assert!(is_mine(&s["process"]), "{s:#}");
    assert_eq!(s["peer"], peer.as_str(), "{s:#}");
    assert_eq!(s["evidence"]["state"], "ESTABLISHED", "{s:#}");
    assert!(count(s, "retransmits") >= 2, "{s:#}");
    drop((client, server));
}

/// A stream whose receiver (B, this process) accepted and never reads,
/// and whose sender (A) wrote until its buffer was full: B's window is
/// closed and A probes it.
struct Stalled {
    pair: lab::Pair,
    client: TcpStream,
    server: TcpStream,
    _listener: TcpListener,
}

fn stalled(lab: lab::Lab) -> Stalled {
    let pair = lab.pair();
    let listener = listen(&pair.b);
    let (mut client, server) = connected(&pair.a, &listener, 1).remove(0);
    client.set_nonblocking(true).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    let full = wait_until(SETTLE, || {
        loop {
            match client.write(&chunk) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
        }
        // Full for good once the peer's window is closed: A probes it.
        let peer = client.peer_addr().unwrap().to_string();
        pair.a
            .run("ss", &["-tanoH", "dst", &peer])
            .stdout
            .contains("timer:(persist")
    });
    assert!(full, "{:?}", pair.a.run("ss", &["-tanoiH"]));
    Stalled {
        pair,
        client,
        server,
        _listener: listener,
    }
}

#[test]
fn a_receiver_that_never_reads_closes_its_window_the_sender_sees_a_peer_not_reading() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let st = stalled(lab);
    let (a, b) = (&st.pair.a, &st.pair.b);
    let f = only(a, "peer_not_reading");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(count(&f, "connections"), 1, "{f:#}");
    assert!(count(&f, "send_q_bytes") > 0, "{f:#}");
    // The window stayed closed past the first probe (its timer: the RTO).
    assert!(count(&f, "window_probes") >= 1, "{f:#}");
    count(&f, "unanswered_probes");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("{} does not read", b.ip)) && summary.contains(&me()),
        "{summary}"
    );
    let s = &subjects(&f)[0];
    assert!(is_mine(&s["process"]), "{s:#}");
    assert_eq!(
        s["local"],
        st.client.local_addr().unwrap().to_string().as_str()
    );
    assert_eq!(
        s["peer"],
        st.client.peer_addr().unwrap().to_string().as_str()
    );
    assert_eq!(count(s, "snd_wnd"), 0, "{s:#}");
    assert_eq!(count(s, "send_q"), count(&f, "send_q_bytes"), "{s:#}");
    // Stuck: ss, after nettool, sees the same Send-Q.
    let (_, ss_send_q) = ss_queues(
        a,
        st.client.local_addr().unwrap(),
        st.client.peer_addr().unwrap(),
    );
    assert_eq!(ss_send_q, count(s, "send_q"), "{s:#}");
}

#[test]
fn a_program_that_never_reads_what_arrived_is_a_local_program_not_reading() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let st = stalled(lab);
    let b = &st.pair.b;
    let f = only(b, "local_not_reading");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(count(&f, "connections"), 1, "{f:#}");
    let queued = count(&f, "recv_q_bytes");
    assert!(queued > 0, "{f:#}");
    assert!(count(&f, "recv_q_before") > 0, "{f:#}");
    assert_eq!(count(&f, "window_closed"), 1, "{f:#}");
    let summary = f["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&me()) && summary.contains(&st.pair.a.ip.to_string()),
        "{summary}"
    );
    let s = &subjects(&f)[0];
    assert!(is_mine(&s["process"]), "{s:#}");
    assert_eq!(
        s["local"],
        st.server.local_addr().unwrap().to_string().as_str()
    );
    assert_eq!(
        s["peer"],
        st.server.peer_addr().unwrap().to_string().as_str()
    );
    assert_eq!(count(s, "recv_q"), queued, "{s:#}");
    let sv = &st.server;
    let (ss_recv_q, _) = ss_queues(b, sv.local_addr().unwrap(), sv.peer_addr().unwrap());
    assert_eq!(ss_recv_q, queued, "{s:#}");
}

/// The text: one line per finding, most severe first, each starting with
/// its severity and its title, the same findings as the JSON.
#[test]
fn text_output_is_one_line_per_finding_severity_and_title_first() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    // A holds a CLOSE_WAIT (B closed) and a FIN_WAIT2 (A half-closed).
    let a_listener = listen(a);
    let (b_client, a_served) = connected(b, &a_listener, 1).remove(0);
    drop(b_client);
    let b_listener = listen(b);
    let (a_client, b_served) = connected(a, &b_listener, 1).remove(0);
    a_client.shutdown(Shutdown::Write).unwrap();
    let b_addr = b.ip.to_string();
    wait_for_state(a, "CLOSE-WAIT", &b_addr, 1);
    wait_for_state(a, "FIN-WAIT-2", &b_addr, 1);

    let (_, list) = findings(a);
    assert_eq!(kinds(&list), ["close_wait_leak", "fin_wait2_held"]);
    let out = diagnose(a, &[]);
    out.expect_code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(
        lines[0].starts_with("warning  CLOSE_WAIT leak: "),
        "{out:?}"
    );
    assert!(
        lines[1].starts_with("notice   FIN_WAIT2 held open: "),
        "{out:?}"
    );
    for (line, f) in lines.iter().zip(&list) {
        // (The numbers of the summary moved on since the JSON run.)
        for key in ["meaning", "advice"] {
            assert!(line.contains(f[key].as_str().unwrap()), "{line}\n{f:#}");
        }
        assert!(line.ends_with('.'), "{line}");
        eprintln!("{line}");
    }
    drop((a_served, a_client, b_served, a_listener, b_listener));
}

/// Runs `work` (which returns the bytes it moved) on a thread, again and
/// again until finished or dropped.
struct Busy {
    stop: Arc<AtomicBool>,
    moved: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Busy {
    fn start(mut work: impl FnMut() -> u64 + Send + 'static) -> Busy {
        let stop = Arc::new(AtomicBool::new(false));
        let moved = Arc::new(AtomicU64::new(0));
        let (flag, total) = (Arc::clone(&stop), Arc::clone(&moved));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                total.fetch_add(work(), Ordering::Relaxed);
            }
        });
        Busy {
            stop,
            moved,
            thread: Some(thread),
        }
    }

    /// Bytes moved so far.
    fn moved(&self) -> u64 {
        self.moved.load(Ordering::Relaxed)
    }

    /// Stops the work.
    fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap();
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A reader slower than its sender but reading all along: its Recv-Q is
/// never empty and the sender's Send-Q never drains, yet data moves, so
/// neither end is "not reading".
#[test]
fn a_slow_but_steady_reader_is_neither_side_not_reading() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(b);
    let (mut client, mut server) = connected(a, &listener, 1).remove(0);
    client
        .set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let chunk = vec![1u8; 64 * 1024];
    let writer = Busy::start(move || match client.write(&chunk) {
        Ok(n) => n as u64,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => 0,
        Err(e) => panic!("write: {e}"),
    });
    // 8 KiB every 5 ms: about 1.6 MB/s, far below what the veth carries.
    let mut buf = vec![0u8; 8 * 1024];
    let reader = Busy::start(move || {
        std::thread::sleep(Duration::from_millis(5));
        server.read(&mut buf).unwrap() as u64
    });
    // Backlogged: data waits on B for the reader.
    let peer = a.ip.to_string();
    let backlogged = wait_until(SETTLE, || {
        let out = b.run("ss", &["-tanH", "dst", &peer]);
        out.stdout
            .split_whitespace()
            .nth(1)
            .is_some_and(|q| q.parse::<u64>().unwrap_or(0) > 0)
    });
    assert!(backlogged, "{:?}", b.run("ss", &["-tanH"]));

    for host in [b, a] {
        let before = reader.moved();
        let (out, list) = findings(host);
        assert!(list.is_empty(), "a steady stream found wrong{out:?}");
        out.expect_code(0);
        // It did move while nettool looked.
        assert!(reader.moved() > before, "nothing read{out:?}");
    }
    // The writer first: a reader gone with data unread resets the stream.
    writer.finish();
    reader.finish();
}

/// A half-close at work: the client shut its side after the request and
/// the server still streams its response. `FIN_WAIT2` here and `CLOSE_WAIT`
/// there, both carrying data: neither is held, neither leaks.
#[test]
fn a_half_close_still_streaming_its_response_is_neither_held_nor_a_leak() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(b);
    let (mut client, mut server) = connected(a, &listener, 1).remove(0);
    client.shutdown(Shutdown::Write).unwrap();
    let b_addr = b.ip.to_string();
    wait_for_state(a, "FIN-WAIT-2", &b_addr, 1);
    wait_for_state(b, "CLOSE-WAIT", &a.ip.to_string(), 1);
    // 1 KiB every 20 ms, read at once.
    let streamer = Busy::start(move || {
        std::thread::sleep(Duration::from_millis(20));
        server.write_all(&[2u8; 1024]).unwrap();
        1024
    });
    let mut buf = vec![0u8; 64 * 1024];
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let receiver = Busy::start(move || match client.read(&mut buf) {
        Ok(n) => n as u64,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => 0,
        Err(e) => panic!("read: {e}"),
    });

    for host in [a, b] {
        let before = receiver.moved();
        let (out, list) = findings(host);
        assert!(list.is_empty(), "a working half-close found wrong{out:?}");
        out.expect_code(0);
        assert!(receiver.moved() > before, "nothing streamed{out:?}");
    }
    streamer.finish();
    receiver.finish();
}

/// Connections this process closed (orphans now) whose peer never
/// closes: past ten, `FIN_WAIT2` held open, counted, with the timeout
/// that will end them.
#[test]
fn orphans_waiting_in_fin_wait2_for_a_peer_that_never_closes_are_counted() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair();
    let (a, b) = (&pair.a, &pair.b);
    let listener = listen(b);
    let mut held = Vec::new();
    for (client, server) in connected(a, &listener, 10) {
        drop(client);
        held.push(server);
    }
    let b_addr = b.ip.to_string();
    wait_for_state(a, "FIN-WAIT-2", &b_addr, 10);

    let f = only(a, "fin_wait2_held");
    assert_eq!(f["severity"], "notice", "{f:#}");
    assert_eq!(count(&f, "orphans"), 10, "{f:#}");
    assert_eq!(count(&f, "tcp_fin_timeout_s"), 60, "{f:#}");
    let subjects = subjects(&f);
    assert_eq!(subjects.len(), 10, "{f:#}");
    for s in subjects {
        // Closed: no process holds them any more.
        assert!(s.get("process").is_none(), "{s:#}");
        assert!(s["peer"].as_str().unwrap().starts_with(&b_addr), "{s:#}");
    }
    // And B's program holds the other ends in CLOSE_WAIT.
    let leak = only(b, "close_wait_leak");
    assert_eq!(count(&leak, "sockets"), 10, "{leak:#}");
    drop((held, listener));
}

/// IPv6: the same finding, addresses in brackets with their ports.
#[test]
fn close_wait_over_ipv6_names_the_peer_and_endpoints_in_brackets() {
    let Some(lab) = lab::require_with(&["ss"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let (a, b) = (&pair.a, &pair.b);
    let listener = lab::thread_in(&a.ns, || TcpListener::bind((lab::v6(1), 0)).unwrap())
        .join()
        .unwrap();
    let (client, served) = connected(b, &listener, 1).remove(0);
    let client_at = client.local_addr().unwrap();
    drop(client);
    wait_for_state(a, "CLOSE-WAIT", "[2001:db8::2]", 1);

    let f = only(a, "close_wait_leak");
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .contains("in CLOSE_WAIT that 2001:db8::2 closed"),
        "{f:#}"
    );
    let s = &subjects(&f)[0];
    assert!(is_mine(&s["process"]), "{s:#}");
    assert_eq!(
        s["local"],
        listener.local_addr().unwrap().to_string().as_str()
    );
    assert_eq!(s["peer"], client_at.to_string().as_str());
    assert!(s["peer"].as_str().unwrap().starts_with("[2001:db8::2]:"));
    drop((served, listener));
}
