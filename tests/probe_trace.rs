//! `nettool probe --trace` over a real routed path in the network lab
//! (tests/lab `Lab::chain`): a client, three routers and a destination,
//! five namespaces joined by veth pairs, IPv4 and IPv6. nettool runs only
//! in the client and traces only to the destination (shared/LAB.md).
//!
//! Each case runs for both families: where the SYN dies is set up with
//! nft in the third router (a forward-chain drop, a prerouting drop, a
//! reject with admin prohibited) or the destination, and the hop list is
//! checked against the chain's own addresses and against Debian's
//! `traceroute -T` run as root in the same namespace.

mod lab;
mod util;

use std::net::{IpAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use lab::{Chain, Host};
use util::{Output, skip_or_fail, which};

/// The port the destination listens on.
const PORT: u16 = 7000;

/// Client, three routers, destination: the destination is hop 4.
const CHAIN: usize = 5;

/// Both families of a chain: (name, target text, hop addresses).
fn families(c: &Chain, port: u16) -> [(&'static str, String, Vec<IpAddr>); 2] {
    [
        ("IPv4", format!("{}:{port}", c.dest.ip), c.hops_v4()),
        (
            "IPv6",
            format!("[{}]:{port}", c.dest.ip6.expect("chain IPv6")),
            c.hops_v6(),
        ),
    ]
}

/// A listener on every address of `host`'s namespace, both families,
/// held by the test (the kernel completes handshakes into its backlog).
fn listen(host: &Host, port: u16) -> TcpListener {
    lab::thread_in(&host.ns, move || {
        TcpListener::bind(("::", port)).expect("destination: bind [::]:PORT")
    })
    .join()
    .expect("listener thread")
}

/// nft rules in `ns`: one chain on `hook` with `rule` for TCP to PORT.
fn nft_rule(ns: &str, hook: &str, rule: &str) {
    lab::nft(
        ns,
        &format!(
            "table inet lab {{\n chain labchain {{\n  type filter hook {hook} priority 0;\n  tcp dport {PORT} {rule}\n }}\n}}\n"
        ),
    );
}

/// `nettool probe --trace ARGS... TARGET` in the client.
#[track_caller]
fn trace(c: &Chain, args: &[&str], target: &str) -> Output {
    let mut all = vec!["probe", "--trace"];
    all.extend_from_slice(args);
    all.push(target);
    c.client.nettool(&all)
}

/// The hop lines of a trace (ours or traceroute's): hop number and the
/// first address on the line (`None` for `* * *`).
fn hops(text: &str) -> Vec<(u8, Option<IpAddr>)> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let hop = words.next()?.parse::<u8>().ok()?;
            let first = words.find_map(|w| w.parse::<IpAddr>().ok());
            Some((hop, first))
        })
        .collect()
}

/// The last line of stdout.
fn last_line(out: &Output) -> &str {
    out.stdout.lines().last().unwrap_or("")
}

#[track_caller]
fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(out.code(), Some(code), "{what}: exit {code}\n{out}");
    assert!(out.stderr.is_empty(), "{what}: nothing on stderr\n{out}");
}

/// The `--json` lines: hop records, then the trace record.
fn json_lines(out: &Output) -> (Vec<Value>, Value) {
    let mut v: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\n{out}")))
        .collect();
    let summary = v.pop().expect("a trace record");
    for r in &v {
        assert_eq!(r["schema"], "nettool.probe.trace/1", "{r}");
        assert_eq!(r["type"], "hop", "{r}");
    }
    assert_eq!(summary["schema"], "nettool.probe.trace/1");
    assert_eq!(summary["type"], "trace", "{summary}");
    (v, summary)
}

