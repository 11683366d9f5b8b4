//! `nettool sockstat --prometheus` / `--textfile`: the metrics of real
//! sockets, made in the network lab (tests/lab, shared/LAB.md), checked
//! against what the test made and against `ss` and the kernel's own
//! counter files in the same namespace; every mode's output through
//! `promtool check metrics`; the textfile; the refusals.
//!
//! The lab is a pair of namespaces (A 198.51.100.1, B 198.51.100.2 on a
//! veth). The sockets are this test process's own, opened by threads that
//! joined A or B (`lab::thread_in`), so the command that holds A's
//! `CLOSE_WAIT` sockets is this process's (`util::own_comm`). nettool runs
//! inside A; its `--all-netns` and `-N` runs only read.

mod lab;
mod prom;
mod util;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use lab::{Host, Pair};
use prom::Sample;
use util::{Output, nettool, own_comm, wait_until};

/// How long a condition may take to set in on a loaded machine.
const SETTLE: Duration = Duration::from_secs(10);

/// The samples of an exposition text (`tests/prom`). Panics on a series
/// written twice, which `node_exporter` would refuse.
#[track_caller]
fn parse(text: &str) -> Vec<Sample> {
    let all = prom::samples(text);
    let mut seen = std::collections::HashSet::new();
    for s in &all {
        assert!(
            seen.insert((&s.name, &s.labels)),
            "a series written twice: {s:?}\n{text}"
        );
    }
    all
}

/// `v` as the whole number it must be (a count).
#[track_caller]
fn whole(v: f64) -> u64 {
    assert!(
        v >= 0.0 && v.fract() == 0.0 && v < 9e15,
        "{v} is not a count"
    );
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above: a whole number in u64's range"
    )]
    let n = v as u64;
    n
}

/// The one sample of `name` whose labels include `labels`: a count.
#[track_caller]
fn get(m: &[Sample], name: &str, labels: &[(&str, &str)]) -> u64 {
    whole(prom::value(m, name, labels))
}

/// The value of the one sample of `name` whose labels are `labels`, no
/// more and no fewer: a zero nettool must write fails here when it is
/// missing, where a sum would give 0.
#[track_caller]
fn exactly(m: &[Sample], name: &str, labels: &[(&str, &str)]) -> u64 {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|&(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match m
        .iter()
        .filter(|s| s.name == name && s.labels == want)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [one] => whole(one.value),
        other => panic!("{name}{want:?}: {} samples, want 1", other.len()),
    }
}

/// The sum of `name`'s samples whose labels include every one of `want`.
#[track_caller]
fn sum(m: &[Sample], name: &str, want: &[(&str, &str)]) -> u64 {
    prom::find(m, name, want)
        .into_iter()
        .map(|s| whole(s.value))
        .sum()
}

/// The families (`# TYPE` lines) of an exposition text, in order.
fn families(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .collect()
}

/// `nettool sockstat ARGS... --prometheus` inside `host`: its text after
/// promtool found nothing to say, and the run's success gauge 1.
#[track_caller]
fn metrics(host: &Host, args: &[&str]) -> (Output, Vec<Sample>) {
    let mut all = vec!["sockstat"];
    all.extend_from_slice(args);
    all.push("--prometheus");
    let out = host.nettool(&all);
    assert!(
        matches!(out.code(), Some(0 | 1)),
        "exit status as without metrics{out:?}"
    );
    prom::promtool_accepts(&out.stdout);
    let m = parse(&out.stdout);
    assert_eq!(
        get(&m, "nettool_run_success", &[("command", "sockstat")]),
        1,
        "{out:?}"
    );
    (out, m)
}

/// `n` connections from inside `ns` to `to` (completed handshakes, not
/// necessarily accepted).
fn connect(ns: &str, to: SocketAddr, n: usize) -> Vec<TcpStream> {
    lab::thread_in(ns, move || {
        (0..n)
            .map(|_| TcpStream::connect_timeout(&to, SETTLE).unwrap())
            .collect()
    })
    .join()
    .unwrap()
}

/// `n` connections from `ns` to `listener`, each with its accepted end:
/// (client, server).
fn connected(ns: &str, listener: &TcpListener, n: usize) -> Vec<(TcpStream, TcpStream)> {
    connect(ns, listener.local_addr().unwrap(), n)
        .into_iter()
        .map(|c| (c, listener.accept().unwrap().0))
        .collect()
}

