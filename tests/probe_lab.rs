//! `nettool probe` against real kernels in the network lab (tests/lab).
//!
//! Every test builds its own pair of namespaces (A 198.51.100.1 and
//! `2001:db8::1`, B 198.51.100.2 and `2001:db8::2`), runs nettool only inside
//! A, and shapes B's answers with a real peer (`nettool probe serve`, or a
//! tiny peer written here for closes no `serve` behaviour makes) and nft
//! rules in B. Nothing is sent outside the pair (shared/LAB.md).
//!
//! Each case asserts the classification twice, in the text line and in
//! the `--json` record's `outcome.result` (the two runs go at the same
//! time), and the exit code of both. Timing assertions are about counts
//! and bounds (a SYN was retransmitted, death came within 20% of
//! IDLE + INTVL x CNT), never exact kernel timer values.

mod lab;
mod probe_common;
mod util;

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::Host;
use probe_common::{SCHEMA, num, probe, records, t4, t6};
use util::{Bg, Output};

/// The port every peer listens on (each test has its own namespaces).
const PORT: u16 = 7000;

// ---------------------------------------------------------------------------
// Running nettool in A

/// One `-c 1` probe run twice at the same time: as text and as `--json`.
struct Probed {
    text: Output,
    json: Output,
    /// The `--json` attempt record.
    attempt: Value,
    /// The `--json` summary record.
    summary: Value,
}

impl Probed {
    /// The text line of attempt 1.
    #[track_caller]
    fn line(&self) -> &str {
        self.text
            .stdout
            .lines()
            .find(|l| l.starts_with("1: "))
            .unwrap_or_else(|| panic!("no line for attempt 1\n{}", self.text))
    }

    fn outcome(&self) -> &Value {
        &self.attempt["outcome"]
    }

    /// The single behaviour finding, which must be the test `test`.
    #[track_caller]
    fn finding(&self, test: &str) -> &Value {
        let all = self.attempt["behaviour"]
            .as_array()
            .unwrap_or_else(|| panic!("JSON attempt lacks `behaviour`\n{}", self.json));
        assert_eq!(
            all.len(),
            1,
            "expected one behaviour finding\n{}",
            self.json
        );
        assert_eq!(all[0]["test"], test, "behaviour test\n{}", self.json);
        &all[0]
    }
}

/// [`probe`] as text and as `--json`, both at once; `during` runs
/// meanwhile (to change the network after the handshakes).
#[track_caller]
fn probe_both_during(a: &Host, args: &[&str], during: impl FnOnce()) -> Probed {
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(args);
    let (text, json) = thread::scope(|s| {
        let text = s.spawn(|| probe(a, args));
        let json = s.spawn(|| probe(a, &json_args));
        during();
        (
            text.join().expect("text probe thread"),
            json.join().expect("json probe thread"),
        )
    });
    let mut recs = records(&json);
    assert_eq!(
        recs.len(),
        2,
        "-c 1 --json: one attempt record, then the summary\n{json}"
    );
    let summary = recs.pop().expect("summary");
    let attempt = recs.pop().expect("attempt");
    assert_eq!(attempt["type"], "attempt", "{json}");
    assert_eq!(summary["type"], "summary", "{json}");
    Probed {
        text,
        json,
        attempt,
        summary,
    }
}

#[track_caller]
fn probe_both(a: &Host, args: &[&str]) -> Probed {
    probe_both_during(a, args, || {})
}

/// The attempt was classified `label` (text) / `result` (JSON) and both
/// runs exited with `exit`.
#[track_caller]
fn assert_outcome(p: &Probed, target: &str, label: &str, result: &str, exit: i32) {
    for out in [&p.text, &p.json] {
        assert_eq!(
            out.code(),
            Some(exit),
            "expected exit {exit} ({result})\n{out}"
        );
        assert!(
            out.stderr.trim().is_empty(),
            "a classified attempt is not an error: nothing on stderr\n{out}"
        );
    }
    let want = format!("1: {target} {label}");
    assert!(
        p.line().starts_with(&want),
        "text line should start with {want:?}\n{}",
        p.text
    );
    assert_eq!(
        p.outcome()["result"],
        result,
        "JSON outcome.result\n{}",
        p.json
    );
    assert_eq!(p.attempt["target"], target, "JSON target\n{}", p.json);
    assert_eq!(p.summary["attempts"], 1, "{}", p.json);
    assert_eq!(
        p.summary["open"],
        u64::from(result == "open"),
        "summary open count\n{}",
        p.json
    );
}

/// The ICMP evidence of the attempt, in JSON and in the text line.
#[track_caller]
fn assert_icmp(p: &Probed, version: u8, icmp_type: u8, code: u8, from: &str) {
    let icmp = &p.outcome()["icmp"];
    assert_eq!(icmp["version"], version, "icmp.version\n{}", p.json);
    assert_eq!(icmp["type"], icmp_type, "icmp.type\n{}", p.json);
    assert_eq!(icmp["code"], code, "icmp.code\n{}", p.json);
    assert_eq!(icmp["from"], from, "icmp.from (the sender)\n{}", p.json);
    let v = if version == 6 { "ICMPv6" } else { "ICMP" };
    let evidence = format!("{v} type {icmp_type} code {code} from {from}");
    assert!(
        p.line().contains(&evidence),
        "text line should carry {evidence:?}\n{}",
        p.text
    );
}

// ---------------------------------------------------------------------------
// Shaping B

/// TCP states as /proc/net/tcp writes them.
const ESTABLISHED: &str = "01";
const LISTEN: &str = "0A";

/// Sockets in `ns` with local port `port` in `state`, read from
/// /proc/net/tcp{,6} (an independent witness: not nettool's sockstat).
#[track_caller]
fn tcp_count(ns: &str, port: u16, state: &str) -> usize {
    let out = lab::run_in(ns, "cat", &["/proc/net/tcp", "/proc/net/tcp6"]);
    out.ok();
    out.stdout
        .lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3
                && f[3] == state
                && f[1]
                    .rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
                    == Some(port)
        })
        .count()
}

