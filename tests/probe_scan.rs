//! `nettool probe` scans (many ports, many hosts) against real kernels in
//! the network lab (tests/lab), with nmap as the oracle.
//!
//! The prober (nettool, and nmap for comparison) runs only inside A; the
//! ports live in B (198.51.100.2, `2001:db8::2`), where listeners bound by
//! this test and nft rules shape every answer: a RST from the kernel or
//! from the firewall, ICMP port / host unreachable, admin prohibited, or
//! silence. Every port's state must be what `nmap -sT --reason -Pn` says
//! once nettool's finer classification is mapped to nmap's words by
//! `nettool::probe::scan::nmap_state`, and the planned answer besides.
//! Nothing is sent outside the lab (shared/LAB.md); nmap runs with `-n`,
//! so it asks no DNS server either.

mod lab;
mod probe_common;
mod util;

use std::collections::BTreeMap;
use std::net::TcpListener;

use serde_json::Value;

use lab::{Host, Pair};
use nettool::probe::scan::nmap_state;
use nettool::probe::{Icmp, Outcome, PeerMove};
use probe_common::{probe, records};
use util::Output;

/// How B answers a SYN to a port of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A listener accepts.
    Open,
    /// nft `reject with tcp reset`, a listener behind it.
    FirewallRst,
    /// Nothing listens: the kernel's RST.
    Closed,
    /// nft `reject with icmpx type port-unreachable`.
    PortUnreachable,
    /// nft `reject with icmpx type host-unreachable`.
    HostUnreachable,
    /// nft `reject with icmpx type admin-prohibited`, a listener behind.
    Prohibited,
    /// nft `drop`, a listener behind.
    Drop,
}

impl Answer {
    /// The plan, port by port: every kind spread over the range.
    fn of(i: u16) -> Answer {
        match i % 10 {
            0 | 8 => Answer::Open,
            1 => Answer::FirewallRst,
            4 => Answer::PortUnreachable,
            5 => Answer::HostUnreachable,
            6 => Answer::Prohibited,
            7 => Answer::Drop,
            _ => Answer::Closed,
        }
    }

    /// A listener is bound to the port (behind the firewall's rule, if
    /// any): so a refusal or silence can only be the firewall's.
    fn listens(self) -> bool {
        matches!(
            self,
            Answer::Open | Answer::FirewallRst | Answer::Prohibited | Answer::Drop
        )
    }

    /// The nft verdict for the port, if a rule treats it.
    fn rule(self) -> Option<&'static str> {
        match self {
            Answer::FirewallRst => Some("reject with tcp reset"),
            Answer::PortUnreachable => Some("reject with icmpx type port-unreachable"),
            Answer::HostUnreachable => Some("reject with icmpx type host-unreachable"),
            Answer::Prohibited => Some("reject with icmpx type admin-prohibited"),
            Answer::Drop => Some("drop"),
            Answer::Open | Answer::Closed => None,
        }
    }

    /// nettool's `outcome.result` for it.
    fn result(self) -> &'static str {
        match self {
            Answer::Open => "open",
            Answer::FirewallRst | Answer::Closed => "refused_rst",
            Answer::PortUnreachable => "refused_icmp",
            Answer::HostUnreachable => "host_unreachable",
            Answer::Prohibited => "admin_prohibited",
            Answer::Drop => "filtered",
        }
    }
}

/// B's ports `base..base + n`, answering as [`Answer::of`] plans, and the
/// listeners that make them so (closed when dropped).
struct Ports {
    base: u16,
    n: u16,
    _listeners: Vec<TcpListener>,
}

impl Ports {
    fn iter(&self) -> impl Iterator<Item = (u16, Answer)> + '_ {
        (0..self.n).map(|i| (self.base + i, Answer::of(i)))
    }

    fn range(&self) -> String {
        format!("{}-{}", self.base, self.base + self.n - 1)
    }
}