#[test]
fn trace_lists_every_router_in_order_and_ends_with_syn_ack() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &[], &target);
        assert_exit(&out, 0, family);
        let listed = hops(&out.stdout);
        let want: Vec<(u8, Option<IpAddr>)> =
            (1..).zip(expected.iter().copied().map(Some)).collect();
        assert_eq!(listed, want, "{family}\n{out}");
        assert!(
            out.stdout
                .lines()
                .nth(4)
                .is_some_and(|l| l.ends_with("[SYN-ACK]")),
            "{family}: hop 4 is tagged\n{out}"
        );
        assert_eq!(
            last_line(&out),
            format!("SYN-ACK from {} at hop 4: open", expected[3]),
            "{family}"
        );
        // The same as JSON lines: each router's time exceeded, then the
        // destination's SYN-ACKs; the trace record's verdict.
        let out = trace(&c, &["--json", "-q", "2"], &target);
        assert_exit(&out, 0, family);
        let (hop_records, summary) = json_lines(&out);
        assert_eq!(hop_records.len(), 4, "{family}\n{out}");
        for (i, r) in hop_records.iter().enumerate() {
            assert_eq!(r["hop"], i + 1, "{r}");
            assert_eq!(r["target"], target.as_str(), "{r}");
            let probes = r["probes"].as_array().expect("probes");
            assert_eq!(probes.len(), 2, "{r}");
            let reply = if i < 3 { "time_exceeded" } else { "syn_ack" };
            for p in probes {
                assert_eq!(p["reply"], reply, "{family} {r}");
                assert_eq!(p["from"], expected[i].to_string(), "{family} {r}");
                assert!(p["rtt_ms"].as_f64().is_some_and(|t| t > 0.0), "{r}");
            }
            if i < 3 {
                let (ty, version) = if family == "IPv4" { (11, 4) } else { (3, 6) };
                assert_eq!(probes[0]["icmp"]["type"], ty, "{r}");
                assert_eq!(probes[0]["icmp"]["version"], version, "{r}");
            }
        }
        assert_eq!(summary["verdict"], "open", "{summary}");
        assert_eq!(summary["hop"], 4, "{summary}");
        assert_eq!(summary["from"], expected[3].to_string(), "{summary}");
        assert_eq!(summary["hops"], 4, "{summary}");
        assert_eq!(summary["probes_sent"].as_u64().map(|n| n >= 8), Some(true));
    }
}

#[test]
fn closed_port_ends_with_rst_from_the_destination() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    for (family, target, expected) in families(&c, PORT + 1) {
        let out = trace(&c, &[], &target);
        assert_exit(&out, 1, family);
        assert_eq!(hops(&out.stdout).len(), 4, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "RST from {} at hop 4: refused: nothing listens on port {} there, or a firewall on the way resets the connection in its name",
                expected[3],
                PORT + 1
            ),
            "{family}"
        );
    }
}

#[test]
fn a_drop_in_the_third_routers_forward_chain_still_lists_it_and_dies_after_it() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    nft_rule(&c.routers[2].ns, "forward", "drop");
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &["--json"], &target);
        assert_exit(&out, 1, family);
        let (hop_records, summary) = json_lines(&out);
        assert_eq!(summary["verdict"], "silent", "{summary}");
        assert_eq!(summary["after_hop"], 3, "{summary}");
        assert_eq!(summary["silent_hops"], 5, "{summary}");
        assert_eq!(hop_records.len(), 8, "{family}\n{out}");
        // Five silent hops probed at once: about one 1 s timeout, not five.
        let elapsed = summary["elapsed_s"].as_f64().expect("elapsed_s");
        assert!(
            (1.0..4.0).contains(&elapsed),
            "{family}: {elapsed} s\n{out}"
        );
        let out = trace(&c, &[], &target);
        assert_exit(&out, 1, family);
        let mut want: Vec<(u8, Option<IpAddr>)> =
            (1..).zip(expected[..3].iter().copied().map(Some)).collect();
        want.extend((4..=8).map(|h| (h, None)));
        assert_eq!(hops(&out.stdout), want, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "no answer after hop 3 ({}): the SYN is dropped between hop 3 and the destination (5 silent hops in a row)",
                expected[2]
            ),
            "{family}"
        );
    }
}

#[test]
fn a_drop_in_the_third_routers_prerouting_hook_silences_it() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    nft_rule(&c.routers[2].ns, "prerouting", "drop");
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &["--max-silent", "3"], &target);
        assert_exit(&out, 1, family);
        let mut want: Vec<(u8, Option<IpAddr>)> =
            (1..).zip(expected[..2].iter().copied().map(Some)).collect();
        want.extend((3..=5).map(|h| (h, None)));
        assert_eq!(hops(&out.stdout), want, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "no answer after hop 2 ({}): the SYN is dropped between hop 2 and the destination (3 silent hops in a row)",
                expected[1]
            ),
            "{family}"
        );
    }
}