/// Waits (up to 5 s) until `ns` has at least `n` sockets on local `port`
/// in `state`.
#[track_caller]
fn wait_tcp(ns: &str, port: u16, state: &str, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if tcp_count(ns, port, state) >= n {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// `nettool probe serve PORT --behavior BEHAVIOR` in `b`, listening when
/// this returns (on [::]:PORT, which takes IPv4 too).
#[track_caller]
fn serve(b: &Host, behavior: &str) -> Bg {
    let port = PORT.to_string();
    let server = b
        .nettool_cmd(&["probe", "serve", &port, "--behavior", behavior])
        .spawn();
    assert!(
        wait_tcp(&b.ns, PORT, LISTEN, 1),
        "`probe serve` is not listening after 5 s\n{}",
        server.stop()
    );
    server
}

/// Loads an input chain with `rules` into B's nft table `lab` (added to
/// what is there).
#[track_caller]
fn firewall(b: &Host, rules: &[&str]) {
    lab::nft(
        &b.ns,
        &format!(
            "table inet lab {{\n chain input {{\n  type filter hook input priority 0;\n  {}\n }}\n}}\n",
            rules.join("\n  ")
        ),
    );
}

/// No ICMP rate limiting in B, so that back-to-back rejects each get their
/// ICMP error instead of some being silently suppressed.
#[track_caller]
fn no_icmp_ratelimit(b: &Host) {
    lab::sysctl(&b.ns, "net.ipv4.icmp_ratelimit", "0");
    lab::sysctl(&b.ns, "net.ipv6.icmp.ratelimit", "0");
}

/// How much [`closing_peer`] reads before it closes.
#[derive(Clone, Copy)]
enum Reads {
    /// This many bytes (or less, at EOF): 0 closes at once.
    Bytes(usize),
    /// Everything, up to our FIN.
    ToEof,
}

/// A peer written here, in B on `PORT`, for closes no `probe serve`
/// behaviour makes: it accepts `n` connections one after another, reads
/// as `reads` says (for at most 5 s), then closes: with FIN, or with RST
/// (`SO_LINGER` 0). Listening when this returns; the thread gives the bytes
/// read per connection.
fn closing_peer(b: &Host, n: usize, reads: Reads, rst: bool) -> thread::JoinHandle<Vec<usize>> {
    let addr = SocketAddr::new(b.ip.into(), PORT);
    let (ready_tx, listening) = mpsc::channel();
    let peer = lab::thread_in(&b.ns, move || {
        let listener = TcpListener::bind(addr).expect("closing peer: bind");
        listener
            .set_nonblocking(true)
            .expect("closing peer: nonblocking listener");
        ready_tx.send(()).expect("closing peer: report ready");
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = Vec::new();
        while seen.len() < n && Instant::now() < deadline {
            let mut conn = match listener.accept() {
                Ok((conn, _)) => conn,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(e) => panic!("closing peer: accept: {e}"),
            };
            conn.set_nonblocking(false).expect("blocking connection");
            conn.set_read_timeout(Some(Duration::from_secs(5)))
                .expect("read timeout");
            let mut got = 0;
            let mut buf = [0u8; 256];
            let want = match reads {
                Reads::Bytes(k) => k,
                Reads::ToEof => usize::MAX,
            };
            while got < want {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => got += k,
                }
            }
            if rst {
                socket2::SockRef::from(&conn)
                    .set_linger(Some(Duration::ZERO))
                    .expect("SO_LINGER 0");
            }
            drop(conn);
            seen.push(got);
        }
        seen
    });
    listening
        .recv_timeout(Duration::from_secs(5))
        .expect("closing peer did not start listening");
    peer
}

// ---------------------------------------------------------------------------
// Open, refused, filtered: how the SYN is answered

#[test]
fn open_port_is_open_with_handshake_and_kernel_rtt() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "accept");
    let t = t4(PORT);
    let p = probe_both(&pair.a, &["-c", "1", &t]);
    assert_outcome(&p, &t, "open", "open", 0);
    assert!(
        p.line().contains(" handshake ") && p.line().contains("(kernel rtt "),
        "handshake and kernel rtt on the attempt line\n{}",
        p.text
    );
    assert!(
        p.text.stdout.contains("handshake min/avg/max/mdev/p95 = ")
            && p.text
                .stdout
                .contains("kernel rtt (TCP_INFO) min/avg/max = "),
        "summary lines\n{}",
        p.text
    );
    assert!(num(p.outcome(), "handshake_us") > 0.0, "{}", p.json);
    assert!(num(p.outcome(), "kernel_rtt_us") > 0.0, "{}", p.json);
    assert!(p.summary["handshake"].is_object(), "{}", p.json);
    assert!(p.summary["kernel_rtt"].is_object(), "{}", p.json);
}

#[test]
fn open_port_v6_is_open() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let _server = serve(&pair.b, "accept");
    let t = t6(PORT);
    let p = probe_both(&pair.a, &["-c", "1", &t]);
    assert_outcome(&p, &t, "open", "open", 0);
    assert!(num(p.outcome(), "kernel_rtt_us") > 0.0, "{}", p.json);
}

/// Dropped SYNs: filtered once -W is over, not later, after at least one
/// SYN retransmit (the first comes after the initial RTO of 1 s).
#[track_caller]
fn assert_filtered(p: &Probed, target: &str) {
    assert_outcome(p, target, "filtered (no answer after ", "filtered", 1);
    for out in [&p.text, &p.json] {
        assert!(
            out.elapsed < Duration::from_secs_f64(2.5),
            "-W 1.5 must end the attempt: took {:?}\n{out}",
            out.elapsed
        );
    }
    let waited = num(p.outcome(), "waited_us");
    assert!(
        (1.4e6..2.5e6).contains(&waited),
        "waited about -W 1.5 s: {waited} us\n{}",
        p.json
    );
    assert!(
        num(p.outcome(), "syn_retransmits") >= 1.0,
        "the SYN was retransmitted at least once\n{}",
        p.json
    );
    assert!(
        !p.line().contains("after 0 SYN retransmits"),
        "text counts the retransmits\n{}",
        p.text
    );
}