/// Listeners (IPv4 and IPv6, on `[::]`) bound in B by a thread of this
/// test, the nft rules, and no ICMP rate limit in B (so every reject gets
/// its ICMP error, for nettool and nmap alike).
fn plan(b: &Host, base: u16, n: u16) -> Ports {
    let ports: Vec<(u16, Answer)> = (0..n).map(|i| (base + i, Answer::of(i))).collect();
    let listen: Vec<u16> = ports
        .iter()
        .filter(|(_, a)| a.listens())
        .map(|&(p, _)| p)
        .collect();
    let listeners = lab::thread_in(&b.ns, move || {
        listen
            .iter()
            .map(|&p| TcpListener::bind(("::", p)).expect("bind a listener in B"))
            .collect::<Vec<_>>()
    })
    .join()
    .expect("listener thread");
    let mut rules: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (p, a) in &ports {
        if let Some(rule) = a.rule() {
            rules.entry(rule).or_default().push(p.to_string());
        }
    }
    let lines: Vec<String> = rules
        .iter()
        .map(|(rule, ports)| format!("  tcp dport {{ {} }} {rule}", ports.join(", ")))
        .collect();
    lab::nft(
        &b.ns,
        &format!(
            "table inet lab {{\n chain input {{\n  type filter hook input priority 0;\n{}\n }}\n}}\n",
            lines.join("\n")
        ),
    );
    // Destination unreachable (ICMP type 3, ICMPv6 type 1) out of the
    // rate masks: neither the per-destination nor the global limit
    // applies to it then.
    lab::sysctl(&b.ns, "net.ipv4.icmp_ratemask", "0");
    lab::sysctl(&b.ns, "net.ipv6.icmp.ratemask", "0,2-127");
    Ports {
        base,
        n,
        _listeners: listeners,
    }
}

/// The attempt records and the closing `scan_summary` record.
#[track_caller]
fn scan_records(out: &Output) -> (Vec<Value>, Value) {
    let mut recs = records(out);
    let summary = recs.pop().unwrap_or_else(|| panic!("no records{out:?}"));
    assert_eq!(summary["type"], "scan_summary", "the last record{out:?}");
    for r in &recs {
        assert_eq!(r["type"], "attempt", "{r}{out:?}");
        assert_eq!(r["seq"], 1, "each (host, port) once{out:?}");
    }
    (recs, summary)
}

fn f64_of(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is no number: {v}"))
}

fn u8_of(v: &Value, key: &str) -> u8 {
    v[key]
        .as_u64()
        .and_then(|n| u8::try_from(n).ok())
        .unwrap_or_else(|| panic!("{key} is no u8: {v}"))
}

/// The library's [`Outcome`] back from its JSON form, to put it through
/// [`nmap_state`].
#[track_caller]
fn outcome(v: &Value) -> Outcome {
    let icmp = |v: &Value| Icmp {
        version: u8_of(v, "version"),
        icmp_type: u8_of(v, "type"),
        code: u8_of(v, "code"),
        from: v["from"].as_str().map(|s| s.parse().expect("icmp.from")),
    };
    let opt_icmp = |v: &Value| (!v["icmp"].is_null()).then(|| icmp(&v["icmp"]));
    let after_us = || f64_of(v, "after_us");
    match v["result"]
        .as_str()
        .unwrap_or_else(|| panic!("no result: {v}"))
    {
        "open" => Outcome::Open {
            handshake_us: f64_of(v, "handshake_us"),
            kernel_rtt_us: u32::try_from(v["kernel_rtt_us"].as_u64().expect("rtt")).unwrap(),
            peer: (!v["peer"].is_null()).then_some(PeerMove::Fin),
        },
        "reset_after_accept" => Outcome::ResetAfterAccept {
            handshake_us: f64_of(v, "handshake_us"),
            reset_after_us: f64_of(v, "reset_after_us"),
        },
        "refused_rst" => Outcome::RefusedRst {
            after_us: after_us(),
        },
        "refused_icmp" => Outcome::RefusedIcmp {
            after_us: after_us(),
            icmp: icmp(&v["icmp"]),
        },
        "filtered" => Outcome::Filtered {
            waited_us: f64_of(v, "waited_us"),
            syn_retransmits: u8_of(v, "syn_retransmits"),
        },
        "host_unreachable" => Outcome::HostUnreachable {
            after_us: after_us(),
            icmp: opt_icmp(v),
        },
        "network_unreachable" => Outcome::NetworkUnreachable {
            after_us: after_us(),
            icmp: opt_icmp(v),
        },
        "admin_prohibited" => Outcome::AdminProhibited {
            after_us: after_us(),
            icmp: icmp(&v["icmp"]),
        },
        "error" => Outcome::Error {
            after_us: after_us(),
            error: v["error"].as_str().unwrap_or_default().to_string(),
        },
        other => panic!("an outcome this test does not know: {other}: {v}"),
    }
}