#[test]
fn a_reject_in_the_third_router_ends_there_with_the_icmp_type_named() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    let r3 = &c.routers[2];
    // In its forward chain: the router still answers the hop-3 probes
    // (time exceeded comes first) and rejects the hop-4 ones.
    nft_rule(&r3.ns, "forward", "reject with icmpx type admin-prohibited");
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &[], &target);
        assert_exit(&out, 1, family);
        let want: Vec<(u8, Option<IpAddr>)> = vec![
            (1, Some(expected[0])),
            (2, Some(expected[1])),
            (3, Some(expected[2])),
            (4, Some(expected[2])),
        ];
        assert_eq!(hops(&out.stdout), want, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "ICMP admin prohibited from {} (hop 3) at hop 4: a firewall on that router rejects the SYN",
                expected[2]
            ),
            "{family}"
        );
        let out = trace(&c, &["--json", "-q", "1"], &target);
        let (_, summary) = json_lines(&out);
        assert_eq!(summary["verdict"], "unreachable", "{summary}");
        assert_eq!(summary["kind"], "admin_prohibited", "{summary}");
        assert_eq!(summary["from_hop"], 3, "{summary}");
        // RFC 792 type 3 code 13; RFC 4443 type 1 code 1.
        let (ty, code) = if family == "IPv4" { (3, 13) } else { (1, 1) };
        assert_eq!(summary["icmp"]["type"], ty, "{summary}");
        assert_eq!(summary["icmp"]["code"], code, "{summary}");
    }
    // A reject on the destination itself, with port unreachable.
    lab::run_in(&r3.ns, "nft", &["flush", "ruleset"]).ok();
    nft_rule(
        &c.dest.ns,
        "input",
        "reject with icmpx type port-unreachable",
    );
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &["-q", "1"], &target);
        assert_exit(&out, 1, family);
        assert_eq!(hops(&out.stdout).len(), 4, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "ICMP port unreachable from {} at hop 4: a firewall on the destination rejects the port",
                expected[3]
            ),
            "{family}"
        );
    }
}

#[test]
fn max_hops_ends_it_before_the_destination() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &["--max-hops", "2", "-q", "1"], &target);
        assert_exit(&out, 1, family);
        assert_eq!(hops(&out.stdout).len(), 2, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "no answer from {} within 2 hops (last answer: hop 2, {}): the path is longer (try --max-hops), or loops",
                expected[3], expected[1]
            ),
            "{family}"
        );
    }
}

#[test]
fn the_hop_list_equals_traceroute_tcp() {
    let Some(lab) = lab::require_with(&["traceroute"]) else {
        return;
    };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    let port = PORT.to_string();
    for (family, target, expected) in families(&c, PORT) {
        let ip = expected[3].to_string();
        let flag = if family == "IPv4" { "-4" } else { "-6" };
        // Debian's traceroute, as root, TCP SYN probes to the same port.
        let oracle = c
            .client
            .run("traceroute", &[flag, "-T", "-n", "-p", &port, &ip]);
        oracle.ok();
        let theirs = hops(&oracle.stdout);
        let out = trace(&c, &[], &target);
        assert_exit(&out, 0, family);
        let ours = hops(&out.stdout);
        assert_eq!(
            ours, theirs,
            "{family}\nours:\n{out}\ntraceroute -T:\n{oracle}"
        );
        assert_eq!(
            ours.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
            expected.iter().copied().map(Some).collect::<Vec<_>>(),
            "{family}"
        );
    }
}

/// Whether uid `uid` exists in this user namespace.
fn uid_mapped(uid: u64) -> bool {
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.lines().any(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        f.len() == 3 && (f[0]..f[0] + f[2]).contains(&uid)
    })
}