/// How B answers a SYN, and what the probe must make of it.
struct Answer {
    name: &'static str,
    v6: bool,
    /// `probe serve` listens in B: a refusal can only be the firewall's.
    listener: bool,
    /// nft rules on B's input.
    rules: &'static [&'static str],
    /// The ports probed, one run each (the rules may treat them apart).
    ports: &'static [u16],
    /// `-W`, when not the default.
    wait: Option<&'static str>,
    want: Want,
}

enum Want {
    /// Text `label`, JSON `result`, exit 1; with ICMP evidence (version,
    /// type, code from B) when `icmp` is given, and then with B's ICMP
    /// rate limit off so that every reject gets its ICMP error.
    Refused {
        label: &'static str,
        result: &'static str,
        icmp: Option<(u8, u8, u8)>,
        /// A phrase the attempt line holds.
        says: Option<&'static str>,
    },
    /// [`assert_filtered`] (give `-W 1.5`).
    Filtered,
}

const ANSWERS: &[Answer] = &[
    Answer {
        name: "nothing listening is refused by RST",
        v6: false,
        listener: false,
        rules: &[],
        ports: &[PORT],
        wait: None,
        want: Want::Refused {
            label: "refused (RST)",
            result: "refused_rst",
            icmp: None,
            says: Some("nothing listens"),
        },
    },
    Answer {
        name: "nothing listening, IPv6, is refused by RST",
        v6: true,
        listener: false,
        rules: &[],
        ports: &[PORT],
        wait: None,
        want: Want::Refused {
            label: "refused (RST)",
            result: "refused_rst",
            icmp: None,
            says: None,
        },
    },
    Answer {
        name: "a firewall's TCP reset is refused by RST",
        v6: false,
        listener: true,
        rules: &["tcp dport 7000 reject with tcp reset"],
        ports: &[PORT],
        wait: Some("2"),
        want: Want::Refused {
            label: "refused (RST)",
            result: "refused_rst",
            icmp: None,
            says: None,
        },
    },
    Answer {
        name: "ICMP port unreachable is refused by ICMP with the sender",
        v6: false,
        listener: true,
        rules: &["tcp dport 7000 reject with icmp type port-unreachable"],
        ports: &[PORT],
        wait: Some("2"),
        want: Want::Refused {
            label: "refused (ICMP port unreachable)",
            result: "refused_icmp",
            icmp: Some((4, 3, 3)),
            says: None,
        },
    },
    // Both ways nft writes an ICMPv6 port unreachable: `icmpv6` and the
    // family-neutral `icmpx`.
    Answer {
        name: "ICMPv6 port unreachable is refused by ICMP with the sender",
        v6: true,
        listener: false,
        rules: &[
            "tcp dport 7001 reject with icmpv6 type port-unreachable",
            "tcp dport 7002 reject with icmpx type port-unreachable",
        ],
        ports: &[7001, 7002],
        wait: Some("2"),
        want: Want::Refused {
            label: "refused (ICMP port unreachable)",
            result: "refused_icmp",
            icmp: Some((6, 1, 4)),
            says: None,
        },
    },
    Answer {
        name: "ICMP host unreachable is host unreachable, type 3 code 1",
        v6: false,
        listener: true,
        rules: &["tcp dport 7000 reject with icmp type host-unreachable"],
        ports: &[PORT],
        wait: Some("2"),
        want: Want::Refused {
            label: "host unreachable",
            result: "host_unreachable",
            icmp: Some((4, 3, 1)),
            says: None,
        },
    },
    Answer {
        name: "ICMP admin prohibited is administratively prohibited, type 3 code 13",
        v6: false,
        listener: true,
        rules: &["tcp dport 7000 reject with icmp type admin-prohibited"],
        ports: &[PORT],
        wait: Some("2"),
        want: Want::Refused {
            label: "administratively prohibited",
            result: "admin_prohibited",
            icmp: Some((4, 3, 13)),
            says: None,
        },
    },
    Answer {
        name: "dropped SYNs are filtered within the timeout",
        v6: false,
        listener: true,
        rules: &["tcp dport 7000 drop"],
        ports: &[PORT],
        wait: Some("1.5"),
        want: Want::Filtered,
    },
    Answer {
        name: "dropped SYNs, IPv6, are filtered within the timeout",
        v6: true,
        listener: true,
        rules: &["tcp dport 7000 drop"],
        ports: &[PORT],
        wait: Some("1.5"),
        want: Want::Filtered,
    },
];

/// Refused (by RST or ICMP, with the ICMP sender) or filtered: each way B
/// answers a SYN, on a pair of its own.
#[test]
fn each_answer_to_the_syn_is_classified() {
    let Some(lab) = lab::require() else { return };
    util::run_cases(
        ANSWERS,
        |c| c.name,
        |case| {
            let pair = if case.v6 { lab.pair_v6() } else { lab.pair() };
            let _server = case.listener.then(|| serve(&pair.b, "accept"));
            if let Want::Refused { icmp: Some(_), .. } = case.want {
                no_icmp_ratelimit(&pair.b);
            }
            if !case.rules.is_empty() {
                firewall(&pair.b, case.rules);
            }
            for &port in case.ports {
                let t = if case.v6 { t6(port) } else { t4(port) };
                let mut args = vec!["-c", "1"];
                if let Some(w) = case.wait {
                    args.extend(["-W", w]);
                }
                args.push(&t);
                let p = probe_both(&pair.a, &args);
                match case.want {
                    Want::Refused {
                        label,
                        result,
                        icmp,
                        says,
                    } => {
                        assert_outcome(&p, &t, label, result, 1);
                        if let Some((version, icmp_type, code)) = icmp {
                            let from = if case.v6 {
                                "2001:db8::2"
                            } else {
                                "198.51.100.2"
                            };
                            assert_icmp(&p, version, icmp_type, code, from);
                        }
                        if let Some(says) = says {
                            assert!(p.line().contains(says), "{}", p.text);
                        }
                    }
                    Want::Filtered => assert_filtered(&p, &t),
                }
            }
        },
    );
}