/// `first` closes, `second` reads the end of the stream and closes:
/// `first`'s side ends in `TIME_WAIT`.
fn close_politely(first: TcpStream, mut second: TcpStream) {
    drop(first);
    second.set_read_timeout(Some(SETTLE)).unwrap();
    assert_eq!(second.read(&mut [0u8; 16]).unwrap(), 0, "end of stream");
}

/// `ss -tanH` inside `host`: sockets per state, in nettool's spelling.
#[track_caller]
fn ss_states(host: &Host) -> BTreeMap<String, u64> {
    let out = host.run("ss", &["-tanH"]);
    out.ok();
    let mut states = BTreeMap::new();
    for line in out.stdout.lines() {
        let state = line.split_whitespace().next().expect("a state");
        let ours = match state {
            "ESTAB" => "ESTABLISHED",
            "SYN-SENT" => "SYN_SENT",
            "SYN-RECV" => "SYN_RECV",
            "FIN-WAIT-1" => "FIN_WAIT1",
            "FIN-WAIT-2" => "FIN_WAIT2",
            "TIME-WAIT" => "TIME_WAIT",
            "UNCONN" | "CLOSE" => "CLOSE",
            "CLOSE-WAIT" => "CLOSE_WAIT",
            "LAST-ACK" => "LAST_ACK",
            "LISTEN" => "LISTEN",
            "CLOSING" => "CLOSING",
            other => panic!("ss state {other:?}"),
        };
        *states.entry(ours.to_string()).or_default() += 1;
    }
    states
}

/// A counter of `/proc/net/snmp` (or netstat) read inside `host`.
#[track_caller]
fn kernel_counter(host: &Host, file: &str, section: &str, key: &str) -> u64 {
    let out = host.run("cat", &[file]);
    out.ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    for pair in lines.chunks(2) {
        let (names, values) = (pair[0], pair[1]);
        let prefix = format!("{section}:");
        if !names.starts_with(&prefix) || !values.starts_with(&prefix) {
            continue;
        }
        let names: Vec<&str> = names.split_whitespace().skip(1).collect();
        let values: Vec<&str> = values.split_whitespace().skip(1).collect();
        if let Some(i) = names.iter().position(|n| *n == key) {
            return values[i].parse().unwrap();
        }
    }
    panic!("no {section} {key} in {file}");
}

const TCP_STATES: [&str; 11] = [
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
];

/// What [`make_the_lab`] holds open until the test ends.
struct Made {
    _listeners: Vec<TcpListener>,
    _streams: Vec<TcpStream>,
}

/// In A: listeners on 7001-7003, four connections from B held on 7001,
/// three `CLOSE_WAIT` on 7002 (B closed, this process never does), a
/// listener on 7004 with backlog 2 and three connections nobody accepts
/// (its queue full: one past the backlog), and two `TIME_WAIT` to B:9000
/// (A closed first). Returns once `ss` in A shows them.
fn make_the_lab(a: &Host, b: &Host) -> Made {
    let on_a =
        |port: u16, backlog| lab::listener_in(&a.ns, SocketAddr::from((a.ip, port)), backlog);
    let (web, leaky, idle, stuck) = (
        on_a(7001, 64),
        on_a(7002, 64),
        on_a(7003, 64),
        on_a(7004, 2),
    );
    let on_b = lab::listener_in(&b.ns, SocketAddr::from((b.ip, 9000)), 64);
    let mut streams = Vec::new();
    for (client, server) in connected(&b.ns, &web, 4) {
        streams.extend([client, server]);
    }
    for (client, server) in connected(&b.ns, &leaky, 3) {
        drop(client);
        streams.push(server);
    }
    streams.extend(connect(&b.ns, stuck.local_addr().unwrap(), 3));
    for (client, served) in connected(&a.ns, &on_b, 2) {
        close_politely(client, served);
    }
    let settled = wait_until(SETTLE, || {
        let s = ss_states(a);
        s.get("CLOSE_WAIT") == Some(&3) && s.get("TIME_WAIT") == Some(&2)
    });
    assert!(settled, "{:?}", a.run("ss", &["-tanoH"]));
    let queue = a.run("ss", &["-ltnH", "sport = :7004"]);
    assert_eq!(
        queue.stdout.split_whitespace().nth(1),
        Some("3"),
        "the accept queue of 7004 did not fill{queue:?}"
    );
    Made {
        _listeners: vec![web, leaky, idle, stuck, on_b],
        _streams: streams,
    }
}