/// A nettool binary uid 65534 can run: cargo's, or a copy in a 0755
/// directory (kept alive by the returned guard).
fn exe_for_nobody() -> (PathBuf, Option<tempfile::TempDir>) {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    let bin = util::bin();
    if mode(bin) & 0o001 != 0 && bin.ancestors().skip(1).all(|d| mode(d) & 0o001 != 0) {
        return (bin.to_path_buf(), None);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("nettool");
    std::fs::copy(bin, &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    (exe, Some(dir))
}

#[test]
fn an_unprivileged_user_can_trace() {
    let Some(lab) = lab::require_with(&["setpriv"]) else {
        return;
    };
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 || !uid_mapped(65534) {
        return skip_or_fail("needs root to drop to uid 65534 (nobody)");
    }
    let setpriv = which("setpriv").unwrap();
    let setpriv = setpriv.to_str().unwrap();
    let (exe, _guard) = exe_for_nobody();
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    for (family, target, expected) in families(&c, PORT) {
        let out = c
            .client
            .nettool_cmd(&["probe", "--trace", "-q", "2", &target])
            .exe(&exe)
            .wrapped(&[
                setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
            ])
            .timeout(Duration::from_secs(30))
            .run_retrying_text_busy();
        assert_exit(&out, 0, &format!("{family} as nobody"));
        let listed: Vec<Option<IpAddr>> = hops(&out.stdout).into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            listed,
            expected.iter().copied().map(Some).collect::<Vec<_>>(),
            "{family} as nobody\n{out}"
        );
    }
}

#[test]
fn bad_trace_arguments_are_one_line_and_exit_2() {
    for (args, said) in [
        (
            &["probe", "--trace", "127.0.0.1:22,80"][..],
            "nettool: --trace '127.0.0.1:22,80': give one port, not a list or a range",
        ),
        (
            &["probe", "--trace", "--max-hops", "0", "127.0.0.1:22"],
            "nettool: --max-hops 0: give 1 to 255 (the TTL / hop limit is 8 bits)",
        ),
        (
            &["probe", "--trace", "-c", "2", "127.0.0.1:22"],
            "nettool: --trace does not take -c (it is for repeated attempts); a trace takes --max-hops, -q, --max-silent, -W, -I, -s, -4/-6, --json",
        ),
    ] {
        let out = util::nettool(args).run();
        assert_eq!(out.code(), Some(2), "{out}");
        assert_eq!(out.stderr.trim_end(), said, "{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }
}

// ---------------------------------------------------------------------------
// The review of issue 14

/// A listener in `host`'s namespace that accepts in a loop and counts the
/// handshakes completed, until the guard is dropped.
struct Counting {
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Counting {
    fn new(host: &Host, port: u16) -> Counting {
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let listener = listen(host, port);
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let (c, st) = (count.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(_) => {
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Counting {
            count,
            stop,
            thread: Some(thread),
        }
    }

    /// Handshakes accepted so far (after a moment for the last ones).
    fn take(&self) -> usize {
        std::thread::sleep(Duration::from_millis(50));
        self.count.swap(0, Ordering::Relaxed)
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The review found 12 handshakes at a listener at hop 2 from one default
/// trace: the first window ran to hop `--max-silent`.
#[test]
fn the_destination_completes_no_more_handshakes_than_probes_per_hop() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let counting = Counting::new(&c.dest, PORT);
    for (family, target, _) in families(&c, PORT) {
        for q in ["3", "1"] {
            let out = trace(&c, &["-q", q], &target);
            assert_exit(&out, 0, family);
            let n = counting.take();
            assert!(
                (1..=q.parse().unwrap()).contains(&n),
                "{family} -q {q}: {n} handshakes at the destination\n{out}"
            );
        }
    }
    // A short chain: the destination at hop 2, as in the review.
    let short = lab::require().expect("lab").chain(3);
    let counting = Counting::new(&short.dest, PORT);
    let out = trace(&short, &[], &format!("{}:{PORT}", short.dest.ip));
    assert_exit(&out, 0, "hop 2");
    let n = counting.take();
    assert!((1..=3).contains(&n), "{n} handshakes at hop 2\n{out}");
}

/// The minimum round trip of each hop, from `--json` hop records.
fn min_rtts(out: &Output) -> Vec<f64> {
    let (hops, _) = json_lines(out);
    hops.iter()
        .map(|h| {
            h["probes"]
                .as_array()
                .expect("probes")
                .iter()
                .filter_map(|p| p["rtt_ms"].as_f64())
                .fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// The review saw the destination's round trips fall in launch order,
/// below hop 1's: they were the time poll woke, not the answer's.
#[test]
fn round_trips_rise_with_the_hop() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    for (family, target, _) in families(&c, PORT) {
        let out = trace(&c, &["--json"], &target);
        assert_exit(&out, 0, family);
        let rtts = min_rtts(&out);
        assert_eq!(rtts.len(), 4, "{family}\n{out}");
        // The veths forward within the sending call, microseconds a hop,
        // and a SYN-ACK's time (tcpi_rtt, from the kernel's send) is not
        // an ICMP's (kernel stamp minus our clock before connect()): they
        // differ by some microseconds. No hop's best is below half of hop
        // 1's, less that noise (the review saw the destination's at a
        // tenth of hop 1's, the time poll woke rather than the answer's).
        for (h, rtt) in rtts.iter().enumerate().skip(1) {
            assert!(
                *rtt >= rtts[0] / 2.0 - 0.005,
                "{family}: hop {} at {rtt} ms, below hop 1 at {} ms\n{out}",
                h + 1,
                rtts[0]
            );
        }
        assert!(
            rtts.iter().all(|r| *r > 0.0 && *r < 5.0),
            "{family}: {rtts:?}\n{out}"
        );
    }
}

/// A firewall's `reject with tcp reset` answers in the destination's name
/// one hop early: the verdict must not claim the port is closed.
#[test]
fn a_tcp_reset_from_a_firewall_is_not_called_closed() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    nft_rule(&c.routers[1].ns, "forward", "reject with tcp reset");
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &[], &target);
        assert_exit(&out, 1, family);
        let want: Vec<(u8, Option<IpAddr>)> = vec![
            (1, Some(expected[0])),
            (2, Some(expected[1])),
            (3, Some(expected[3])),
        ];
        assert_eq!(hops(&out.stdout), want, "{family}\n{out}");
        assert_eq!(
            last_line(&out),
            format!(
                "RST from {} at hop 3: refused: nothing listens on port {PORT} there, or a firewall on the way resets the connection in its name",
                expected[3]
            ),
            "{family}"
        );
        assert!(!out.stdout.contains("closed"), "{family}\n{out}");
    }
}

/// The review: only `IPV6_UNICAST_HOPS` was set for a v4-mapped target,
/// which the kernel ignores, so it said "SYN-ACK at hop 1".
#[test]
fn an_ipv4_mapped_target_is_traced_as_ipv4() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(CHAIN);
    let _listener = listen(&c.dest, PORT);
    let expected = c.hops_v4();
    let out = trace(&c, &["-q", "1"], &format!("[::ffff:{}]:{PORT}", c.dest.ip));
    assert_exit(&out, 0, "v4-mapped");
    assert!(
        out.stdout
            .starts_with(&format!("TRACE {}:{PORT}: ", c.dest.ip)),
        "named as IPv4\n{out}"
    );
    let want: Vec<(u8, Option<IpAddr>)> = (1..).zip(expected.iter().copied().map(Some)).collect();
    assert_eq!(hops(&out.stdout), want, "{out}");
}

/// With the kernel's default ICMP rate limits (a burst of 6 per
/// destination) a default trace, 3 probes per hop, still lists every hop.
#[test]
fn default_icmp_rate_limits_still_list_every_hop() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain_rate_limited(CHAIN);
    for (ns, key, want) in [
        (
            &c.routers[0].ns,
            "/proc/sys/net/ipv4/icmp_ratelimit",
            "1000",
        ),
        // 1000 ms on older kernels, 100 on newer: not 0.
        (&c.routers[0].ns, "/proc/sys/net/ipv6/icmp/ratelimit", ""),
    ] {
        let got = lab::run_in(ns, "cat", &[key]);
        let got = got.stdout.trim();
        assert!(
            got != "0" && (want.is_empty() || got == want),
            "{key} at its default: {got}"
        );
    }
    let _listener = listen(&c.dest, PORT);
    for (family, target, expected) in families(&c, PORT) {
        let out = trace(&c, &[], &target);
        assert_exit(&out, 0, family);
        let want: Vec<(u8, Option<IpAddr>)> =
            (1..).zip(expected.iter().copied().map(Some)).collect();
        assert_eq!(hops(&out.stdout), want, "{family}\n{out}");
        assert!(
            !out.stdout.lines().take(4).any(|l| l.contains('*')),
            "{family}: no probe unanswered\n{out}"
        );
    }
}

/// Our own kernel's errors, explained by the route (IPv4 targets in
/// 203.0.113.0/24 routed in the client alone).
#[test]
fn local_route_errors_are_named_by_the_route() {
    let Some(lab) = lab::require() else { return };
    let c = lab.chain(3);
    let ns = &c.client.ns;
    for (i, (kind, what)) in [
        (
            "unreachable",
            "no route to {} here: the route is `unreachable`",
        ),
        (
            "prohibit",
            "the route to {} is `prohibit`: our own host refuses it",
        ),
        (
            "blackhole",
            "the route to {} is a blackhole: our own host drops it",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for (ip, text) in [
            (
                format!("203.0.113.{}", 5 + i),
                format!("203.0.113.{}:{PORT}", 5 + i),
            ),
            (
                format!("2001:db8:ff::{}", 5 + i),
                format!("[2001:db8:ff::{}]:{PORT}", 5 + i),
            ),
        ] {
            let prefix = if ip.contains(':') { "128" } else { "32" };
            lab::run_in(ns, "ip", &["route", "add", kind, &format!("{ip}/{prefix}")]).ok();
            let said = format!("{} (see `ip route get {ip}`)", what.replace("{}", &ip));
            let out = trace(&c, &[], &text);
            assert_exit(&out, 1, kind);
            assert_eq!(last_line(&out), said, "{kind}\n{out}");
            assert_eq!(hops(&out.stdout).len(), 1, "{kind}: hop 1 only\n{out}");
            assert!(!out.stdout.contains(" ms"), "{kind}: no round trip\n{out}");
            let out = trace(&c, &["--json"], &text);
            let (_, summary) = json_lines(&out);
            assert_eq!(summary["route"]["kind"], kind, "{summary}");
        }
    }
    // A gateway that never answers ARP / NDP (reached on the link by
    // `onlink`).
    for (target, via, arp) in [
        ("203.0.113.9", "198.51.100.99", "ARP"),
        ("2001:db8:ff::9", "2001:db8::99", "NDP"),
    ] {
        lab::run_in(
            ns,
            "ip",
            &[
                "route",
                "add",
                target,
                "via",
                via,
                "dev",
                &c.client.iface,
                "onlink",
            ],
        )
        .ok();
        let text = if target.contains(':') {
            format!("[{target}]:{PORT}")
        } else {
            format!("{target}:{PORT}")
        };
        let out = trace(&c, &[], &text);
        assert_exit(&out, 1, "silent gateway");
        assert_eq!(
            last_line(&out),
            format!(
                "no {arp} reply from the gateway {via} (the router on {} is down or gone)",
                c.client.iface
            ),
            "{out}"
        );
    }
}

/// The review: `-W 0.001` was printed as "timeout 0.0 s".
#[test]
fn the_header_shows_the_timeout_as_given() {
    for (w, shown) in [("0.001", "0.001"), ("2.5", "2.5"), ("1", "1.0")] {
        let out = util::nettool(&["probe", "--trace", "-q", "1", "-W", w, "127.0.0.1:1"]).run();
        assert!(
            out.stdout.starts_with(&format!(
                "TRACE 127.0.0.1:1: up to 30 hops, 1 probes per hop, timeout {shown} s\n"
            )),
            "{out}"
        );
    }
}

#[test]
fn the_unspecified_address_and_any_interval_are_refused() {
    for args in [
        &["probe", "--trace", "0.0.0.0:1"][..],
        &["probe", "--trace", "[::]:1"],
        &["probe", "--trace", "-i", "1", "127.0.0.1:1"],
    ] {
        let out = util::nettool(args).run();
        assert_eq!(out.code(), Some(2), "{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }
    let out = util::nettool(&["probe", "--trace", "[::]:1"]).run();
    assert_eq!(
        out.stderr.trim_end(),
        "nettool: the unspecified address :: is no destination: give the host to trace to"
    );
}