/// The value of `name="..."` in an XML tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

/// Ports `22`, `20-25,30` as numbers.
fn port_list(s: &str) -> Vec<u16> {
    s.split(',')
        .flat_map(|item| {
            let (lo, hi) = item.split_once('-').unwrap_or((item, item));
            let (lo, hi): (u16, u16) = (lo.parse().expect("port"), hi.parse().expect("port"));
            lo..=hi
        })
        .collect()
}

/// nmap's `-oX` verdict per port: (state, reason). Ports it lists one by
/// one (`<port>` then its `<state>`), and the ones it folds into
/// `<extraports>` (with a `ports` list per reason).
#[track_caller]
fn nmap_ports(xml: &str) -> BTreeMap<u16, (String, String)> {
    let tags: Vec<&str> = xml
        .split('<')
        .filter_map(|piece| piece.split('>').next())
        .collect();
    let mut found = BTreeMap::new();
    let mut put = |port: u16, state: &str, reason: &str| {
        let old = found.insert(port, (state.to_string(), reason.to_string()));
        assert!(old.is_none(), "nmap listed port {port} twice:\n{xml}");
    };
    let mut extra_state = None;
    for (i, tag) in tags.iter().enumerate() {
        if tag.starts_with("port ") {
            let port = attr(tag, "portid").and_then(|p| p.parse().ok());
            let state = tags.get(i + 1).filter(|t| t.starts_with("state "));
            let (Some(port), Some(state)) = (port, state) else {
                panic!("a <port> without its number or <state>: {tag}\n{xml}");
            };
            put(
                port,
                attr(state, "state").unwrap_or_default(),
                attr(state, "reason").unwrap_or_default(),
            );
        } else if tag.starts_with("extraports ") {
            extra_state = attr(tag, "state");
        } else if tag.starts_with("extrareasons ") {
            let state =
                extra_state.unwrap_or_else(|| panic!("extrareasons outside extraports\n{xml}"));
            let reason = attr(tag, "reason").unwrap_or_default();
            let ports = attr(tag, "ports")
                .unwrap_or_else(|| panic!("nmap 7.93 lists the ports of extrareasons\n{xml}"));
            for p in port_list(ports) {
                put(p, state, reason);
            }
        }
    }
    found
}

/// The nmap comparisons run one at a time: the IPv4 one floods the
/// machine, which changes the other's timing.
static ONE_NMAP_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// nmap's timing for a second look: every wait past the kernel's first
/// SYN retransmit (its initial RTO, 1 s).
const PATIENT: [&str; 6] = [
    "--initial-rtt-timeout",
    "1500ms",
    "--min-rtt-timeout",
    "1500ms",
    "--max-rtt-timeout",
    "3s",
];