/// 203.0.113.9 has no route in A (which has only its /24 and no default):
/// our own kernel refuses at `connect()`, nothing is sent.
#[test]
fn no_route_is_network_unreachable_immediately() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let no_route = lab::run_in(&pair.a.ns, "ip", &["route", "get", "203.0.113.9"]);
    assert_ne!(no_route.code(), Some(0), "A must have no route\n{no_route}");
    let t = "203.0.113.9:7000";
    let p = probe_both(&pair.a, &["-c", "1", t]);
    assert_outcome(&p, t, "network unreachable", "network_unreachable", 1);
    assert!(p.outcome()["icmp"].is_null(), "no ICMP: local\n{}", p.json);
    assert!(
        p.line().contains("(no route here), immediately"),
        "{}",
        p.text
    );
    let after = num(p.outcome(), "after_us");
    assert!(after < 100_000.0, "immediately: {after} us\n{}", p.json);
    assert!(p.json.elapsed < Duration::from_secs(1), "{}", p.json);
}

#[test]
fn rst_at_accept_is_reset_after_accept() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "rst");
    let t = t4(PORT);
    let p = probe_both(&pair.a, &["-c", "1", &t]);
    assert_outcome(&p, &t, "reset after accept", "reset_after_accept", 1);
    assert!(num(p.outcome(), "handshake_us") > 0.0, "{}", p.json);
    // The RST comes before our data: still reset after accept, and no
    // behaviour test runs on a connection that is gone.
    let p = probe_both(&pair.a, &["-c", "1", "--send", "hi", "--expect-close", &t]);
    assert_outcome(&p, &t, "reset after accept", "reset_after_accept", 1);
    assert_eq!(p.attempt["behaviour"], serde_json::json!([]), "{}", p.json);
}

// ---------------------------------------------------------------------------
// Closes: half-close, expect-close, RST vs FIN and TIME_WAIT

#[test]
fn half_close_sees_bytes_after_our_fin_then_the_peers_fin() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "half-close");
    let t = t4(PORT);
    let p = probe_both(&pair.a, &["-c", "1", "--half-close", "--send", "hello", &t]);
    assert_outcome(&p, &t, "open", "open", 0);
    let answer = "received 5 bytes\n".len();
    let f = p.finding("half_close");
    assert_eq!(f["bytes_after_our_fin"], answer, "{}", p.json);
    assert!(
        f["peer_fin_after_s"].is_f64(),
        "the peer's FIN came\n{}",
        p.json
    );
    assert_eq!(f["reset"], false, "{}", p.json);
    let text = &p.text.stdout;
    assert!(
        text.contains(&format!("the peer sent {answer} bytes"))
            && text.contains("four-way close complete"),
        "{}",
        p.text
    );
}

/// The peer reads our data and FIN, then resets instead of sending its FIN.
#[test]
fn half_close_sees_a_peer_that_resets_after_our_fin() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let peer = closing_peer(&pair.b, 2, Reads::ToEof, true);
    let t = t4(PORT);
    let p = probe_both(&pair.a, &["-c", "1", "--half-close", "--send", "hello", &t]);
    assert_eq!(peer.join().expect("closing peer"), [5, 5]);
    assert_outcome(&p, &t, "open", "open", 0);
    let f = p.finding("half_close");
    assert_eq!(f["reset"], true, "{}", p.json);
    assert!(f["peer_fin_after_s"].is_null(), "{}", p.json);
    assert!(
        p.text.stdout.contains("then reset the connection (RST)"),
        "{}",
        p.text
    );
}

/// A peer that closes (FIN) at once, before our data: our data then draws
/// its RST. The behaviour tests must report that, not end the run with a
/// socket error (no attempt line, no summary).
#[test]
fn half_close_with_a_peer_gone_at_accept_is_reported_not_an_error() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let peer = closing_peer(&pair.b, 2, Reads::Bytes(0), false);
    let t = t4(PORT);
    let p = probe_both(&pair.a, &["-c", "1", "--half-close", "--send", "hello", &t]);
    assert_eq!(peer.join().expect("closing peer"), [0, 0]);
    assert_outcome(&p, &t, "open", "open", 0);
    assert!(
        p.line().contains("then the peer closed (FIN)"),
        "{}",
        p.text
    );
    let f = p.finding("half_close");
    assert!(
        f["reset"] == true || f["peer_fin_after_s"].is_f64(),
        "the peer's FIN or RST is reported\n{}",
        p.json
    );
}

/// `serve --count N` says what it did with each connection and exits
/// after the Nth, for the behaviours served on a thread per connection.
#[test]
fn serve_logs_each_connection_and_exits_after_count() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let port = PORT.to_string();
    let mut server = pair
        .b
        .nettool_cmd(&[
            "probe",
            "serve",
            &port,
            "--behavior",
            "half-close",
            "--count",
            "2",
        ])
        .spawn();
    assert!(wait_tcp(&pair.b.ns, PORT, LISTEN, 1), "serve listens");
    let t = t4(PORT);
    let p = probe_both(&pair.a, &["-c", "1", "--half-close", "--send", "hello", &t]);
    assert_outcome(&p, &t, "open", "open", 0);
    let deadline = Instant::now() + Duration::from_secs(3);
    while server.running() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let exited = server.stop();
    assert!(
        !exited.timed_out,
        "--count 2: serve should exit after its second connection\n{exited}"
    );
    assert_eq!(exited.code(), Some(0), "{exited}");
    assert_eq!(
        exited.stdout.matches("read 5 bytes until its FIN").count(),
        2,
        "one line per connection: our 5 bytes, then our FIN\n{exited}"
    );
}

