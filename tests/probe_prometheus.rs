//! `nettool probe --prometheus` / `--textfile` against real kernels in the
//! network lab (tests/lab): B (198.51.100.2) has an open port, a closed
//! one (the kernel's RST), one its firewall rejects with ICMP port
//! unreachable and one it drops; nettool runs inside A, and each answer
//! must come out as `blackbox_exporter`'s `probe_success` with nettool's
//! `result`, in text promtool accepts. Nothing leaves the lab's
//! namespaces (shared/LAB.md); the refusals run against loopback.

#![allow(
    clippy::float_cmp,
    reason = "exact values read back from the text: counts, 0 and 1"
)]

mod lab;
mod prom;
mod util;

use std::net::TcpListener;

use lab::{Host, Pair};
use prom::{find, promtool_accepts, samples, value};
use util::Output;

/// Ports of B, each answering its own way.
struct Ports {
    open: u16,
    closed: u16,
    rejected: u16,
    dropped: u16,
    _listener: TcpListener,
}

/// B listens on one port; its firewall rejects another with ICMP and
/// drops a third; a fourth is simply closed.
fn ports(pair: &Pair) -> Ports {
    let listener = lab::thread_in(&pair.b.ns, || {
        TcpListener::bind((lab::v4(2), 0)).expect("listen in B")
    })
    .join()
    .unwrap();
    let open = listener.local_addr().unwrap().port();
    // Ports far from the listener's (ephemeral range) and from each other.
    let (closed, rejected, dropped) = (7001, 7002, 7003);
    lab::nft(
        &pair.b.ns,
        &format!(
            "table inet lab {{\n chain input {{\n  type filter hook input priority 0;\n  tcp dport {rejected} reject with icmpx type port-unreachable\n  tcp dport {dropped} drop\n }}\n}}\n"
        ),
    );
    // ICMP errors out of the rate limit, so every reject is answered.
    lab::sysctl(&pair.b.ns, "net.ipv4.icmp_ratemask", "0");
    Ports {
        open,
        closed,
        rejected,
        dropped,
        _listener: listener,
    }
}

fn probe(a: &Host, args: &[&str]) -> Output {
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    a.nettool(&all)
}

fn b(port: u16) -> String {
    format!("{}:{port}", lab::v4(2))
}

#[test]
fn each_answer_of_a_lab_host_is_probe_success_with_its_result() {
    // Guards: a closed port reported as a success, the classification
    // label wrong or missing, a handshake or rtt invented for a port that
    // never connected, the exit status changed by --prometheus.
    let Some(lab) = lab::require_with(&["nft", "promtool"]) else {
        return;
    };
    let pair = lab.pair();
    let p = ports(&pair);
    let cases = [
        (p.open, 1.0, "open", 0),
        (p.closed, 0.0, "refused_rst", 1),
        (p.rejected, 0.0, "refused_icmp", 1),
        (p.dropped, 0.0, "filtered", 1),
    ];
    for (port, success, result, code) in cases {
        let target = b(port);
        let out = probe(
            &pair.a,
            &["-c", "2", "-i", "0.1", "-W", "1", "--prometheus", &target],
        );
        assert_eq!(out.code(), Some(code), "{target}\n{out}");
        assert!(out.stderr.is_empty(), "{out}");
        promtool_accepts(&out.stdout);
        let all = samples(&out.stdout);
        let port = port.to_string();
        let l = [("host", "198.51.100.2"), ("port", port.as_str())];
        assert_eq!(
            value(&all, "probe_success", &[l[0], l[1], ("result", result)]),
            success,
            "{out}"
        );
        assert_eq!(find(&all, "probe_success", &[]).len(), 1, "{out}");
        let took = value(&all, "probe_duration_seconds", &l);
        let handshakes = find(&all, "nettool_probe_handshake_seconds", &l);
        let rtts = find(&all, "nettool_probe_rtt_seconds", &l);
        assert_eq!(value(&all, "nettool_probe_attempts", &l), 2.0, "{out}");
        if success == 1.0 {
            assert_eq!(value(&all, "nettool_probe_open_attempts", &l), 2.0);
            assert_eq!(handshakes.len(), 1, "{out}");
            assert!(handshakes[0].value > 0.0 && handshakes[0].value < 1.0);
            assert_eq!(rtts.len(), 1, "{out}");
            assert!(rtts[0].value > 0.0 && rtts[0].value < 1.0, "{out}");
            assert!((took - handshakes[0].value).abs() < 1e-9, "{out}");
        } else {
            assert_eq!(value(&all, "nettool_probe_open_attempts", &l), 0.0);
            assert!(handshakes.is_empty() && rtts.is_empty(), "{out}");
        }
        if result == "filtered" {
            // Silence until -W 1 gave up.
            assert!((0.9..5.0).contains(&took), "{took}\n{out}");
        } else {
            assert!(took > 0.0 && took < 0.9, "{took}\n{out}");
        }
        assert_eq!(
            value(&all, "nettool_run_success", &[("command", "probe")]),
            1.0,
            "a closed port is a run that did its job\n{out}"
        );
    }
}