/// The lab of [`make_the_lab`] as metrics: each thing made, in every mode,
/// in agreement with `ss` and the kernel's counters.
#[test]
fn the_lab_as_metrics_agrees_with_what_was_made_with_ss_and_with_the_kernel() {
    let Some(lab) = lab::require_with(&["ss", "promtool"]) else {
        return;
    };
    let Pair { net: _net, a, b } = lab.pair();
    let _made = make_the_lab(&a, &b);
    listing_says_what_was_made(&a);
    filters_narrow_what_is_counted(&a);
    summary_counts_and_counters(&a);
    // Held half a second: a leak to --diagnose.
    std::thread::sleep(Duration::from_millis(500));
    let (out, m) = metrics(&a, &["--diagnose", "--interval", "0.3"]);
    let findings = prom::find(&m, "nettool_sockstat_findings", &[]).len();
    assert_eq!(findings, 11 * 3, "{}", out.stdout);
    let leak = [("kind", "close_wait_leak")];
    assert!(
        sum(&m, "nettool_sockstat_findings", &leak) >= 1,
        "{}",
        out.stdout
    );
    // The exit status is --diagnose's: 1, something was found.
    out.expect_code(1);
    namespaces_are_labelled(&a, &b);
}

/// `-ta`: every family of the listing, against what was made and `ss`.
fn listing_says_what_was_made(a: &Host) {
    let (out, m) = metrics(a, &["-ta"]);
    out.ok();
    let sockets = |state| {
        get(
            &m,
            "nettool_sockstat_sockets",
            &[("proto", "tcp"), ("family", "inet"), ("state", state)],
        )
    };
    assert_eq!(sockets("LISTEN"), 4, "{}", out.stdout);
    // 4 held on 7001 and 3 waiting in 7004's queue.
    assert_eq!(sockets("ESTABLISHED"), 7, "{}", out.stdout);
    assert_eq!(sockets("CLOSE_WAIT"), 3, "{}", out.stdout);
    assert_eq!(sockets("TIME_WAIT"), 2, "{}", out.stdout);
    // The oracle: ss's count of every state (-ta reads both families);
    // and nettool's zeros: every state of both families has its series,
    // 0 when nothing is in it.
    let ss = ss_states(a);
    for state in TCP_STATES {
        assert_eq!(
            tcp_sockets(&m, "inet", state) + tcp_sockets(&m, "inet6", state),
            ss.get(state).copied().unwrap_or(0),
            "{state}: ss {ss:?}\n{}",
            out.stdout
        );
    }
    for (family, state) in [
        ("inet", "SYN_SENT"),
        ("inet", "CLOSING"),
        ("inet6", "LISTEN"),
    ] {
        assert_eq!(tcp_sockets(&m, family, state), 0, "{}", out.stdout);
    }

    let port = |port, state| {
        get(
            &m,
            "nettool_sockstat_port_connections",
            &[("port", port), ("state", state)],
        )
    };
    assert_eq!(port("7001", "ESTABLISHED"), 4);
    assert_eq!(port("7002", "CLOSE_WAIT"), 3);
    assert_eq!(port("7002", "ESTABLISHED"), 0);
    assert_eq!(port("7003", "ESTABLISHED"), 0);
    assert_eq!(port("7004", "ESTABLISHED"), 3);
    // A's own connections out (TIME_WAIT from ephemeral ports) are on no
    // listening port.
    let tw = [("state", "TIME_WAIT")];
    assert_eq!(sum(&m, "nettool_sockstat_port_connections", &tw), 0);

    let stuck = [("address", "198.51.100.1"), ("port", "7004")];
    assert_eq!(get(&m, "nettool_sockstat_accept_queue_length", &stuck), 3);
    assert_eq!(get(&m, "nettool_sockstat_accept_queue_backlog", &stuck), 2);
    let web = [("address", "198.51.100.1"), ("port", "7001")];
    assert_eq!(get(&m, "nettool_sockstat_accept_queue_length", &web), 0);
    assert_eq!(get(&m, "nettool_sockstat_accept_queue_backlog", &web), 64);

    // CLOSE_WAIT by command: ours. (Another test's child, between its fork
    // and its exec, may hold copies of our sockets for a moment: its name
    // then joins ours in the label.)
    let me = own_comm();
    let mine: u64 = prom::find(&m, "nettool_sockstat_close_wait_sockets", &[])
        .into_iter()
        .filter(|s| s.labels["comm"].split(',').any(|c| c == me))
        .map(|s| whole(s.value))
        .sum();
    assert_eq!(mine, 3, "{}", out.stdout);
    assert_eq!(
        sum(&m, "nettool_sockstat_close_wait_sockets", &[]),
        3,
        "{}",
        out.stdout
    );
    let to_b = [("remote_address", "198.51.100.2")];
    assert_eq!(get(&m, "nettool_sockstat_time_wait_sockets", &to_b), 2);
}