/// The peer of an `--expect-close` case.
enum Closer {
    /// `probe serve --behavior echo`: it waits for our FIN, so it never
    /// closes first.
    Echo,
    /// [`closing_peer`] for two connections, reading `reads` and closing
    /// with RST when `rst`; it must say it read `read` bytes on each.
    Peer {
        reads: Reads,
        rst: bool,
        read: usize,
    },
}

/// `--send hi --expect-close` against a peer that closes (or not) its way.
struct ExpectClose {
    name: &'static str,
    closer: Closer,
    /// `-W`, when not the default.
    wait: Option<&'static str>,
    exit: i32,
    /// The finding's `how`: one of these.
    how: &'static [&'static str],
    /// The finding's `bytes_received`, when checked.
    bytes_received: Option<u64>,
    /// A phrase the text output holds.
    says: Option<&'static str>,
}

const EXPECT_CLOSES: &[ExpectClose] = &[
    ExpectClose {
        name: "against an echo peer: did not close",
        closer: Closer::Echo,
        wait: Some("1"),
        exit: 1,
        how: &["none"],
        // Our "hi", echoed.
        bytes_received: Some(2),
        says: Some("peer did not close within"),
    },
    ExpectClose {
        name: "a graceful close (FIN)",
        closer: Closer::Peer {
            reads: Reads::Bytes(2),
            rst: false,
            read: 2,
        },
        wait: None,
        exit: 0,
        how: &["fin"],
        bytes_received: Some(0),
        says: Some("peer closed gracefully (FIN)"),
    },
    ExpectClose {
        name: "an abortive close (RST)",
        closer: Closer::Peer {
            reads: Reads::Bytes(2),
            rst: true,
            read: 2,
        },
        wait: None,
        exit: 0,
        how: &["rst"],
        bytes_received: None,
        says: Some("peer closed abortively (RST)"),
    },
    // A peer that closes (FIN) at once, before our data: our data then
    // draws its RST. The behaviour test must report that, not end the run
    // with a socket error (no attempt line, no summary).
    ExpectClose {
        name: "a peer gone at accept is reported, not an error",
        closer: Closer::Peer {
            reads: Reads::Bytes(0),
            rst: false,
            read: 0,
        },
        wait: None,
        exit: 0,
        // The peer closed: FIN (then RST for our data).
        how: &["fin", "rst"],
        bytes_received: None,
        says: None,
    },
];

#[test]
fn expect_close_reports_how_the_peer_closed() {
    let Some(lab) = lab::require() else { return };
    util::run_cases(
        EXPECT_CLOSES,
        |c| c.name,
        |case| {
            let pair = lab.pair();
            let (_server, peer) = match case.closer {
                Closer::Echo => (Some(serve(&pair.b, "echo")), None),
                Closer::Peer { reads, rst, read } => {
                    (None, Some((closing_peer(&pair.b, 2, reads, rst), read)))
                }
            };
            let t = t4(PORT);
            let mut args = vec!["-c", "1"];
            if let Some(w) = case.wait {
                args.extend(["-W", w]);
            }
            args.extend(["--send", "hi", "--expect-close", &t]);
            let p = probe_both(&pair.a, &args);
            if let Some((peer, read)) = peer {
                assert_eq!(peer.join().expect("closing peer"), [read, read]);
            }
            assert_outcome(&p, &t, "open", "open", case.exit);
            let f = p.finding("expect_close");
            assert!(
                case.how.iter().any(|h| f["how"] == *h),
                "how: one of {:?}\n{}",
                case.how,
                p.json
            );
            if let Some(n) = case.bytes_received {
                assert_eq!(f["bytes_received"], n, "{}", p.json);
            }
            if let Some(says) = case.says {
                assert!(p.text.stdout.contains(says), "{}", p.text);
            }
        },
    );
}

/// `TIME_WAIT` rows in A towards B's `PORT`, from `nettool sockstat`.
#[track_caller]
fn time_wait_rows(a: &Host) -> Vec<Value> {
    let port = PORT.to_string();
    let out = a.nettool(&[
        "sockstat",
        "-tan",
        "--state",
        "time-wait",
        "--dport",
        &port,
        "--json",
    ]);
    let rows = out.json()["sockets"]
        .as_array()
        .unwrap_or_else(|| panic!("sockstat JSON lacks `sockets`\n{out}"))
        .clone();
    assert_eq!(
        out.code(),
        Some(i32::from(rows.is_empty())),
        "sockstat exit: 0 with rows, 1 without\n{out}"
    );
    rows
}

#[test]
fn rst_close_leaves_no_time_wait_graceful_close_leaves_one() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "accept");
    let t = t4(PORT);

    let p = probe_both(&pair.a, &["-c", "1", "--rst", &t]);
    assert_outcome(&p, &t, "open", "open", 0);
    assert_eq!(p.attempt["closed_with"], "rst", "{}", p.json);
    assert!(
        p.text.stdout.contains("closed with RST (SO_LINGER 0)"),
        "{}",
        p.text
    );
    // Long enough for a FIN exchange to have ended in TIME_WAIT.
    thread::sleep(Duration::from_millis(300));
    let rows = time_wait_rows(&pair.a);
    assert!(rows.is_empty(), "--rst leaves no TIME_WAIT: {rows:?}");

    // -c 1 closes with FIN: we close first, so the TIME_WAIT is ours.
    let out = probe(&pair.a, &["-c", "1", &t]);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stdout.contains("closing with FIN"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(2);
    let rows = loop {
        let rows = time_wait_rows(&pair.a);
        if !rows.is_empty() || Instant::now() > deadline {
            break rows;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(rows.len(), 1, "one TIME_WAIT after a FIN close: {rows:?}");
    assert_eq!(rows[0]["remote"]["address"], "198.51.100.2", "{rows:?}");
    assert_eq!(rows[0]["remote"]["port"], PORT, "{rows:?}");
}

// ---------------------------------------------------------------------------
// Keepalive

/// The peer answers the handshake, then B drops everything to the port:
/// keepalive probes go unanswered and the kernel gives up after about
/// IDLE + INTVL x CNT = 1 + 1 x 3 = 4 s.
#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: whole-number settings"
)]
fn keepalive_declares_a_silenced_peer_dead_after_idle_plus_intvl_x_cnt() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "accept");
    let t = t4(PORT);
    let p = probe_both_during(&pair.a, &["-c", "1", "--keepalive", "1,1,3", &t], || {
        // Both handshakes done, the first keepalive probe a second away.
        assert!(
            wait_tcp(&pair.b.ns, PORT, ESTABLISHED, 2),
            "both probes should connect"
        );
        firewall(&pair.b, &["tcp dport 7000 drop"]);
    });
    assert_outcome(&p, &t, "open", "open", 1);
    let f = p.finding("keepalive");
    assert_eq!(f["verdict"], "dead", "{}", p.json);
    assert_eq!(num(f, "expected_dead_s"), 4.0, "{}", p.json);
    let after = num(f, "after_s");
    assert!(
        (3.2..=4.8).contains(&after),
        "dead within 20% of 4 s: after {after} s\n{}",
        p.json
    );
    assert!(
        num(f, "probes") >= 1.0,
        "unanswered probes counted\n{}",
        p.json
    );
    assert!(
        p.text
            .stdout
            .contains("keepalive: peer declared dead after"),
        "{}",
        p.text
    );
}