#[test]
fn a_scan_has_one_series_per_port_and_counts_per_result() {
    // Guards: ports of a scan merged or lost, --open not limiting the
    // series, the per-result counts not adding up.
    let Some(lab) = lab::require_with(&["nft", "promtool"]) else {
        return;
    };
    let pair = lab.pair();
    let p = ports(&pair);
    let list = format!(
        "{}:{},{},{},7010-7019",
        lab::v4(2),
        p.open,
        p.closed,
        p.rejected
    );
    let out = probe(&pair.a, &["-W", "1", "--prometheus", &list]);
    assert_eq!(out.code(), Some(1), "not every port is open\n{out}");
    promtool_accepts(&out.stdout);
    let all = samples(&out.stdout);
    let series = find(&all, "probe_success", &[]);
    assert_eq!(series.len(), 13, "{out}");
    let ports: std::collections::BTreeSet<&str> =
        series.iter().map(|s| s.labels["port"].as_str()).collect();
    assert_eq!(ports.len(), 13, "one series per port\n{out}");
    let count = |r: &str| value(&all, "nettool_probe_scan_ports", &[("result", r)]);
    assert_eq!(count("open"), 1.0, "{out}");
    assert_eq!(count("refused_rst"), 11.0, "{out}");
    assert_eq!(count("refused_icmp"), 1.0, "{out}");
    assert_eq!(find(&all, "nettool_probe_scan_ports", &[]).len(), 10);
    let open = p.open.to_string();
    assert_eq!(
        value(
            &all,
            "probe_success",
            &[("port", &open), ("result", "open")]
        ),
        1.0
    );
    assert_eq!(find(&all, "nettool_probe_rtt_seconds", &[]).len(), 1);

    // --open: only the open port has series; exit 0 (one is open).
    let out = probe(&pair.a, &["-W", "1", "--open", "--prometheus", &list]);
    assert_eq!(out.code(), Some(0), "{out}");
    promtool_accepts(&out.stdout);
    let all = samples(&out.stdout);
    assert_eq!(find(&all, "probe_success", &[]).len(), 1, "{out}");
    assert_eq!(
        value(
            &all,
            "nettool_probe_scan_ports",
            &[("result", "refused_rst")]
        ),
        11.0
    );
}