/// The user's filters: what `-ta4 --sport 7001` lists, and nothing else.
fn filters_narrow_what_is_counted(a: &Host) {
    let (out, m) = metrics(a, &["-ta4", "--sport", "7001"]);
    out.ok();
    assert_eq!(tcp_sockets(&m, "inet", "LISTEN"), 1, "{}", out.stdout);
    assert_eq!(tcp_sockets(&m, "inet", "ESTABLISHED"), 4, "{}", out.stdout);
    // A's TIME_WAIT and CLOSE_WAIT sockets are on other ports: filtered
    // out, their states written as 0.
    assert_eq!(tcp_sockets(&m, "inet", "TIME_WAIT"), 0, "{}", out.stdout);
    assert_eq!(tcp_sockets(&m, "inet", "CLOSE_WAIT"), 0, "{}", out.stdout);
    for absent in [
        "inet6",
        "port=\"7004\"",
        "nettool_sockstat_close_wait_sockets",
    ] {
        assert!(!out.stdout.contains(absent), "{absent}: {}", out.stdout);
    }
}

/// `-s`: the counts, as `ss` has them, and the kernel's counters of this
/// namespace (which started at 0 when the lab made it): 2 connections
/// out, 10 taken in; a counter read between two readings of the file.
fn summary_counts_and_counters(a: &Host) {
    let (out, m) = metrics(a, &["-s"]);
    out.ok();
    let ss = ss_states(a);
    for state in TCP_STATES {
        assert_eq!(
            get(
                &m,
                "nettool_sockstat_tcp_state_sockets",
                &[("state", state)]
            ),
            ss.get(state).copied().unwrap_or(0),
            "{state}{out:?}"
        );
    }
    let counter = |m: &[Sample], section, key| {
        get(
            m,
            "nettool_sockstat_netstat_total",
            &[("section", section), ("counter", key)],
        )
    };
    assert_eq!(counter(&m, "Tcp", "ActiveOpens"), 2, "{}", out.stdout);
    assert_eq!(counter(&m, "Tcp", "PassiveOpens"), 10, "{}", out.stdout);
    assert_eq!(
        counter(&m, "Tcp", "ActiveOpens"),
        kernel_counter(a, "/proc/net/snmp", "Tcp", "ActiveOpens")
    );
    // Counters only rise: what nettool read lies between two readings.
    let before = kernel_counter(a, "/proc/net/netstat", "TcpExt", "TCPOrigDataSent");
    let (_, m) = metrics(a, &["-s"]);
    let after = kernel_counter(a, "/proc/net/netstat", "TcpExt", "TCPOrigDataSent");
    let read = counter(&m, "TcpExt", "TCPOrigDataSent");
    assert!((before..=after).contains(&read), "{before} {read} {after}");
    // Values and settings are not counters.
    for key in ["CurrEstab", "MaxConn", "RtoMin"] {
        assert!(
            !m.iter().any(|s| s.labels.values().any(|v| v == key)),
            "{key} as a counter"
        );
    }
}

/// No `netns` label of `m` has the table's `PID/command` (a name under
/// /run/netns cannot hold a `/`, nor can the other labels).
#[track_caller]
fn no_pids_in_netns_labels(m: &[Sample], text: &str) {
    for s in m {
        if let Some(ns) = s.labels.get("netns") {
            assert!(!ns.contains('/'), "{ns:?}: {text}");
        }
    }
}