#[test]
fn keepalive_finds_a_silent_but_live_peer_alive() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "silent");
    let t = t4(PORT);
    let p = probe_both(
        &pair.a,
        &["-c", "1", "--keepalive", "1,1,3", "--hold", "3", &t],
    );
    assert_outcome(&p, &t, "open", "open", 0);
    let f = p.finding("keepalive");
    assert_eq!(f["verdict"], "alive", "{}", p.json);
    let after = num(f, "after_s");
    assert!((3.0..4.0).contains(&after), "held 3 s: {after}\n{}", p.json);
    assert!(
        p.text.stdout.contains("keepalive: peer alive after"),
        "{}",
        p.text
    );
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: whole-number settings"
)]
fn user_timeout_aborts_when_sent_data_stays_unacknowledged() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "accept");
    // B lets SYNs in (so the handshake completes on our side) and drops
    // everything else: our data is never acknowledged.
    firewall(&pair.b, &["tcp dport 7000 tcp flags != syn drop"]);
    let t = t4(PORT);
    let p = probe_both(
        &pair.a,
        &[
            "-c",
            "1",
            "--user-timeout",
            "1000",
            "--send",
            "hello",
            "--hold",
            "5",
            &t,
        ],
    );
    assert_outcome(&p, &t, "open", "open", 1);
    let f = p.finding("user_timeout");
    assert_eq!(f["verdict"], "dead", "{}", p.json);
    assert_eq!(num(f, "timeout_ms"), 1000.0, "{}", p.json);
    let after = num(f, "after_s");
    assert!(
        (0.8..=2.5).contains(&after),
        "aborted about TCP_USER_TIMEOUT after the data: {after} s\n{}",
        p.json
    );
    assert!(
        p.text
            .stdout
            .contains("user timeout 1000 ms: connection aborted after"),
        "{}",
        p.text
    );
}

// ---------------------------------------------------------------------------
// Bad input: exit 2, one line, nothing sent

/// Run inside A all the same: were a check missing, the probe must not
/// reach any real network.
#[test]
fn bad_input_exits_2_with_one_line() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let t = t4(PORT);
    for (args, mentions) in [
        (vec!["198.51.100.2"], "no port"),
        (vec!["198.51.100.2:0"], "'0'"),
        (vec!["198.51.100.2:70000"], "'70000'"),
        (vec!["--interval=-1", &t], "-i -1"),
        (vec!["--keepalive", "1,1", &t], "--keepalive '1,1'"),
    ] {
        let mut all = vec!["-c", "1"];
        all.extend_from_slice(&args);
        probe(&pair.a, &all).expect_usage_error(mentions);
    }
}

/// `-i -1` as two words: a negative interval, which should get the same
/// one-line usage error as `--interval=-1`.
#[test]
fn negative_interval_as_two_words_exits_2_with_one_line() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let t = t4(PORT);
    let out = probe(&pair.a, &["-c", "1", "-i", "-1", &t]);
    out.expect_usage_error("-1");
}

/// Every `--json` line, attempts (open or refused, with `TCP_INFO`) and the
/// summary, carries `"schema": "nettool.probe/1"` like every other JSON
/// output of nettool.
#[test]
fn json_lines_each_carry_the_schema() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "accept");
    for (port, exit) in [(PORT, 0), (PORT + 1, 1)] {
        let t = t4(port);
        let out = probe(&pair.a, &["--json", "-v", "-c", "2", "-i", "0.05", &t]);
        assert_eq!(out.code(), Some(exit), "{out}");
        let recs = records(&out);
        assert_eq!(recs.len(), 3, "two attempts, then the summary\n{out}");
        for (r, kind) in recs.iter().zip(["attempt", "attempt", "summary"]) {
            assert_eq!(r["type"], kind, "{out}");
            assert_eq!(r["schema"], SCHEMA, "{out}");
        }
    }
}