#[test]
fn a_textfile_is_written_whole_and_stdout_stays_empty() {
    // Guards: output on stdout with --textfile alone, a temporary file
    // left beside the textfile, the exit status changed, a textfile
    // different from what --prometheus prints.
    let Some(lab) = lab::require_with(&["nft", "promtool"]) else {
        return;
    };
    let pair = lab.pair();
    let p = ports(&pair);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.prom");
    let path = file.to_str().unwrap();
    let out = probe(&pair.a, &["-c", "1", "--textfile", path, &b(p.closed)]);
    assert_eq!(out.code(), Some(1), "a closed port still exits 1\n{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    assert_eq!(prom::names_in(dir.path()), ["web.prom"]);
    let text = std::fs::read_to_string(&file).unwrap();
    promtool_accepts(&text);
    let all = samples(&text);
    let run = [("command", "probe"), ("textfile", "web.prom")];
    assert_eq!(value(&all, "nettool_run_success", &run), 1.0, "{text}");
    let closed = p.closed.to_string();
    assert_eq!(
        value(
            &all,
            "probe_success",
            &[("port", &closed), ("result", "refused_rst")]
        ),
        0.0
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644, "node_exporter's user reads it");

    // Both: the same text on stdout and in the file, the file replaced.
    let out = probe(
        &pair.a,
        &["-c", "1", "--prometheus", "--textfile", path, &b(p.open)],
    );
    assert_eq!(out.code(), Some(0), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(out.stdout, text);
    assert_eq!(prom::names_in(dir.path()), ["web.prom"]);
    assert!(text.contains("result=\"open\"} 1\n"), "{text}");
}

#[test]
fn modes_without_one_answer_per_port_are_refused_in_one_line() {
    // Guards: a watch, a trace or a behaviour test written as if it were
    // one probe, or a refusal that leaves the last good textfile in place.
    if util::which("promtool").is_none() {
        nettool::skip_or_fail("promtool is not installed (apt install prometheus)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.prom");
    let path = file.to_str().unwrap();
    let cases: [&[&str]; 7] = [
        &["-t", "127.0.0.1:9"],
        &["-c", "0", "127.0.0.1:9"],
        &["--trace", "127.0.0.1:9"],
        &["--half-close", "--send", "x", "127.0.0.1:9"],
        &["--keepalive", "1,1,1", "127.0.0.1:9"],
        &["--quiet-ok", "127.0.0.1:9"],
        &["-c", "3", "127.0.0.1:9,10"],
    ];
    for args in cases {
        let mut all = vec!["probe", "--textfile", path];
        all.extend_from_slice(args);
        let out = util::nettool(&all).run();
        assert_eq!(out.code(), Some(2), "{args:?}\n{out}");
        assert_eq!(out.stdout, "", "{out}");
        assert_eq!(out.stderr.lines().count(), 1, "{out}");
        assert!(out.stderr.contains("--textfile"), "{out}");
        // The failed run's file says so.
        let text = std::fs::read_to_string(&file).unwrap();
        promtool_accepts(&text);
        assert_eq!(
            value(
                &samples(&text),
                "nettool_run_success",
                &[("command", "probe")]
            ),
            0.0,
            "{text}"
        );
        assert!(!text.contains("probe_success"), "{text}");
    }
    let out = util::nettool(&["probe", "--prometheus", "-t", "127.0.0.1:9"]).run();
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.stderr.starts_with("nettool: --prometheus: -t "),
        "{out}"
    );
}

#[test]
fn a_target_given_as_a_name_keeps_it_as_a_label() {
    // Guards: the name lost (a target whose address moves would be lost
    // with it), or written where the address belongs. `localhost` comes
    // from /etc/hosts, never DNS, and the traffic stays on loopback.
    if util::which("promtool").is_none() {
        nettool::skip_or_fail("promtool is not installed (apt install prometheus)");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let target = format!("localhost:{port}");
    let out = util::nettool(&["probe", "-4", "-c", "1", "--prometheus", &target]).run();
    assert_eq!(out.code(), Some(0), "{out}");
    promtool_accepts(&out.stdout);
    let all = samples(&out.stdout);
    let l = [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("name", "localhost"),
    ];
    assert_eq!(
        value(
            &all,
            "probe_success",
            &[l[0], l[1], l[2], ("result", "open")]
        ),
        1.0,
        "{out}"
    );
    assert_eq!(value(&all, "nettool_probe_attempts", &l), 1.0, "{out}");
}