/// `--all-netns` (every mode) and `-N`, from inside A: A and B by name,
/// whatever else the host holds (whose labels have no pid either).
fn namespaces_are_labelled(a: &Host, b: &Host) {
    let (out, m) = metrics(a, &["--all-netns", "-ta"]);
    no_pids_in_netns_labels(&m, &out.stdout);
    let listen = |ns: &str| {
        sum(
            &m,
            "nettool_sockstat_sockets",
            &[("netns", ns), ("proto", "tcp"), ("state", "LISTEN")],
        )
    };
    assert_eq!(listen(&a.ns), 4, "{}", out.stdout);
    assert_eq!(listen(&b.ns), 1, "{}", out.stdout);
    let stuck = [
        ("netns", a.ns.as_str()),
        ("address", "198.51.100.1"),
        ("port", "7004"),
    ];
    assert_eq!(get(&m, "nettool_sockstat_accept_queue_length", &stuck), 3);

    let (out, m) = metrics(a, &["--all-netns", "-s"]);
    no_pids_in_netns_labels(&m, &out.stdout);
    let b_established = [("netns", b.ns.as_str()), ("state", "ESTABLISHED")];
    assert_eq!(
        get(&m, "nettool_sockstat_tcp_state_sockets", &b_established),
        ss_states(b).get("ESTABLISHED").copied().unwrap_or(0),
        "{}",
        out.stdout
    );
    // Per namespace, only the counters nettool explains: A's connections
    // out are there, its segments sent are not.
    let in_a = |key| {
        prom::find(
            &m,
            "nettool_sockstat_netstat_total",
            &[("netns", a.ns.as_str()), ("counter", key)],
        )
        .len()
    };
    assert_eq!(in_a("ActiveOpens"), 1, "{}", out.stdout);
    assert_eq!(in_a("TCPOrigDataSent"), 0, "{}", out.stdout);
    for s in prom::find(&m, "nettool_sockstat_netstat_total", &[]) {
        let (section, key) = (&s.labels["section"], &s.labels["counter"]);
        assert!(
            nettool::sockstat::counters::meaning(section, key).is_some(),
            "{section} {key}: {}",
            out.stdout
        );
    }
    // With one -N, every key, as without -N.
    let (out, m) = metrics(a, &["-s", "-N", &b.ns]);
    let sent = [
        ("netns", b.ns.as_str()),
        ("section", "TcpExt"),
        ("counter", "TCPOrigDataSent"),
    ];
    assert_eq!(
        prom::find(&m, "nettool_sockstat_netstat_total", &sent).len(),
        1,
        "{}",
        out.stdout
    );

    let (out, m) = metrics(a, &["--all-netns", "--diagnose", "--interval", "0.3"]);
    no_pids_in_netns_labels(&m, &out.stdout);
    let leak_in_a = [("netns", a.ns.as_str()), ("kind", "close_wait_leak")];
    assert!(
        sum(&m, "nettool_sockstat_namespace_findings", &leak_in_a) >= 1,
        "{}",
        out.stdout
    );

    // -N: B, read from inside A.
    let (out, m) = metrics(a, &["-ta", "-N", &b.ns]);
    out.ok();
    let on_b = [
        ("netns", b.ns.as_str()),
        ("address", "198.51.100.2"),
        ("port", "9000"),
    ];
    assert_eq!(get(&m, "nettool_sockstat_accept_queue_backlog", &on_b), 64);
}

/// The TCP sockets of `family` in `state`: the one series of a listing
/// without `-N` (it must be there, 0 included).
#[track_caller]
fn tcp_sockets(m: &[Sample], family: &str, state: &str) -> u64 {
    exactly(
        m,
        "nettool_sockstat_sockets",
        &[("proto", "tcp"), ("family", family), ("state", state)],
    )
}