/// Flags that cannot work are told before the first attempt, in terms of
/// the flag: exit 2, one line, nothing on stdout. Before, a multicast or
/// broadcast target read as "network unreachable (no route here)", a
/// missing interface or a foreign source came after the PROBE header as
/// "cannot set up a connection", `--user-timeout` above the kernel's int
/// as "Invalid argument" (exit 1) once connected, `--user-timeout 0`
/// (the kernel's default: nothing tested) as "alive", `--hold` without a
/// test to hold for was ignored, and so was `--user-timeout` without data.
#[test]
fn flags_that_cannot_work_exit_2_before_the_first_attempt() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let _server = serve(&pair.b, "accept");
    let t = t4(PORT);
    let v6 = lab::v6(1).to_string();
    for (args, mentions) in [
        (vec!["224.0.0.1:7000"], "multicast"),
        (vec!["[ff02::1]:7000"], "multicast"),
        (vec!["255.255.255.255:7000"], "broadcast"),
        (
            vec!["-I", "nt-none0", &t],
            "-I 'nt-none0': no such interface",
        ),
        (vec!["-I", "a23456789012345x", &t], "at most 15 bytes"),
        (
            vec!["-s", "203.0.113.9", &t],
            "-s 203.0.113.9: not an address",
        ),
        (vec!["-s", &v6, &t], "different address families"),
        (vec!["--user-timeout", "0", &t], "--user-timeout 0"),
        (
            vec!["--user-timeout", "4294967295", "--send", "x", &t],
            "--user-timeout 4294967295",
        ),
        (vec!["--hold", "1", &t], "--hold"),
        // Without data there is nothing for the timeout to time: it said
        // "alive" and exit 0.
        (
            vec!["--user-timeout", "1000", "--hold", "1", &t],
            "--user-timeout needs --send",
        ),
    ] {
        let mut all = vec!["-c", "1"];
        all.extend_from_slice(&args);
        probe(&pair.a, &all).expect_usage_error(mentions);
    }
}

// ---------------------------------------------------------------------------
// serve out of file descriptors (loopback of this namespace: no lab needed)

/// CPU time (user + system) of process `pid` so far, from /proc.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // Fields after the command name (which is in parentheses): utime and
    // stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')').expect("comm in stat") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|x| x.parse().expect("a number in stat"))
        .collect();
    let hz: u64 = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
        .max(1);
    Duration::from_millis((f[0] + f[1]) * 1000 / hz)
}

/// The numbers of failures that `serve`'s "accept failed" lines stand for:
/// 1 for the first line, N for "accept failed N more times".
fn accept_failures(stderr: &str) -> Vec<u64> {
    stderr
        .lines()
        .filter(|l| l.contains("accept failed"))
        .map(|l| match l.split_once("accept failed ") {
            Some((_, rest)) => rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no count in {l:?}")),
            None => 1,
        })
        .collect()
}

/// At its descriptor limit `serve` cannot accept, and the kernel keeps
/// the connection queued, so accept fails again at once. It used to say
/// "accept failed: Too many open files; still listening" about 98 times a
/// second on stdout. Now it backs off (no busy loop: little CPU), says so
/// on stderr at most once a second with how many failures the line stands
/// for, keeps listening, and accepts again soon after descriptors free up.
#[test]
fn serve_at_its_descriptor_limit_backs_off_and_says_so_once_a_second() {
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let addr = free_loopback_addr();
    let stdout = tempfile::tempfile().expect("temp file");
    let stderr = tempfile::tempfile().expect("temp file");
    let mut server = util::nettool(&["probe", "serve", &addr.to_string(), "--behavior", "accept"])
        .wrapped(&["sh", "-c", "ulimit -n 16 && exec \"$0\" \"$@\""])
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(stdout.try_clone().expect("dup"))
        .stderr(stderr.try_clone().expect("dup"))
        .spawn()
        .expect("start serve");
    let pid = server.id();
    let server = Kill(&mut server);
    let read = |f: &std::fs::File| {
        use std::io::Seek;
        let mut f = f.try_clone().expect("dup");
        f.rewind().expect("rewind");
        let mut s = String::new();
        f.read_to_string(&mut s).expect("read output");
        s
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !read(&stdout).contains("listening on") {
        assert!(
            Instant::now() < deadline,
            "serve did not start\n{}",
            read(&stderr)
        );
        thread::sleep(Duration::from_millis(10));
    }
    // 16 descriptors: more connections than that exhaust them; the rest
    // wait in the accept queue.
    let conns: Vec<std::net::TcpStream> = (0..40)
        .map(|_| std::net::TcpStream::connect(addr).expect("connect to serve"))
        .collect();
    thread::sleep(Duration::from_millis(200));
    let cpu0 = cpu_time(pid);
    let t0 = Instant::now();
    thread::sleep(Duration::from_millis(2500));
    let held = t0.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu0);
    let err = read(&stderr);
    let out = read(&stdout);
    let fails = accept_failures(&err);
    assert!(
        !out.contains("accept failed"),
        "accept failures go to stderr, stdout is for connections\n{out}"
    );
    assert!(
        (2..=4).contains(&fails.len()),
        "over {held:?} of failing accepts: one line at once, then at most one a second\nstderr:\n{err}"
    );
    assert!(
        fails.iter().sum::<u64>() > fails.len() as u64,
        "the lines count the failures they stand for\n{err}"
    );
    assert!(
        cpu < Duration::from_millis(300),
        "backing off, not spinning: {cpu:?} of CPU in {held:?}"
    );
    assert!(
        matches!(server.0.try_wait(), Ok(None)),
        "serve still runs\n{err}"
    );
    // Descriptors free up as the held connections end: serve accepts
    // again, the queued ones first, then a new one.
    drop(conns);
    let t1 = Instant::now();
    let mut c = std::net::TcpStream::connect(addr).expect("connect after the flood");
    c.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("read timeout");
    std::io::Write::write_all(&mut c, b"hello").expect("send");
    c.shutdown(std::net::Shutdown::Write).expect("our FIN");
    let mut rest = Vec::new();
    c.read_to_end(&mut rest)
        .expect("serve closes the new connection after our FIN");
    let recovered = t1.elapsed();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !read(&stdout).contains("read 5 bytes until its FIN") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        read(&stdout).contains("read 5 bytes until its FIN"),
        "serve accepts again\n{}\n{}",
        read(&stdout),
        read(&stderr)
    );
    assert!(
        recovered < Duration::from_secs(1),
        "serve recovers promptly: {recovered:?}"
    );
}