/// nettool (`--json -W 0.5`) and then nmap (`-sT --reason -Pn -T4`) over
/// the same ports of B, from A: every port as planned in nettool's terms,
/// the same state and reason in nmap's, and nettool done first.
#[track_caller]
fn agree_with_nmap(pair: &Pair, ports: &Ports, v6: bool) {
    let _one = ONE_NMAP_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (host, target, family) = if v6 {
        let ip = lab::v6(2).to_string();
        (ip.clone(), format!("[{ip}]:{}", ports.range()), "-6")
    } else {
        let ip = lab::v4(2).to_string();
        (ip.clone(), format!("{ip}:{}", ports.range()), "-4")
    };
    let ours = probe(&pair.a, &["--json", "-W", "0.5", &target]);
    ours.expect_code(1);
    assert!(ours.stderr.is_empty(), "nothing on stderr{ours:?}");
    let run_nmap = |list: &str, timing: &[&str]| {
        let mut args = vec![family, "-n", "-sT", "--reason", "-Pn", "-T4"];
        args.extend_from_slice(timing);
        args.extend_from_slice(&["-p", list, "-oX", "-", &host]);
        let out = lab::run_in(&pair.a.ns, "nmap", &args);
        out.ok();
        out
    };
    let nmap = run_nmap(&ports.range(), &[]);
    let mut theirs = nmap_ports(&nmap.stdout);
    let (attempts, summary) = scan_records(&ours);
    // nmap's connect() can miss an ICMP answer: on a veth the SYN, B's
    // ICMP error and A's handling of it can all run inside connect() while
    // it holds the socket lock, and the kernel then keeps the error as a
    // soft one (TcpExtLockDroppedIcmps) and waits for its SYN retransmit
    // after the 1 s RTO; nmap -T4 gives up first and says "no-response".
    // So those ports are asked once more, with timeouts that
    // outlast the retransmit, whose answer (ICMP again, now taken as hard)
    // must then agree. nettool reads the error queue, lock or not.
    let again: Vec<String> = ports
        .iter()
        .zip(&attempts)
        .filter(|((port, _), rec)| {
            let (state, reason) = nmap_state(&outcome(&rec["outcome"]));
            theirs.get(port).is_some_and(|(s, r)| {
                r == "no-response" && (s != state || reason.is_some_and(|reason| r != reason))
            })
        })
        .map(|((port, _), _)| port.to_string())
        .collect();
    if !again.is_empty() {
        eprintln!("nmap said no-response for {again:?}: asking it again");
        theirs.extend(nmap_ports(&run_nmap(&again.join(","), &PATIENT).stdout));
    }
    assert_eq!(
        attempts.len(),
        usize::from(ports.n),
        "one record per port{ours:?}"
    );
    let mut wrong = Vec::new();
    for ((port, answer), rec) in ports.iter().zip(&attempts) {
        assert_eq!(rec["host"], host.as_str(), "{rec}");
        assert_eq!(rec["port"], port, "sorted by port: {rec}");
        let want_target = if v6 {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        assert_eq!(rec["target"], want_target.as_str(), "{rec}");
        let result = rec["outcome"]["result"].as_str().unwrap_or_default();
        if result != answer.result() {
            wrong.push(format!("{port} ({answer:?}): nettool says {result}"));
        }
        let (state, reason) = nmap_state(&outcome(&rec["outcome"]));
        let said = theirs.get(&port);
        let agree =
            said.is_some_and(|(s, r)| s == state && reason.is_none_or(|reason| r == reason));
        if !agree {
            wrong.push(format!(
                "{port} ({answer:?}): nettool {result} maps to nmap {state} {reason:?}, nmap says {said:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} ports disagree:\n{}\n{ours:?}\n{nmap:?}",
        wrong.len(),
        ports.n,
        wrong.join("\n")
    );
    assert_eq!(theirs.len(), usize::from(ports.n), "nmap saw every port");
    let opens = ports.iter().filter(|(_, a)| *a == Answer::Open).count();
    assert_eq!(summary["probes"], ports.n, "{summary}");
    assert_eq!(summary["open"], opens, "{summary}");
    assert_eq!(summary["hosts"][0]["host"], host.as_str(), "{summary}");
    assert_eq!(summary["hosts"][0]["states"]["open"], opens, "{summary}");
    assert!(
        ours.elapsed < nmap.elapsed,
        "nettool ({:?}) should finish before nmap -T4 ({:?})",
        ours.elapsed,
        nmap.elapsed
    );
    eprintln!(
        "{} ports: nettool {:.3} s, nmap -sT -T4 {:.3} s",
        ports.n,
        ours.elapsed.as_secs_f64(),
        nmap.elapsed.as_secs_f64()
    );
}

/// 1,000 ports of B over IPv4: open, RST (kernel and firewall), ICMP port
/// and host unreachable, admin prohibited, dropped.
#[test]
fn a_thousand_ports_agree_with_nmap_and_the_scan_is_faster() {
    let Some(lab) = lab::require_with(&["nmap", "nft"]) else {
        return;
    };
    let pair = lab.pair();
    let ports = plan(&pair.b, 20_000, 1000);
    agree_with_nmap(&pair, &ports, false);
}

/// The same over IPv6 (destination unreachable codes 4, 3 and 1), 200
/// ports.
#[test]
fn ipv6_ports_agree_with_nmap_and_the_scan_is_faster() {
    let Some(lab) = lab::require_with(&["nmap", "nft"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let ports = plan(&pair.b, 30_000, 200);
    agree_with_nmap(&pair, &ports, true);
}

/// `HOST:PORT open  handshake ...`: a probe's line that says open.
fn is_open_line(l: &str) -> bool {
    l.split(' ').nth(1) == Some("open") && l.contains(" open  handshake ")
}

/// Text: one line per (host, port) sorted by host then port (IPv4 before
/// IPv6, numeric order) whatever order the targets came in, each probed
/// once, then the counts per host; `--open` keeps only the open lines.
/// Exit 0 only when every probe was open (with `--open`: at least one).
#[test]
fn lines_sorted_by_host_then_port_open_only_and_counts_per_host() {
    let Some(lab) = lab::require_with(&["nft"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let ports = plan(&pair.b, 7000, 10);
    let b4 = lab::v4(2);
    let b6 = lab::v6(2);
    // 7000 and 7008 open, 7001 firewall RST, 7002/3/9 closed, 7004-7006
    // ICMP, 7007 dropped.
    let v6 = format!("[{b6}]:7009,7000-7002");
    let v4_high = format!("{b4}:7009,7008,7000");
    let v4_low = format!("{b4}:7001-7007,7000");
    let out = probe(&pair.a, &["-W", "0.5", &v6, &v4_high, &v4_low]);
    out.expect_code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("SCAN 14 probes, at most 256 in flight, timeout 0.5 s"),
        "a header{out:?}"
    );
    let mut want: Vec<String> = (7000..=7009).map(|p| format!("{b4}:{p} ")).collect();
    want.extend([7000, 7001, 7002, 7009].map(|p| format!("[{b6}]:{p} ")));
    let got = &lines[1..=want.len()];
    for (line, prefix) in got.iter().zip(&want) {
        assert!(
            line.starts_with(prefix.as_str()),
            "{line:?} should start with {prefix:?}{out:?}"
        );
    }
    for (line, (_, answer)) in got.iter().zip(ports.iter()) {
        let label = match answer {
            Answer::Open => " open  handshake ",
            Answer::FirewallRst | Answer::Closed => " refused (RST)  ",
            Answer::PortUnreachable => " refused (ICMP port unreachable)  ICMP type 3 code 3 ",
            Answer::HostUnreachable => " host unreachable  ICMP type 3 code 1 ",
            Answer::Prohibited => " administratively prohibited  ICMP type 3 code 13 ",
            Answer::Drop => " filtered (no answer after ",
        };
        assert!(line.contains(label), "{line:?} should say {label:?}{out:?}");
    }
    let rest = &lines[1 + want.len()..];
    assert!(
        rest[0].starts_with("--- scan: 14 probes of 2 hosts, "),
        "{out:?}"
    );
    let table: Vec<Vec<&str>> = rest[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        table,
        [
            vec![
                "HOST",
                "open",
                "closed",
                "rejected",
                "filtered",
                "unreachable",
                "prohibited"
            ],
            vec!["198.51.100.2", "2", "4", "1", "1", "1", "1"],
            vec!["2001:db8::2", "1", "3", "0", "0", "0", "0"],
            vec!["total", "3", "7", "1", "1", "1", "1"],
        ],
        "{out:?}"
    );

    let open = probe(&pair.a, &["--open", "-W", "0.5", &v6, &v4_low, &v4_high]);
    open.expect_code(0);
    let listed: Vec<&str> = open
        .stdout
        .lines()
        .filter(|l| is_open_line(l))
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    let all_lines = open.stdout.lines().count();
    assert_eq!(
        listed,
        [
            format!("{b4}:7000"),
            format!("{b4}:7008"),
            format!("[{b6}]:7000")
        ],
        "{open:?}"
    );
    assert_eq!(
        all_lines,
        1 + 3 + 1 + 4,
        "header, 3 open lines, the summary{open:?}"
    );

    // Every probe open: exit 0; --open with none open: exit 1.
    probe(
        &pair.a,
        &[&format!("{b4}:7000,7008"), &format!("[{b6}]:7000")],
    )
    .expect_code(0);
    let none = probe(&pair.a, &["--open", &format!("{b4}:7002,7003")]);
    none.expect_code(1);
    assert_eq!(
        none.stdout.lines().filter(|l| is_open_line(l)).count(),
        0,
        "{none:?}"
    );
}

/// A network expands to every address, network and broadcast addresses
/// too, sorted; the JSON records carry `host` and `port`. Hosts 10 and 12
/// of a star listen, 11 refuses, 8 and 9 do not exist (silence, or host
/// unreachable once ARP gives up).
#[test]
fn a_network_expands_to_every_address_in_order() {
    let Some(lab) = lab::require() else { return };
    let star = lab.star(3);
    let port: u16 = 7000;
    let listeners: Vec<TcpListener> = [&star.hosts[0], &star.hosts[2]]
        .into_iter()
        .map(|h| {
            lab::thread_in(&h.ns, move || {
                TcpListener::bind(("0.0.0.0", port)).expect("bind a listener")
            })
            .join()
            .expect("listener thread")
        })
        .collect();
    let out = star.client.nettool(&[
        "probe",
        "--json",
        "-W",
        "0.5",
        "198.51.100.12:7000",
        "198.51.100.8/30:7000",
    ]);
    out.expect_code(1);
    let (attempts, summary) = scan_records(&out);
    let hosts: Vec<&str> = attempts
        .iter()
        .map(|r| r["host"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        hosts,
        [
            "198.51.100.8",
            "198.51.100.9",
            "198.51.100.10",
            "198.51.100.11",
            "198.51.100.12"
        ],
        "{out:?}"
    );
    let results: Vec<&str> = attempts
        .iter()
        .map(|r| r["outcome"]["result"].as_str().unwrap_or_default())
        .collect();
    for r in &attempts {
        assert_eq!(r["port"], port, "{r}");
        assert_eq!(
            r["target"],
            format!("{}:{port}", r["host"].as_str().unwrap_or_default()).as_str()
        );
    }
    for absent in &results[..2] {
        assert!(
            ["filtered", "host_unreachable"].contains(absent),
            "no host at the address: silence or host unreachable, not {absent}{out:?}"
        );
    }
    assert_eq!(&results[2..], ["open", "refused_rst", "open"], "{out:?}");
    assert_eq!(summary["probes"], 5, "{summary}");
    assert_eq!(summary["open"], 2, "{summary}");
    let per_host: Vec<&str> = summary["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["host"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(per_host, hosts, "{summary}");
    drop(listeners);
}

/// An open-files limit below --parallel: the scan says so on stderr, keeps
/// within it, and still probes every port right.
#[test]
fn a_low_open_files_limit_lowers_parallel_and_says_so() {
    let Some(lab) = lab::require_with(&["prlimit"]) else {
        return;
    };
    let pair = lab.pair();
    let ports = plan(&pair.b, 7000, 100);
    let target = format!("{}:{}", lab::v4(2), ports.range());
    let out = pair
        .a
        .nettool_cmd(&[
            "probe",
            "--json",
            "-W",
            "0.5",
            "--parallel",
            "1000",
            &target,
        ])
        .wrapped(&["prlimit", "--nofile=48:48"])
        .run();
    out.expect_code(1);
    let lines = out.stderr_nonblank_lines();
    assert_eq!(lines.len(), 1, "one note{out:?}");
    assert!(
        lines[0].contains("--parallel 1000 lowered to 32")
            && lines[0].contains("RLIMIT_NOFILE) is 48"),
        "{out:?}"
    );
    let (attempts, summary) = scan_records(&out);
    assert_eq!(summary["parallel"], 32, "{summary}");
    for ((port, answer), rec) in ports.iter().zip(&attempts) {
        assert_eq!(rec["port"], port, "{rec}");
        assert_eq!(rec["outcome"]["result"], answer.result(), "{rec}");
    }
}

/// Ctrl-C ends a scan at once: the probes that ended are listed and
/// counted, a line says it was interrupted, exit 1.
#[test]
fn ctrl_c_ends_a_scan_with_the_probes_that_ended() {
    let Some(lab) = lab::require_with(&["nft"]) else {
        return;
    };
    let pair = lab.pair();
    // 7000-7009 closed (RST at once); 7010-7099 dropped, -W 20: the scan
    // would take minutes at 10 in flight.
    lab::nft(
        &pair.b.ns,
        "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 7010-7099 drop\n }\n}\n",
    );
    let target = format!("{}:7000-7099", lab::v4(2));
    let mut child = pair
        .a
        .nettool_cmd(&["probe", "--parallel", "10", "-W", "20", &target])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start nettool");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    util::signal(&child, "-INT");
    let status = util::wait_bounded(&mut child, std::time::Duration::from_secs(5), "SIGINT");
    let stdout = util::read_all(child.stdout.take().expect("stdout"));
    let stderr = util::read_all(child.stderr.take().expect("stderr"));
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    let probed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("198.51.100.2:"))
        .collect();
    assert_eq!(probed.len(), 10, "the ten closed ports ended{stdout}");
    assert!(
        probed.iter().all(|l| l.contains(" refused (RST) ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("--- scan: 10 probes of 1 host, ")
            && stdout.contains("\ninterrupted: the probes not made are not listed\n"),
        "{stdout}"
    );
}

/// Bad scans are one line on stderr and exit 2, before anything is sent
/// (run inside A all the same).
#[test]
fn bad_input_exits_2_with_one_line() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    for (args, mentions) in [
        (&["198.51.100.2:0,22"][..], "port '0' is not valid"),
        (&["198.51.100.2:22,65536"], "port '65536' is not valid"),
        (
            &["198.51.100.2:90-80"],
            "port range '90-80' is reversed: write 80-90",
        ),
        (
            &["198.51.100.2:22,,80"],
            "an empty item in the port list '22,,80'",
        ),
        (
            &["198.51.100.2:22,"],
            "an empty item in the port list '22,'",
        ),
        (
            &["198.51.100.2:1-65535", "198.51.100.3:1-2"],
            "65537 probes in one run, more than 65536: give --max-probes N",
        ),
        (
            &["--max-probes", "100", "198.51.100.0/24:1"],
            "256 probes in one run, more than --max-probes 100",
        ),
        (
            &["198.50.0.0/15:22"],
            "spans 131072 addresses: at most 65536",
        ),
        (&["[2001:db8::/64]:22"], "at most 65536 in one target"),
        (&["--parallel", "0", "198.51.100.2:22,80"], "--parallel 0"),
        (
            &["--rate", "0", "198.51.100.2:22,80"],
            "--rate 0: give a positive number",
        ),
        (
            &["--rate", "-1", "198.51.100.2:22,80"],
            "--rate -1: give a positive number",
        ),
        // -c N, -c 0 and -t make rounds (tests/probe_scan_watch.rs); what
        // only rounds take is refused for one round.
        (
            &["-i", "0.5", "198.51.100.2:22,80"],
            "-i 0.5 paces the rounds of a scan: give -t, -c N or -w SECS too",
        ),
        (
            &["--quiet-ok", "198.51.100.2:22", "198.51.100.3:22"],
            "--quiet-ok with one round: no state change to show",
        ),
        (
            &["-t", "-r", "198.51.100.2:1-10"],
            "-r works on one HOST:PORT, not on a scan of many",
        ),
    ] {
        probe(&pair.a, args).expect_usage_error(mentions);
    }
}

/// Not a test of scans: this file's reading of nmap's XML, on nmap's
/// own words (ports listed one by one, and folded into extraports).
#[test]
fn nmap_xml_is_read_port_by_port_and_from_extraports() {
    let xml = r#"<?xml version="1.0"?>
<nmaprun><host><ports><extraports state="closed" count="3">
<extrareasons reason="conn-refused" count="3" proto="tcp" ports="20001-20002,20009"/>
</extraports>
<port protocol="tcp" portid="20000"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="x"/></port>
<port protocol="tcp" portid="20007"><state state="filtered" reason="no-response" reason_ttl="0"/></port>
</ports></host></nmaprun>"#;
    let pair = |s: &str, r: &str| (s.to_string(), r.to_string());
    assert_eq!(
        nmap_ports(xml).into_iter().collect::<Vec<_>>(),
        [
            (20000, pair("open", "syn-ack")),
            (20001, pair("closed", "conn-refused")),
            (20002, pair("closed", "conn-refused")),
            (20007, pair("filtered", "no-response")),
            (20009, pair("closed", "conn-refused")),
        ]
    );
}