/// `--textfile`: the same families as `--prometheus`, the run's own with
/// the file's name, nothing on stdout; both flags: both. A listing that
/// finds nothing still writes its zeros, and exits 1 as without metrics.
#[test]
fn textfile_holds_the_same_families_and_stdout_stays_empty() {
    let Some(lab) = lab::require_with(&["promtool"]) else {
        return;
    };
    let Pair { net: _net, a, b: _ } = lab.pair();
    let _listener = lab::listener_in(&a.ns, SocketAddr::from((a.ip, 7001)), 16);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sockstat.prom");
    let file_arg = file.to_str().unwrap();

    for mode in [&["-ta"][..], &["-s"], &["--diagnose", "--interval", "0.1"]] {
        let mut args = vec!["sockstat"];
        args.extend_from_slice(mode);
        let printed = a.nettool(&[args.clone(), vec!["--prometheus"]].concat());
        let written = a.nettool(&[args.clone(), vec!["--textfile", file_arg]].concat());
        written.ok();
        assert_eq!(written.stdout, "", "{written:?}");
        let text = std::fs::read_to_string(&file).unwrap();
        prom::promtool_accepts(&text);
        assert_eq!(families(&text), families(&printed.stdout), "{args:?}");
        let m = parse(&text);
        let run = [("command", "sockstat"), ("textfile", "sockstat.prom")];
        assert_eq!(get(&m, "nettool_run_success", &run), 1, "{text}");
        assert!(prom::value(&m, "nettool_last_run_timestamp_seconds", &run) > 1.7e9);

        let both =
            a.nettool(&[args.clone(), vec!["--prometheus", "--textfile", file_arg]].concat());
        both.ok();
        assert_eq!(both.stdout, std::fs::read_to_string(&file).unwrap());
    }
    assert_eq!(
        prom::names_in(dir.path()),
        ["sockstat.prom"],
        "no temporary file left"
    );

    // Nothing matched: exit 1 as without metrics, and the zeros written.
    let out = a.nettool(&["sockstat", "-t", "--sport", "9", "--textfile", file_arg]);
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    let text = std::fs::read_to_string(&file).unwrap();
    prom::promtool_accepts(&text);
    // Every sample of a textfile carries its name; the rest of the labels
    // are the listing's own.
    let mut m = parse(&text);
    for s in &mut m {
        assert_eq!(
            s.labels.remove("textfile").as_deref(),
            Some("sockstat.prom"),
            "{s:?}"
        );
    }
    // -t: every state but LISTEN, of both families, each 0.
    for family in ["inet", "inet6"] {
        for state in TCP_STATES.into_iter().filter(|&s| s != "LISTEN") {
            assert_eq!(tcp_sockets(&m, family, state), 0, "{text}");
        }
    }
    assert!(
        prom::find(&m, "nettool_sockstat_sockets", &[("state", "LISTEN")]).is_empty(),
        "{text}"
    );
    assert_eq!(
        get(&m, "nettool_run_success", &[("command", "sockstat")]),
        1
    );
}

/// The modes that do not end in one report, and the flags that only
/// change how rows look: one line, exit 2, and with `--textfile` a file
/// that says the run failed. (Inside an
/// empty lab namespace all the same: were the refusal missing, `-K` would
/// close sockets, and only there it closes none of anyone's.)
#[test]
fn metrics_with_watch_kill_and_display_flags_are_refused() {
    let Some(lab) = lab::require() else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(1).remove(0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.prom");
    let file = file.to_str().unwrap();
    for (args, words) in [
        (
            &["--watch", "--prometheus"][..],
            "--prometheus takes one reading and --watch follows changes",
        ),
        (
            &["--watch", "-t", "--textfile", file],
            "--textfile takes one reading and --watch follows changes",
        ),
        (
            &["-K", "--state", "close-wait", "--prometheus"],
            "--prometheus counts sockets and -K closes them",
        ),
        (
            &["-K", "--sport", "1", "--textfile", file],
            "--textfile counts sockets and -K closes them",
        ),
        (&["-ti", "--prometheus"], "drop -i/-m"),
        (&["-t", "--dns", "--prometheus"], "drop --dns"),
    ] {
        let mut all = vec!["sockstat"];
        all.extend_from_slice(args);
        let out = nettool(&all).in_netns(&ns).run();
        out.expect_code(2);
        assert_eq!(out.stdout, "", "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains(words), "{words}{out:?}");
        // With --textfile the file says the run failed, and no more.
        let written = std::fs::read_to_string(file);
        if args.contains(&"--textfile") {
            let text = written.unwrap();
            prom::promtool_accepts(&text);
            assert_eq!(
                families(&text),
                [
                    "nettool_run_success gauge",
                    "nettool_run_duration_seconds gauge",
                    "nettool_last_run_timestamp_seconds gauge"
                ]
            );
            assert_eq!(
                get(
                    &parse(&text),
                    "nettool_run_success",
                    &[("command", "sockstat"), ("textfile", "x.prom")]
                ),
                0
            );
            std::fs::remove_file(file).unwrap();
        } else {
            assert!(written.is_err(), "{args:?} wrote a textfile");
        }
    }
}