/// Link-local IPv6 targets: without an interface the kernel refuses the
/// connect (it read as "error: Invalid argument"), so that is a usage
/// error naming the two ways to give one; `[fe80::2%IFACE]:PORT` and
/// `-I IFACE` both reach B; a %scope naming no interface is an error of
/// its own, not a name for the resolver.
#[test]
fn link_local_targets_need_their_interface() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    for (host, ll) in [(&pair.a, "fe80::1/64"), (&pair.b, "fe80::2/64")] {
        lab::ip(&host.ns, &["addr", "add", ll, "dev", &host.iface, "nodad"]);
    }
    let _server = serve(&pair.b, "accept");
    let bare = format!("[fe80::2]:{PORT}");
    probe(&pair.a, &["-c", "1", &bare]).expect_usage_error(&format!(
        "fe80::2 is link-local: name the interface, [fe80::2%IFACE]:{PORT} or -I IFACE"
    ));
    let by_scope = format!("[fe80::2%{}]:{PORT}", pair.a.iface);
    for args in [
        vec!["-c", "1", by_scope.as_str()],
        vec!["-c", "1", "-I", pair.a.iface.as_str(), bare.as_str()],
    ] {
        let out = probe(&pair.a, &args);
        assert_eq!(out.code(), Some(0), "{out}");
        assert!(out.stdout.contains(" open "), "{out}");
    }
    probe(&pair.a, &["-c", "1", &format!("[fe80::2%nt-none0]:{PORT}")])
        .expect_usage_error("no interface named 'nt-none0' here");
}

/// A `%scope` is looked up in the namespace nettool runs in, also when it
/// was entered without remounting /sys (`nsenter --net`, where
/// /sys/class/net still lists the host's interfaces); a numeric scope must
/// be an interface index there.
#[test]
fn link_local_scopes_resolve_in_the_namespace_not_in_sysfs() {
    // Guards: the scope name read from /sys/class/net/NAME/ifindex, which
    // under `nsenter --net` is the root namespace's; a numeric scope no
    // interface has taken as it is.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    for (host, ll) in [(&pair.a, "fe80::1/64"), (&pair.b, "fe80::2/64")] {
        lab::ip(&host.ns, &["addr", "add", ll, "dev", &host.iface, "nodad"]);
    }
    let _server = serve(&pair.b, "accept");
    // Under nsenter, not `ip netns exec`: /sys stays the root namespace's.
    let nsenter = format!("--net=/run/netns/{}", pair.a.ns);
    let target = format!("[fe80::2%{}]:{PORT}", pair.a.iface);
    let out = util::nettool(&["probe", "-c", "1", &target])
        .wrapped(&["nsenter", &nsenter])
        .run();
    assert_eq!(out.code(), Some(0), "by name under nsenter{out:?}");
    assert!(out.stdout.contains(" open "), "{out:?}");

    let link = lab::ip_json(&pair.a.ns, &["link", "show", &pair.a.iface]);
    let index = link[0]["ifindex"].as_u64().expect("ifindex");
    let out = probe(&pair.a, &["-c", "1", &format!("[fe80::2%{index}]:{PORT}")]);
    assert_eq!(out.code(), Some(0), "by index\n{out}");
    probe(&pair.a, &["-c", "1", &format!("[fe80::2%999999]:{PORT}")])
        .expect_usage_error("no interface with index 999999 here");
}

/// A serve waiting for connections stops on SIGTERM and on Ctrl-C at
/// once, exit 143 / 130 (std's accept retries after EINTR, so a signal
/// used to end the wait only when a connection came).
#[test]
fn serve_waiting_for_connections_stops_on_a_signal() {
    let cases = [("-TERM", 143), ("-INT", 130)];
    util::run_cases(
        &cases,
        |(signal, _)| signal,
        |&(signal, code)| {
            let addr = free_loopback_addr();
            let mut server =
                util::nettool(&["probe", "serve", &addr.to_string(), "--behavior", "accept"])
                    .command()
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("start serve");
            // Listening: one connection is served, then serve waits.
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::net::TcpStream::connect(addr).is_err() {
                assert!(Instant::now() < deadline, "serve did not start");
                thread::sleep(Duration::from_millis(10));
            }
            thread::sleep(Duration::from_millis(200));
            util::signal(&server, signal);
            let status = util::wait_bounded(
                &mut server,
                Duration::from_secs(3),
                &format!("kill {signal} while waiting in accept"),
            );
            assert_eq!(status.code(), Some(code), "exit status after {signal}");
        },
    );
}

/// Failures not yet said when serve stops are said: Ctrl-C in the middle
/// of a run of failing accepts ends serve with exit 130 and a last line
/// that counts them (they were lost with the process before).
#[test]
fn serve_stopped_while_accepts_fail_says_the_failures_not_yet_said() {
    let addr = free_loopback_addr();
    let mut server = util::nettool(&["probe", "serve", &addr.to_string(), "--behavior", "accept"])
        .wrapped(&["sh", "-c", "ulimit -n 16 && exec \"$0\" \"$@\""])
        .command()
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start serve");
    let pid = server.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    let conns: Vec<std::net::TcpStream> = loop {
        if let Ok(c) = std::net::TcpStream::connect(addr) {
            let mut all = vec![c];
            all.extend((0..39).map(|_| std::net::TcpStream::connect(addr).expect("connect")));
            break all;
        }
        assert!(Instant::now() < deadline, "serve did not start");
        thread::sleep(Duration::from_millis(10));
    };
    // The first failure is said at once, the next line is due a second
    // later: stop it half way, with failures not yet said.
    thread::sleep(Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(3);
    while matches!(server.try_wait(), Ok(None)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = server.kill();
    let out = server.wait_with_output().expect("wait for serve");
    drop(conns);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "exit 130 on SIGINT\n{err}");
    let fails = accept_failures(&err);
    assert!(fails.len() >= 2, "the first line and the last\n{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("nettool: accept failed ")
            && last.contains(" more time")
            && last.ends_with("; stopped"),
        "the failures not yet said, as serve stops: {last:?}\n{err}"
    );
}

/// A loopback address with a port nothing listens on (the kernel's pick,
/// released at once), for a `probe serve` of a test's own.
fn free_loopback_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}
