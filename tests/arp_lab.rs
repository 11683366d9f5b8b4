//! `nettool arp` against real kernels in the network lab (tests/lab).
//!
//! Every nettool run happens inside a namespace the test made: the peers
//! are real Linux ARP stacks on veth links and bridges, never a real
//! network (shared/LAB.md). Each test asserts both what nettool concluded
//! and its exit code, and keeps counts at 2-3 and intervals at 0.2 s.
//!
//! The `harness_*` tests check the lab itself, with `arping` and `arp-scan`
//! as independent witnesses, so that a failing arp test points at nettool
//! and not at the lab.

mod lab;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::{Host, Star, arp, macs_in, v4};
use util::{Output, assert_exit, peak_rss_kib};

// ---------------------------------------------------------------------------
// Helpers

/// Asserts stderr is exactly one non-empty line and returns it.
#[track_caller]
fn one_stderr_line<'a>(out: &'a Output, guards: &str) -> &'a str {
    let lines = out.stderr_nonblank_lines();
    assert_eq!(
        lines.len(),
        1,
        "{guards}: expected exactly one line on stderr\n{out}"
    );
    lines[0]
}

/// `v[key]`, which must be present.
#[track_caller]
fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("JSON lacks key {key:?}: {v}"))
}

#[track_caller]
fn num(v: &Value, key: &str) -> f64 {
    field(v, key)
        .as_f64()
        .unwrap_or_else(|| panic!("JSON {key:?} is not a number: {v}"))
}

#[track_caller]
fn string<'a>(v: &'a Value, key: &str) -> &'a str {
    field(v, key)
        .as_str()
        .unwrap_or_else(|| panic!("JSON {key:?} is not a string: {v}"))
}

#[track_caller]
fn boolean(v: &Value, key: &str) -> bool {
    field(v, key)
        .as_bool()
        .unwrap_or_else(|| panic!("JSON {key:?} is not a boolean: {v}"))
}

#[track_caller]
fn array<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    field(v, key)
        .as_array()
        .unwrap_or_else(|| panic!("JSON {key:?} is not an array: {v}"))
}

/// The IPv4 addresses written in `text` (a CIDR's address included).
fn ipv4s_in(text: &str) -> Vec<Ipv4Addr> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse().ok())
        .collect()
}

/// From sweep text output: for every line naming both an address of the
/// lab subnet and a MAC, address -> MACs on such lines.
fn sweep_text_hosts(stdout: &str) -> BTreeMap<Ipv4Addr, BTreeSet<String>> {
    let mut hosts: BTreeMap<Ipv4Addr, BTreeSet<String>> = BTreeMap::new();
    for line in stdout.lines() {
        let macs = macs_in(line);
        if macs.is_empty() {
            continue;
        }
        for ip in ipv4s_in(line) {
            if ip.octets()[..3] == lab::NET4.octets()[..3] {
                hosts.entry(ip).or_default().extend(macs.iter().cloned());
            }
        }
    }
    hosts
}

/// What a sweep must find in a star: each host's address and MAC.
fn expected_hosts(star: &Star) -> BTreeMap<Ipv4Addr, BTreeSet<String>> {
    let mut want: BTreeMap<Ipv4Addr, BTreeSet<String>> = BTreeMap::new();
    for (host, mac) in star.hosts.iter().zip(star.host_macs()) {
        want.entry(host.ip).or_default().insert(mac);
    }
    want
}

/// The sweep JSON's hosts: address -> MACs, checking each entry's shape.
#[track_caller]
fn sweep_json_hosts(doc: &Value) -> BTreeMap<Ipv4Addr, BTreeSet<String>> {
    assert_eq!(string(doc, "schema"), "nettool.arp.sweep/1", "{doc}");
    let mut got: BTreeMap<Ipv4Addr, BTreeSet<String>> = BTreeMap::new();
    for h in array(doc, "hosts") {
        let ip: Ipv4Addr = string(h, "ip").parse().expect("hosts[].ip is IPv4");
        let mac = string(h, "mac").to_ascii_lowercase();
        assert!(lab::is_mac(&mac), "hosts[].mac: {h}");
        let vendor = field(h, "vendor");
        assert!(
            vendor.is_null() || vendor.is_string(),
            "hosts[].vendor: {h}"
        );
        // An RTT timed with a monotonic clock across two syscalls is never
        // exactly 0: a 0 means the send was stamped after the reply.
        assert!(
            num(h, "rtt_ms") > 0.0,
            "hosts[].rtt_ms is not a measurement: {h}"
        );
        boolean(h, "duplicate");
        got.entry(ip).or_default().insert(mac);
    }
    got
}

/// Polls `f` until it returns `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A zombie holds no namespace any more.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

// ---------------------------------------------------------------------------
// The harness itself

#[test]
fn harness_names_are_unique_and_fit_an_interface_name() {
    let names: Vec<String> = (0..200).map(|_| lab::unique_name()).collect();
    let distinct: BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len());
    let prefix = format!("nt-{}-", std::process::id());
    for n in &names {
        assert!(
            n.starts_with(&prefix) && n.len() <= lab::IFNAMSIZ_MAX,
            "{n}"
        );
    }
}

#[test]
fn harness_macs_in_finds_macs_in_either_case_and_nothing_else() {
    let text = "reply from 198.51.100.2 [02:AB:cd:00:11:22] and 02:00:00:00:00:01, \
                not 2:0:0:0:0:1 nor 02:00:00:00:00:00:01 nor fe80::1";
    assert_eq!(macs_in(text), ["02:ab:cd:00:11:22", "02:00:00:00:00:01"]);
    assert_eq!(
        ipv4s_in("198.51.100.0/24 and 198.51.100.7."),
        [v4(0), v4(7)]
    );
}

#[test]
#[should_panic(expected = "lab safety")]
fn harness_refuses_to_run_outside_its_own_namespaces() {
    // Guards the lab's one safety rule: no command runs in a namespace the
    // test did not make (here: one that does not exist).
    lab::run_in("nt-not-ours", "true", &[]);
}

#[test]
fn harness_pair_namespaces_exist_then_vanish_on_drop() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let names = pair.net.namespaces().to_vec();
    assert_eq!(names.len(), 2);
    for ns in &names {
        assert!(Path::new("/run/netns").join(ns).exists(), "{ns} missing");
    }
    // A's addresses and routes: the veth subnet only.
    let addrs = lab::ip_json(&pair.a.ns, &["-4", "addr", "show", "dev", &pair.a.iface]);
    assert_eq!(addrs[0]["addr_info"][0]["local"], "198.51.100.1", "{addrs}");
    let routes = lab::ip_json(&pair.a.ns, &["-4", "route", "show"]);
    assert_eq!(routes.as_array().map(Vec::len), Some(1), "{routes}");
    let links = lab::ip_json(&pair.b.ns, &["link", "show"]);
    let names_in_b: Vec<&str> = links
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["ifname"].as_str())
        .collect();
    assert_eq!(names_in_b, ["lo", pair.b.iface.as_str()]);
    drop(pair);
    for ns in &names {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
    }
}

#[test]
fn harness_cleans_up_when_the_test_panics() {
    let Some(lab) = lab::require() else { return };
    let mut names = Vec::new();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let pair = lab.pair();
        names.extend(pair.net.namespaces().iter().cloned());
        panic!("a lab test failing half-way");
    }));
    assert!(result.is_err());
    assert_eq!(names.len(), 2);
    for ns in &names {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
    }
}

#[test]
fn harness_mac_accessor_matches_ip_link_text() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let mac = pair.b.mac();
    assert!(lab::is_mac(&mac), "{mac}");
    let first = u8::from_str_radix(&mac[..2], 16).unwrap();
    assert_eq!(first & 1, 0, "a veth MAC is unicast: {mac}");
    let text = lab::ip(&pair.b.ns, &["link", "show", "dev", &pair.b.iface]);
    assert!(
        text.stdout.contains(&format!("link/ether {mac} ")),
        "{mac}\n{text}"
    );
    assert_ne!(pair.a.mac(), mac, "the two ends have different MACs");
}

#[test]
fn harness_pair_v6_addresses_are_usable_at_once() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    for host in [&pair.a, &pair.b] {
        let addrs = lab::ip_json(&host.ns, &["-6", "addr", "show", "dev", &host.iface]);
        let infos = addrs[0]["addr_info"].as_array().unwrap();
        let want = host.ip6.unwrap().to_string();
        let ours = infos
            .iter()
            .find(|i| i["local"] == want.as_str())
            .unwrap_or_else(|| panic!("{want} missing: {addrs}"));
        assert!(ours.get("tentative").is_none(), "nodad: {ours}");
    }
}

#[test]
fn harness_pair_answers_arping() {
    // The stand-in for nettool: a real ARP tool gets B's MAC over the pair.
    let Some(lab) = lab::require_with(&["arping"]) else {
        return;
    };
    let pair = lab.pair();
    let out = pair
        .a
        .run("arping", &["-c", "1", "-I", &pair.a.iface, "198.51.100.2"]);
    out.ok();
    assert!(
        macs_in(&out.stdout).contains(&pair.b.mac()),
        "B's MAC {}\n{out}",
        pair.b.mac()
    );
}

#[test]
fn harness_star32_is_fast_and_arp_scan_finds_every_host() {
    let Some(lab) = lab::require_with(&["arp-scan"]) else {
        return;
    };
    let start = Instant::now();
    let star = lab.star(32);
    let built = start.elapsed();
    assert_eq!(star.net.namespaces().len(), 34);
    let out = star.client.run(
        "arp-scan",
        &[
            "--plain",
            "--retry=2",
            "--interval=1",
            "--timeout=100",
            "-I",
            &star.client.iface,
            "198.51.100.0/24",
        ],
    );
    out.ok();
    assert_eq!(
        sweep_text_hosts(&out.stdout),
        expected_hosts(&star),
        "\n{out}"
    );
    let names = star.net.namespaces().to_vec();
    let start = Instant::now();
    drop(star);
    let torn_down = start.elapsed();
    eprintln!(
        "lab: star(32) built in {:.3} s, torn down in {:.3} s",
        built.as_secs_f64(),
        torn_down.as_secs_f64()
    );
    for ns in &names {
        assert!(
            !Path::new("/run/netns").join(ns).exists(),
            "{ns} left behind"
        );
    }
    // Generous: the point is "seconds, not minutes", on a busy CI machine.
    assert!(
        built < Duration::from_secs(20),
        "star(32) took {built:?} to build"
    );
}

/// `cargo test --test arp_lab -- --ignored --nocapture harness_timing`:
/// what building and tearing down stars costs, back to back (the kernel
/// frees a deleted namespace asynchronously, so the next build pays part).
#[test]
fn harness_background_processes_die_with_the_lab() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let mut bg = lab::spawn_in(&pair.a.ns, "sleep", &["30"]);
    assert!(bg.running());
    let pid = bg.pid();
    drop(bg);
    assert!(is_gone(pid), "Bg drop kills its process");
    // A process the test lost track of (a daemon's fork) dies with the lab.
    let out = pair
        .b
        .run("sh", &["-c", "sleep 30 >/dev/null 2>&1 & echo $!"]);
    out.ok();
    let orphan: u32 = out.stdout.trim().parse().expect("pid");
    assert!(!is_gone(orphan), "orphan sleep should be running");
    drop(pair);
    assert!(
        wait_for(Duration::from_secs(2), || is_gone(orphan).then_some(())).is_some(),
        "pid {orphan} survived its namespace"
    );
}

#[test]
fn harness_nft_loads_a_ruleset_into_one_namespace() {
    let Some(lab) = lab::require_with(&["nft"]) else {
        return;
    };
    let pair = lab.pair();
    lab::nft(
        &pair.b.ns,
        "table inet lab {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    udp dport 69 counter drop\n  }\n}\n",
    );
    let b = pair.b.run("nft", &["list", "ruleset"]);
    b.ok();
    assert!(b.stdout.contains("udp dport 69"), "{b}");
    let a = pair.a.run("nft", &["list", "ruleset"]);
    a.ok();
    assert!(!a.stdout.contains("table inet lab"), "A untouched\n{a}");
}

// ---------------------------------------------------------------------------
// Probe: nettool arp TARGET

#[test]
fn probe_reply_lines_show_the_peers_mac_and_the_summary() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let b_mac = pair.b.mac();
    let iface = pair.a.iface.as_str();
    let out = arp(
        &pair.a,
        &["-c", "3", "-i", "0.2", "-I", iface, "198.51.100.2"],
    );
    assert_exit(&out, 0, "probe of a live peer");
    let replies: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("reply from "))
        .collect();
    assert_eq!(replies.len(), 3, "one line per reply\n{out}");
    for line in &replies {
        assert!(
            line.starts_with("reply from 198.51.100.2 "),
            "{line}\n{out}"
        );
        assert_eq!(
            macs_in(line),
            std::slice::from_ref(&b_mac),
            "B's MAC is {b_mac}: {line}"
        );
        assert!(
            line.to_ascii_lowercase().contains(&format!("[{b_mac}]")),
            "{line}"
        );
        assert!(line.contains(&format!(" on {iface} ")), "{line}");
        let rtt: f64 = line
            .trim_end()
            .strip_suffix(" ms")
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no `<rtt> ms` at the end: {line}"));
        assert!(rtt > 0.0, "an RTT of {rtt} ms is not a measurement: {line}");
    }
    assert!(out.stdout.contains("3 sent, 3 received, 0% loss"), "{out}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("rtt min/avg/max/mdev = ")),
        "{out}"
    );
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
fn probe_json_has_the_documented_shape() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let b_mac = pair.b.mac();
    let iface = pair.a.iface.as_str();
    let out = arp(
        &pair.a,
        &[
            "--json",
            "-c",
            "3",
            "-i",
            "0.2",
            "-I",
            iface,
            "198.51.100.2",
        ],
    );
    assert_exit(&out, 0, "JSON probe of a live peer");
    let doc = out.json();
    assert_eq!(string(&doc, "schema"), "nettool.arp/1");
    assert_eq!(string(&doc, "mode"), "probe");
    assert_eq!(string(&doc, "interface"), iface);
    assert_eq!(string(&doc, "target"), "198.51.100.2");
    assert_eq!(num(&doc, "sent"), 3.0);
    assert_eq!(num(&doc, "received"), 3.0);
    assert_eq!(num(&doc, "loss_pct"), 0.0);
    let replies = array(&doc, "replies");
    assert_eq!(replies.len(), 3, "{doc}");
    for r in replies {
        assert_eq!(string(r, "ip"), "198.51.100.2");
        assert_eq!(string(r, "mac").to_ascii_lowercase(), b_mac);
        assert!(
            num(r, "rtt_ms") > 0.0,
            "replies[].rtt_ms is not a measurement: {r}"
        );
        assert!(!boolean(r, "unsolicited"), "{r}");
        assert!(!boolean(r, "duplicate"), "{r}");
    }
    let rtt = field(&doc, "rtt");
    let (min, avg, max) = (num(rtt, "min_ms"), num(rtt, "avg_ms"), num(rtt, "max_ms"));
    assert!(0.0 < min && min <= avg && avg <= max, "{rtt}");
    assert!(num(rtt, "mdev_ms") >= 0.0, "{rtt}");
}

#[test]
fn probe_of_a_silent_address_exits_1_after_count_times_interval() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let iface = pair.a.iface.as_str();
    let out = arp(
        &pair.a,
        &["-c", "3", "-i", "0.2", "-I", iface, "198.51.100.99"],
    );
    assert_exit(&out, 1, "no reply from an unused address");
    let secs = out.elapsed.as_secs_f64();
    assert!(
        (0.4..2.0).contains(&secs),
        "3 x 0.2 s should take 0.4-2 s, took {secs:.3}\n{out}"
    );
    assert!(
        out.stdout.contains("3 sent, 0 received, 100% loss"),
        "{out}"
    );
    assert!(!out.stdout.contains("reply from"), "{out}");
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
fn probe_json_of_a_silent_address_has_no_replies_and_null_rtt() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let iface = pair.a.iface.as_str();
    let out = arp(
        &pair.a,
        &[
            "--json",
            "-c",
            "2",
            "-i",
            "0.2",
            "-I",
            iface,
            "198.51.100.99",
        ],
    );
    assert_exit(&out, 1, "JSON: no reply from an unused address");
    let doc = out.json();
    assert_eq!(num(&doc, "sent"), 2.0);
    assert_eq!(num(&doc, "received"), 0.0);
    assert_eq!(num(&doc, "loss_pct"), 100.0);
    assert!(array(&doc, "replies").is_empty(), "{doc}");
    assert!(field(&doc, "rtt").is_null(), "{doc}");
}

#[test]
fn probe_without_dash_i_uses_the_routes_interface() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let b_mac = pair.b.mac();
    let out = arp(&pair.a, &["-c", "2", "-i", "0.2", "198.51.100.2"]);
    assert_exit(&out, 0, "interface from the route");
    let replies: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("reply from "))
        .collect();
    assert_eq!(replies.len(), 2, "{out}");
    for line in replies {
        assert!(line.contains(&format!(" on {} ", pair.a.iface)), "{line}");
        assert_eq!(macs_in(line), std::slice::from_ref(&b_mac), "{line}");
    }
    let json = arp(&pair.a, &["--json", "-c", "1", "198.51.100.2"]);
    assert_exit(&json, 0, "interface from the route (JSON)");
    assert_eq!(string(&json.json(), "interface"), pair.a.iface);
}

#[test]
fn probe_first_stops_at_the_first_reply() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let out = arp(
        &pair.a,
        &[
            "-f",
            "-c",
            "5",
            "-i",
            "0.2",
            "-I",
            &pair.a.iface,
            "198.51.100.2",
        ],
    );
    assert_exit(&out, 0, "-f with a live peer");
    let replies = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("reply from "))
        .count();
    assert_eq!(replies, 1, "{out}");
    assert!(out.stdout.contains("1 sent, 1 received, 0% loss"), "{out}");
    assert!(
        out.elapsed < Duration::from_millis(600),
        "-f waits no more intervals\n{out}"
    );
}

#[test]
fn probe_quiet_prints_the_summary_only() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let out = arp(
        &pair.a,
        &[
            "-q",
            "-c",
            "2",
            "-i",
            "0.2",
            "-I",
            &pair.a.iface,
            "198.51.100.2",
        ],
    );
    assert_exit(&out, 0, "-q with a live peer");
    assert!(!out.stdout.contains("reply from"), "{out}");
    assert!(out.stdout.contains("2 sent, 2 received, 0% loss"), "{out}");
}

#[test]
fn probe_deadline_ends_a_probe_without_count() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let out = arp(
        &pair.a,
        &[
            "-w",
            "0.5",
            "-i",
            "0.2",
            "-I",
            &pair.a.iface,
            "198.51.100.99",
        ],
    );
    assert_exit(&out, 1, "-w with nobody answering");
    let secs = out.elapsed.as_secs_f64();
    assert!((0.4..1.5).contains(&secs), "-w 0.5 took {secs:.3} s\n{out}");
    assert!(out.stdout.contains("0 received, 100% loss"), "{out}");
}

// ---------------------------------------------------------------------------
// Duplicate address detection and announcements

#[test]
fn dad_on_a_free_address_exits_0_and_says_free() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let out = arp(&pair.a, &["-D", "-c", "2", "-i", "0.2", "198.51.100.50"]);
    assert_exit(&out, 0, "DAD: nobody holds .50");
    assert!(out.stdout.to_ascii_lowercase().contains("free"), "{out}");
    assert!(out.elapsed < Duration::from_secs(3), "{out}");
}

#[test]
fn dad_on_a_used_address_exits_1_and_names_the_holder() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let b_mac = pair.b.mac();
    let out = arp(&pair.a, &["-D", "-c", "2", "-i", "0.2", "198.51.100.2"]);
    assert_exit(&out, 1, "DAD: B holds .2");
    assert!(
        macs_in(&out.stdout).contains(&b_mac),
        "holder {b_mac}\n{out}"
    );
    assert!(
        !out.stdout.to_ascii_lowercase().contains(" is free"),
        "{out}"
    );
}

/// Makes B take gratuitous ARP (it ignores it by default) and forget A.
fn prepare_gratuitous(pair: &lab::Pair) {
    lab::sysctl(&pair.b.ns, "net.ipv4.conf.all.arp_accept", "1");
    lab::sysctl(
        &pair.b.ns,
        &format!("net.ipv4.conf.{}.arp_accept", pair.b.iface),
        "1",
    );
    lab::ip(&pair.b.ns, &["neigh", "flush", "all"]);
    assert_eq!(
        lab::neigh_mac(&pair.b.ns, "198.51.100.1"),
        None,
        "B starts without A"
    );
}

/// An announcement: `flag` (`-U`, `-A`) from A.
struct Announce {
    name: &'static str,
    flag: &'static str,
}

#[test]
fn announcements_update_the_peers_cache() {
    let Some(lab) = lab::require() else { return };
    let announcements = [
        Announce {
            name: "unsolicited request (-U)",
            flag: "-U",
        },
        Announce {
            name: "unsolicited reply (-A)",
            flag: "-A",
        },
    ];
    util::run_cases(
        &announcements,
        |c| c.name,
        |case| {
            let flag = case.flag;
            let pair = lab.pair();
            prepare_gratuitous(&pair);
            let a_mac = pair.a.mac();
            let out = arp(
                &pair.a,
                &[flag, "-c", "1", "-I", &pair.a.iface, "-s", "198.51.100.1"],
            );
            assert_exit(&out, 0, &format!("announce with {flag}"));
            let learned = wait_for(Duration::from_secs(1), || {
                lab::neigh_mac(&pair.b.ns, "198.51.100.1")
            });
            assert_eq!(
                learned.as_deref(),
                Some(a_mac.as_str()),
                "after `arp {flag}` B's cache should hold A's MAC\n{out}"
            );
        },
    );
}

// ---------------------------------------------------------------------------
// Sweep

#[test]
fn sweep_of_a_star_of_32_finds_every_host_and_nothing_else() {
    let Some(lab) = lab::require() else { return };
    let star = lab.star(32);
    let want = expected_hosts(&star);
    let out = arp(&star.client, &["-I", &star.client.iface, "198.51.100.0/24"]);
    assert_exit(&out, 0, "sweep with hosts answering");
    let got = sweep_text_hosts(&out.stdout);
    assert!(
        !got.contains_key(&star.client.ip),
        "the client lists itself\n{out}"
    );
    assert_eq!(got, want, "\n{out}");
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
fn sweep_json_has_the_documented_shape() {
    let Some(lab) = lab::require() else { return };
    let star = lab.star(30);
    let out = arp(
        &star.client,
        &["--json", "-I", &star.client.iface, "198.51.100.0/24"],
    );
    assert_exit(&out, 0, "JSON sweep");
    let doc = out.json();
    assert_eq!(sweep_json_hosts(&doc), expected_hosts(&star), "\n{out}");
    for h in array(&doc, "hosts") {
        assert!(!boolean(h, "duplicate"), "no duplicates here: {h}");
    }
    let scanned = num(&doc, "scanned");
    assert!(
        (253.0..=256.0).contains(&scanned),
        "a /24 scans 253-256 addresses: {scanned}"
    );
    assert_eq!(num(&doc, "responded"), 30.0);
}

/// A `--json` sweep from the client of a star of `hosts`, with `args`
/// (`IFACE` is the client's interface).
struct Sweep {
    name: &'static str,
    hosts: usize,
    args: &'static [&'static str],
}

const SWEEPS: &[Sweep] = &[
    Sweep {
        name: "at the fast documented setting",
        hosts: 32,
        args: &[
            "--json",
            "--rate",
            "20000",
            "--retries",
            "1",
            "--timeout",
            "0.05",
            "-I",
            "IFACE",
            "198.51.100.0/24",
        ],
    },
    Sweep {
        name: "--localnet: the interface's network",
        hosts: 3,
        args: &["--json", "--localnet", "-I", "IFACE"],
    },
];

#[test]
fn sweeps_find_every_host() {
    let Some(lab) = lab::require() else { return };
    util::run_cases(
        SWEEPS,
        |c| c.name,
        |case| {
            let star = lab.star(case.hosts);
            let args: Vec<&str> = case
                .args
                .iter()
                .map(|&a| {
                    if a == "IFACE" {
                        star.client.iface.as_str()
                    } else {
                        a
                    }
                })
                .collect();
            let out = arp(&star.client, &args);
            assert_exit(&out, 0, case.name);
            assert_eq!(
                sweep_json_hosts(&out.json()),
                expected_hosts(&star),
                "\n{out}"
            );
        },
    );
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
fn sweep_with_nobody_answering_exits_1() {
    let Some(lab) = lab::require() else { return };
    let star = lab.star(0);
    let out = arp(
        &star.client,
        &[
            "--json",
            "--timeout",
            "0.05",
            "-I",
            &star.client.iface,
            "198.51.100.0/28",
        ],
    );
    assert_exit(&out, 1, "sweep that finds nobody");
    let doc = out.json();
    assert!(array(&doc, "hosts").is_empty(), "{doc}");
    assert_eq!(num(&doc, "responded"), 0.0);
}

// ---------------------------------------------------------------------------
// A spoofer: two hosts answer for one address

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
fn probe_flags_two_macs_for_one_address_as_duplicate() {
    let Some(lab) = lab::require() else { return };
    let star = lab.star_with(&[v4(2), v4(2)]);
    let macs = star.host_macs();
    let out = arp(&star.client, &["-c", "3", "-i", "0.2", "198.51.100.2"]);
    assert_exit(&out, 0, "replies from a duplicated address");
    assert!(
        out.stdout.lines().any(|l| {
            let found = macs_in(l);
            macs.iter().all(|m| found.contains(m))
        }),
        "one line should show both MACs {macs:?}\n{out}"
    );
    assert!(
        out.stdout.to_ascii_lowercase().contains("duplicate"),
        "{out}"
    );

    let json = arp(
        &star.client,
        &["--json", "-c", "2", "-i", "0.2", "198.51.100.2"],
    );
    assert_exit(&json, 0, "JSON: replies from a duplicated address");
    let doc = json.json();
    let replies = array(&doc, "replies");
    assert!(replies.iter().any(|r| boolean(r, "duplicate")), "{doc}");
    let seen: BTreeSet<String> = replies
        .iter()
        .map(|r| string(r, "mac").to_ascii_lowercase())
        .collect();
    assert_eq!(
        seen,
        macs.iter().cloned().collect(),
        "both MACs reply: {doc}"
    ); // Two MACs, both remembered: the counts are exact.
    assert_eq!(num(&doc, "distinct_macs"), 2.0, "{doc}");
    assert!(!boolean(&doc, "distinct_macs_at_least"), "{doc}");
    for r in replies {
        assert!(!boolean(r, "also_answered_by_at_least"), "{r}");
    }
}

#[test]
fn sweep_marks_a_duplicated_address() {
    let Some(lab) = lab::require() else { return };
    let star = lab.star_with(&[v4(2), v4(2), v4(11)]);
    let macs = star.host_macs();
    let out = arp(
        &star.client,
        &["--json", "-I", &star.client.iface, "198.51.100.0/24"],
    );
    assert_exit(&out, 0, "sweep with a duplicated address");
    let doc = out.json();
    let got = sweep_json_hosts(&doc);
    assert_eq!(
        got.keys().copied().collect::<Vec<_>>(),
        [v4(2), v4(11)],
        "{doc}"
    );
    assert!(
        got[&v4(2)].is_subset(&macs[..2].iter().cloned().collect()),
        "{doc}"
    );
    let hosts = array(&doc, "hosts");
    assert!(
        hosts
            .iter()
            .any(|h| h["ip"] == "198.51.100.2" && h["duplicate"] == true),
        "198.51.100.2 answered from {:?}: {doc}",
        &macs[..2]
    );
    assert!(
        hosts
            .iter()
            .filter(|h| h["ip"] == "198.51.100.11")
            .all(|h| h["duplicate"] == false),
        "{doc}"
    );
    for h in hosts {
        assert!(!boolean(h, "macs_at_least"), "{h}");
    }
}

// ---------------------------------------------------------------------------
// Errors before anything is sent: exit 2, one line on stderr

/// Whether `uid` has a mapping in this process's user namespace (under
/// `unshare --map-root-user` only root has one).
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

#[track_caller]
fn assert_needs_cap_net_raw(out: &Output, guards: &str) {
    assert_exit(out, 2, guards);
    let line = one_stderr_line(out, guards);
    assert!(line.contains("CAP_NET_RAW"), "{guards}\n{out}");
    assert!(line.contains("setcap cap_net_raw+ep"), "{guards}\n{out}");
    assert!(out.stdout.is_empty(), "{guards}: nothing on stdout\n{out}");
}

#[test]
fn without_cap_net_raw_exit_2_and_say_how_to_grant_it() {
    let Some(lab) = lab::require_with(&["setpriv"]) else {
        return;
    };
    let pair = lab.pair();
    let probe = [
        "arp",
        "-c",
        "1",
        "-i",
        "0.2",
        "-I",
        &pair.a.iface,
        "198.51.100.2",
    ];
    // Root, with every capability but CAP_NET_RAW: only that one is missing.
    let out = pair
        .a
        .nettool_cmd(&probe)
        .wrapped(&[
            "setpriv",
            "--bounding-set=-net_raw",
            "--inh-caps=-net_raw",
            "--",
        ])
        .run();
    assert_needs_cap_net_raw(&out, "root without CAP_NET_RAW");
    // An ordinary user, no capabilities at all.
    if uid_mapped(65534) {
        let out = pair
            .a
            .nettool_cmd(&probe)
            .wrapped(&[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
            ])
            .run();
        assert_needs_cap_net_raw(&out, "user nobody");
    }
}

/// What a [`Refusal`] case changes in A first.
enum Setup {
    Nothing,
    /// This kernel has no dummy interfaces: a veth with both ends in A,
    /// left down, is an interface that does ARP and is down. Its name
    /// replaces `DOWN` in the case's words.
    DownInterface,
    /// A route to 203.0.113.0/24 via B (198.51.100.2).
    GatewayToB,
}

/// A probe refused before anything is sent: exit 2 and one line on
/// stderr that says why.
struct Refusal {
    /// Also what the case guards, in its messages.
    name: &'static str,
    setup: Setup,
    args: &'static [&'static str],
    /// Phrases the line holds.
    says: &'static [&'static str],
    /// Phrases the line holds, in any case.
    says_in_any_case: &'static [&'static str],
    /// Phrases the line must not hold.
    never_says: &'static [&'static str],
    /// Phrases stdout must not hold.
    stdout_lacks: &'static [&'static str],
}

const REFUSALS: &[Refusal] = &[
    Refusal {
        name: "-I lo does not do ARP",
        setup: Setup::Nothing,
        args: &["-c", "1", "-I", "lo", "198.51.100.2"],
        says: &["does not do ARP"],
        says_in_any_case: &[],
        never_says: &[],
        stdout_lacks: &[],
    },
    Refusal {
        name: "interface down, named",
        setup: Setup::DownInterface,
        args: &["-c", "1", "-I", "DOWN", "198.51.100.2"],
        says: &["down", "DOWN"],
        says_in_any_case: &[],
        never_says: &[],
        stdout_lacks: &[],
    },
    Refusal {
        name: "target off-link, naming the gateway",
        setup: Setup::GatewayToB,
        args: &["-c", "1", "203.0.113.5"],
        says: &["198.51.100.2"],
        says_in_any_case: &[],
        never_says: &[],
        stdout_lacks: &["reply from"],
    },
    Refusal {
        name: "no route",
        setup: Setup::Nothing,
        args: &["-c", "1", "203.0.113.5"],
        says: &[],
        says_in_any_case: &["no route"],
        never_says: &[],
        stdout_lacks: &[],
    },
    Refusal {
        name: "address:port, not IPv6",
        setup: Setup::Nothing,
        args: &["-c", "1", "198.51.100.2:80"],
        says: &["not address:port", "198.51.100.2"],
        says_in_any_case: &[],
        never_says: &["IPv6"],
        stdout_lacks: &[],
    },
];

#[test]
fn targets_and_interfaces_that_cannot_work_are_refused_with_one_line() {
    let Some(lab) = lab::require() else { return };
    util::run_cases(
        REFUSALS,
        |c| c.name,
        |case| {
            let pair = lab.pair();
            let mut down = String::new();
            match case.setup {
                Setup::Nothing => {}
                Setup::DownInterface => {
                    let peer = lab::unique_name();
                    down = lab::unique_name();
                    lab::ip(
                        &pair.a.ns,
                        &["link", "add", &down, "type", "veth", "peer", "name", &peer],
                    );
                }
                Setup::GatewayToB => {
                    lab::ip(
                        &pair.a.ns,
                        &["route", "add", "203.0.113.0/24", "via", "198.51.100.2"],
                    );
                }
            }
            let word = |w: &str| w.replace("DOWN", &down);
            let args: Vec<String> = case.args.iter().map(|a| word(a)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = arp(&pair.a, &args);
            assert_exit(&out, 2, case.name);
            let line = one_stderr_line(&out, case.name);
            for w in case.says {
                assert!(line.contains(&word(w)), "says {:?}\n{out}", word(w));
            }
            for w in case.says_in_any_case {
                assert!(line.to_ascii_lowercase().contains(w), "says {w:?}\n{out}");
            }
            for w in case.never_says {
                assert!(!line.contains(w), "does not say {w:?}: {line}");
            }
            for w in case.stdout_lacks {
                assert!(!out.stdout.contains(w), "{out}");
            }
        },
    );
}

// ---------------------------------------------------------------------------
// Hostile peers: forgers written in the test, sending ARP frames no kernel
// would. Frames are built byte by byte here, not with nettool's codec, so
// a codec bug cannot hide itself.

/// `aa:bb:cc:dd:ee:ff` as bytes.
fn mac_bytes(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).expect("hex MAC byte"))
        .collect();
    v.try_into().expect("6-byte MAC")
}

fn mac_text(m: [u8; 6]) -> String {
    m.map(|b| format!("{b:02x}")).join(":")
}

/// A 60-byte Ethernet frame holding an ARP reply "`sender_ip` is at
/// `sender_mac`", sent from `eth_src` to `to` (MAC and IP).
fn forged_reply(
    eth_src: [u8; 6],
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    to: ([u8; 6], Ipv4Addr),
) -> [u8; 60] {
    let mut f = [0u8; 60];
    f[0..6].copy_from_slice(&to.0);
    f[6..12].copy_from_slice(&eth_src);
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    // htype 1, ptype 0x0800, hlen 6, plen 4, oper 2 (reply)
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
    f[22..28].copy_from_slice(&sender_mac);
    f[28..32].copy_from_slice(&sender_ip.octets());
    f[32..38].copy_from_slice(&to.0);
    f[38..42].copy_from_slice(&to.1.octets());
    f
}

/// An ARP request seen on the wire: (sender MAC, sender IP, target IP).
fn parse_request(f: &[u8]) -> Option<([u8; 6], Ipv4Addr, Ipv4Addr)> {
    if f.len() < 42 || f[12..14] != [0x08, 0x06] || f[20..22] != [0, 1] {
        return None;
    }
    let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    Some((f[22..28].try_into().ok()?, ip(&f[28..32]), ip(&f[38..42])))
}

type RawTx = Box<dyn pnet_datalink::DataLinkSender>;
type RawRx = Box<dyn pnet_datalink::DataLinkReceiver>;

/// A raw channel on `iface` of the namespace the calling thread is in (call
/// it inside `lab::thread_in`).
fn raw_channel(iface: &str) -> (RawTx, RawRx) {
    let ni = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .unwrap_or_else(|| panic!("forger: no interface {iface} in its namespace"));
    let config = pnet_datalink::Config {
        read_timeout: Some(Duration::from_millis(20)),
        ..pnet_datalink::Config::default()
    };
    match pnet_datalink::channel(&ni, config) {
        Ok(pnet_datalink::Channel::Ethernet(tx, rx)) => (tx, rx),
        Ok(_) => panic!("forger: not an Ethernet channel"),
        Err(e) => panic!("forger: raw channel on {iface}: {e}"),
    }
}

/// xorshift64: random-looking MACs that replay the same from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A unicast, locally administered MAC.
    fn mac(&mut self) -> [u8; 6] {
        let b = self.next().to_be_bytes();
        [(b[0] & 0xfc) | 0x02, b[1], b[2], b[3], b[4], b[5]]
    }
}

/// Sends forged replies "`ip` is at <random MAC>", each padded to 1514
/// bytes, to `to` at about `rate`
/// per second until `stop` is set, `limit` have gone or a minute has
/// passed; returns how many went.
fn flood(
    iface: &str,
    ip: Ipv4Addr,
    to: ([u8; 6], Ipv4Addr),
    rate: u64,
    limit: u64,
    stop: &AtomicBool,
) -> u64 {
    let (mut tx, _rx) = raw_channel(iface);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let start = Instant::now();
    let mut sent = 0u64;
    // Also bounded in time: a test that panics before setting `stop`
    // leaves no flood behind for long.
    while !stop.load(Ordering::Relaxed) && sent < limit && start.elapsed() < Duration::from_secs(60)
    {
        // In batches of 1 ms worth, on schedule.
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a frame count from elapsed time: small, never negative"
        )]
        let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
        if sent >= due {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        while sent < due.min(limit) {
            let mac = rng.mac();
            // Padded to the largest frame a 1500-byte MTU carries: each
            // frame nettool queues must not cost it more than an ARP's worth.
            let mut frame = [0u8; 1514];
            frame[..60].copy_from_slice(&forged_reply(mac, mac, ip, to));
            if let Some(Ok(())) = tx.send_to(&frame, None) {
                sent += 1;
            } else {
                // A full transmit queue: let it drain.
                std::thread::sleep(Duration::from_micros(200));
                break;
            }
        }
    }
    sent
}

/// Runs `nettool ARGS...` in `host` and samples its peak RSS while it runs.
/// A run that passes `kill_above` KiB (or 30 s) is killed there: a test
/// that finds a leak must not take the machine down with it.
fn nettool_measured(host: &Host, args: &[&str], kill_above: u64) -> (Output, u64) {
    let mut bg = host.nettool_cmd(args).spawn();
    let pid = bg.pid();
    let start = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if !bg.running() || peak > kill_above || start.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (bg.stop(), peak)
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
fn probe_under_a_flood_of_forged_replies_stays_small_in_memory_and_output() {
    // Guards: an unbounded reader queue, per-reply lists of every MAC seen,
    // and a summary naming them all (912 MiB, 413 MB of JSON at 50k/s).
    // Peak RSS seen here in a debug build: about 7.9 MiB (8.4 MiB before
    // the kernel cut frames to 64 bytes: in this flood the prober keeps up
    // and the queue never fills, so the cut is checked directly by
    // the_arp_socket_passes_64_bytes_of_a_frame_and_counts_kernel_drops). A
    // queue full of whole 1514-byte frames would add about 7 MiB.
    const LIMIT_KIB: u64 = 16 * 1024;
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let to = (mac_bytes(&pair.a.mac()), pair.a.ip);
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let (iface, stop) = (pair.b.iface.clone(), stop.clone());
        lab::thread_in(&pair.b.ns, move || {
            flood(&iface, v4(2), to, 50_000, 1_500_000, &stop)
        })
    };
    let iface = pair.a.iface.as_str();
    let base = ["arp", "-c", "20", "-i", "0.2", "-I", iface];
    let mut quiet = base.to_vec();
    quiet.extend(["-q", "198.51.100.2"]);
    let (q, q_peak) = nettool_measured(&pair.a, &quiet, 4 * LIMIT_KIB);
    let mut json = base.to_vec();
    json.extend(["--json", "198.51.100.2"]);
    let (j, j_peak) = nettool_measured(&pair.a, &json, 4 * LIMIT_KIB);
    let mut lines = base.to_vec();
    lines.push("198.51.100.2");
    let (l, l_peak) = nettool_measured(&pair.a, &lines, 4 * LIMIT_KIB);
    stop.store(true, Ordering::Relaxed);
    let sent = forger.join().expect("forger");
    eprintln!(
        "flood: {sent} forged replies; peak RSS -q {q_peak} KiB, --json {j_peak} KiB, \
         lines {l_peak} KiB; output -q {} B, --json {} B, lines {} B\n{q}",
        q.stdout.len(),
        j.stdout.len(),
        l.stdout.len()
    );
    assert!(sent > 20_000, "the flood did not happen: {sent} sent");

    assert!(q_peak < LIMIT_KIB, "-q peak RSS {q_peak} KiB\n{q}");
    assert_exit(&q, 0, "probe under a flood (-q)");
    assert!(
        q.elapsed < Duration::from_secs(8),
        "20 x 0.2 s took {:?}\n{q}",
        q.elapsed
    );
    assert!(
        q.stdout.len() < 4096,
        "-q summary is {} bytes\n{q}",
        q.stdout.len()
    );
    assert!(q.stdout.contains("20 sent, 20 received"), "{q}");
    assert!(
        macs_in(&q.stdout).len() <= 8,
        "the summary names at most 8 MACs\n{q}"
    );
    assert!(q.stdout.contains("distinct MACs answered"), "{q}");

    assert!(j_peak < LIMIT_KIB, "--json peak RSS {j_peak} KiB\n{j}");
    assert_exit(&j, 0, "probe under a flood (--json)");
    assert!(j.elapsed < Duration::from_secs(8), "{:?}", j.elapsed);
    assert!(
        j.stdout.len() < 128 * 1024,
        "--json output is {} bytes",
        j.stdout.len()
    );
    let doc = j.json();
    assert!(num(&doc, "distinct_macs") > 8.0, "{doc}");
    // 64 MACs remembered, more answered: the counts are lower bounds.
    assert_eq!(num(&doc, "distinct_macs"), 64.0, "{doc}");
    assert!(boolean(&doc, "distinct_macs_at_least"), "{doc}");
    assert!(
        array(&doc, "replies")
            .iter()
            .any(|r| boolean(r, "also_answered_by_at_least")),
        "{doc}"
    );
    assert!(array(&doc, "replies").len() <= 8 * 20, "{doc}");
    assert!(num(&doc, "replies_not_listed") > 0.0, "{doc}");
    let dropped = num(&doc, "dropped_frames");
    let by_kernel = num(&doc, "dropped_by_kernel");
    assert!(
        by_kernel <= dropped,
        "the total includes the kernel's: {doc}"
    );

    // The default output: one line per listed reply (at most 8 a request),
    // the summary, and the duplicate warning naming the first 8 MACs.
    assert!(l_peak < LIMIT_KIB, "lines peak RSS {l_peak} KiB\n{l}");
    assert_exit(&l, 0, "probe under a flood (lines)");
    assert!(l.elapsed < Duration::from_secs(8), "{:?}", l.elapsed);
    let n = l.stdout.lines().count();
    assert!(n <= 1 + 8 * 20 + 10, "{n} lines\n{l}");
    let replies = l
        .stdout
        .lines()
        .filter(|x| x.starts_with("reply from"))
        .count();
    assert!(
        (20..=8 * 20).contains(&replies),
        "{replies} reply lines\n{l}"
    );
    let warning = l
        .stdout
        .lines()
        .find(|x| x.contains("distinct MACs answered"))
        .unwrap_or_else(|| panic!("a duplicate warning\n{l}"));
    assert!(warning.contains("(first 8: "), "{warning}");
    assert!(l.stdout.contains("20 sent, 20 received"), "{l}");
}

#[test]
fn the_arp_socket_passes_64_bytes_of_a_frame_and_counts_kernel_drops() {
    // Guards: the BPF filter passed whole frames (`ret #0x40000`), so each
    // forged 1514-byte (or jumbo) reply cost the reader's queue a whole
    // frame; and drops in the kernel's socket queue went uncounted.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let to = (mac_bytes(&pair.a.mac()), pair.a.ip);
    let iface = pair.a.iface.clone();
    let (ready, is_ready) = std::sync::mpsc::channel();
    let (go, flood_done) = std::sync::mpsc::channel::<()>();
    let reader = lab::thread_in(&pair.a.ns, move || {
        let fd = nettool::sys::arp_packet_socket().expect("packet socket");
        let ni = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == iface)
            .expect("the interface");
        // pnet's default 4096-byte buffer: whatever is cut, the kernel cut.
        let config = pnet_datalink::Config {
            read_timeout: Some(Duration::from_millis(100)),
            socket_fd: Some(fd),
            ..pnet_datalink::Config::default()
        };
        let Ok(pnet_datalink::Channel::Ethernet(_tx, mut rx)) = pnet_datalink::channel(&ni, config)
        else {
            panic!("no raw channel")
        };
        let _ = ready.send(());
        // Nothing is read while the flood comes.
        let _ = flood_done.recv_timeout(Duration::from_secs(60));
        let drops = nettool::sys::packet_drops(fd).expect("PACKET_STATISTICS");
        let again = nettool::sys::packet_drops(fd).expect("PACKET_STATISTICS");
        let mut lens = Vec::new();
        while lens.len() < 200 {
            match rx.next() {
                Ok(f) => lens.push(f.len()),
                Err(_) => break,
            }
        }
        (drops, again, lens)
    });
    wait_ready(&is_ready);
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let (iface, stop) = (pair.b.iface.clone(), stop.clone());
        lab::thread_in(&pair.b.ns, move || {
            flood(&iface, v4(2), to, 100_000, 20_000, &stop)
        })
    };
    let sent = forger.join().expect("forger");
    let _ = go.send(());
    let (drops, again, lens) = reader.join().expect("reader");
    eprintln!("{sent} sent; kernel drops {drops}, then {again}; lengths {lens:?}");
    assert!(sent >= 10_000, "the flood did not happen: {sent}");
    assert!(!lens.is_empty(), "frames were queued");
    assert!(
        lens.iter().all(|n| (42..=64).contains(n)),
        "the kernel passes at most 64 bytes of a frame: {lens:?}"
    );
    assert!(drops > 0, "{sent} unread frames overflow the socket queue");
    assert!(
        again < drops,
        "reading the count resets it: {drops}, {again}"
    );
}

#[test]
#[allow(
    clippy::float_cmp,
    reason = "exact values read back from JSON: integer counts, 0 or 100 percent"
)]
#[allow(clippy::too_many_lines, reason = "one scenario, told in order")]
fn replies_with_a_zero_broadcast_or_multicast_sender_mac_are_invalid() {
    // Guards: such replies counted as valid answers (and as duplicates).
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let b_mac = pair.b.mac();
    let bad = [[0u8; 6], [0xff; 6], [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]];
    let (ready, is_ready) = std::sync::mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let (iface, stop, b) = (pair.b.iface.clone(), stop.clone(), mac_bytes(&b_mac));
        lab::thread_in(&pair.b.ns, move || {
            let (mut tx, mut rx) = raw_channel(&iface);
            let _ = ready.send(());
            let mut answered = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(f) = rx.next() else { continue };
                let Some((asker, from, target)) = parse_request(f) else {
                    continue;
                };
                if target != v4(2) {
                    continue;
                }
                for m in bad {
                    let frame = forged_reply(b, m, v4(2), (asker, from));
                    let _ = tx.send_to(&frame, None);
                }
                answered += 1;
            }
            answered
        })
    };
    wait_ready(&is_ready);
    let iface = pair.a.iface.as_str();
    let text = arp(
        &pair.a,
        &["-c", "3", "-i", "0.2", "-I", iface, "198.51.100.2"],
    );
    let json = arp(
        &pair.a,
        &[
            "--json",
            "-c",
            "3",
            "-i",
            "0.2",
            "-I",
            iface,
            "198.51.100.2",
        ],
    );
    stop.store(true, Ordering::Relaxed);
    assert!(forger.join().expect("forger") >= 6, "the forger answered");

    assert_exit(&text, 0, "B answers; the forgeries are invalid");
    for line in text.stdout.lines().filter(|l| l.starts_with("reply from")) {
        assert_eq!(
            macs_in(line),
            std::slice::from_ref(&b_mac),
            "{line}\n{text}"
        );
    }
    assert!(
        !text.stdout.to_ascii_lowercase().contains("duplicate"),
        "invalid MACs are not a second answer\n{text}"
    );
    assert!(text.stdout.contains("3 sent, 3 received"), "{text}");
    let invalid_lines: Vec<&str> = text
        .stdout
        .lines()
        .filter(|l| l.starts_with("invalid reply from 198.51.100.2"))
        .collect();
    assert!(
        invalid_lines.len() >= 3,
        "invalid replies are shown\n{text}"
    );
    // They are counted (the summary says how many), just not answers.
    assert!(!text.stdout.contains("not counted"), "{text}");
    for l in &invalid_lines {
        assert!(l.ends_with("(not taken as an answer)"), "{l}");
    }
    assert!(text.stdout.contains("not taken as answers"), "{text}");
    // The probe ends at the last answer, maybe before the last forgeries.
    let counted = text
        .stdout
        .lines()
        .find_map(|l| l.split_once(" invalid replies for 198.51.100.2"))
        .and_then(|(n, _)| n.parse::<usize>().ok());
    assert!(
        counted.is_some_and(|n| (invalid_lines.len()..=9).contains(&n)),
        "the summary counts them\n{text}"
    );

    assert_exit(&json, 0, "JSON");
    let doc = json.json();
    for r in array(&doc, "replies") {
        assert_eq!(string(r, "mac"), b_mac, "{doc}");
        assert!(!boolean(r, "duplicate"), "{doc}");
    }
    assert_eq!(num(&doc, "distinct_macs"), 1.0, "{doc}");
    let invalid = field(&doc, "invalid");
    assert!((3.0..=9.0).contains(&num(invalid, "count")), "{doc}");
    let macs: BTreeSet<&str> = array(invalid, "first")
        .iter()
        .map(|i| string(i, "mac"))
        .collect();
    let want: BTreeSet<String> = bad.iter().map(|m| mac_text(*m)).collect();
    assert_eq!(macs, want.iter().map(String::as_str).collect(), "{doc}");
}

/// A forger on `host` for sweeps of 198.51.100.0/27 from .1: at the first
/// request (for .2) it "answers" for .100 (never asked), .25 and .11 (not
/// asked yet) with its MACs, three times each; at every request for .12 it
/// answers with a zero sender MAC. Returns (first requests seen, saw .12).
fn sweep_forger(
    host: &Host,
    stop: Arc<AtomicBool>,
    (f100, f25, f11): ([u8; 6], [u8; 6], [u8; 6]),
) -> std::thread::JoinHandle<(u32, bool, BTreeSet<Ipv4Addr>)> {
    let iface = host.iface.clone();
    let (ready, is_ready) = std::sync::mpsc::channel();
    let forger = lab::thread_in(&host.ns, move || {
        let (mut tx, mut rx) = raw_channel(&iface);
        let _ = ready.send(());
        let mut early = 0;
        let mut saw_12 = false;
        // Every address the sweep asked for, to check that an early
        // (forged) answer did not stop it being asked.
        let mut requested = BTreeSet::new();
        while !stop.load(Ordering::Relaxed) {
            let Ok(f) = rx.next() else { continue };
            let Some((asker, from, target)) = parse_request(f) else {
                continue;
            };
            if from != v4(1) {
                continue;
            }
            requested.insert(target);
            // At the sweep's first request: .100 (never asked), .25
            // and .11 (not asked yet) "answer", three times each.
            if target == v4(2) && early == 0 {
                for _ in 0..3 {
                    for (m, ip) in [(f100, v4(100)), (f25, v4(25)), (f11, v4(11))] {
                        let _ = tx.send_to(&forged_reply(m, m, ip, (asker, from)), None);
                    }
                }
                early += 1;
            }
            // .12 is asked: an answer with a zero sender MAC.
            if target == v4(12) {
                let _ = tx.send_to(&forged_reply(f11, [0; 6], v4(12), (asker, from)), None);
                saw_12 = true;
            }
        }
        (early, saw_12, requested)
    });
    wait_ready(&is_ready);
    forger
}

/// The forger sent its early replies once, saw .12 asked, and saw .25 and
/// .11 asked after their early (forged) replies: an early reply must not
/// stop an address being asked. .100 is outside the sweep.
#[track_caller]
fn assert_forger_ran_and_saw_the_early_ones_asked(
    forger: std::thread::JoinHandle<(u32, bool, BTreeSet<Ipv4Addr>)>,
    out: &Output,
) {
    let (early, saw_12, asked) = forger.join().expect("forger");
    assert_eq!((early, saw_12), (1, true), "the forger ran\n{out}");
    for ip in [v4(25), v4(11)] {
        assert!(
            asked.contains(&ip),
            "{ip} got an early forged reply and was never asked: {asked:?}\n{out}"
        );
    }
    assert!(!asked.contains(&v4(100)), "{asked:?}");
}

/// Waits until a forger thread has its raw channel open (so it sees the
/// first request), for at most 5 s.
#[track_caller]
fn wait_ready(is_ready: &std::sync::mpsc::Receiver<()>) {
    is_ready
        .recv_timeout(Duration::from_secs(5))
        .expect("forger: raw channel not open after 5 s");
}

#[test]
fn sweep_reports_forged_and_early_replies_as_unsolicited_not_hosts() {
    // Guards: a reply for an address never asked, or before it was asked,
    // counted as a host (RTT 0, and the address then never probed), and a
    // reply with a zero sender MAC counted as a second MAC.
    let Some(lab) = lab::require() else { return };
    let star = lab.star_with(&[v4(10), v4(11), v4(12)]);
    let want = expected_hosts(&star);
    let (f100, f25, f11) = (
        [0x02, 0xf0, 0, 0, 0, 100],
        [0x02, 0xf0, 0, 0, 0, 25],
        [0x02, 0xf0, 0, 0, 0, 11],
    );
    let forge = || {
        let stop = Arc::new(AtomicBool::new(false));
        (
            stop.clone(),
            sweep_forger(&star.hosts[0], stop, (f100, f25, f11)),
        )
    };
    let sweep = |json: bool| {
        let mut args = vec![
            "--rate",
            "50",
            "--timeout",
            "0.2",
            "-I",
            &star.client.iface,
            "198.51.100.0/27",
        ];
        if json {
            args.insert(0, "--json");
        }
        arp(&star.client, &args)
    };

    let (stop, forger) = forge();
    let text = sweep(false);
    stop.store(true, Ordering::Relaxed);
    assert_forger_ran_and_saw_the_early_ones_asked(forger, &text);
    assert_exit(&text, 0, "sweep with a forger (text)");
    // The table: lines that start with an address.
    let table: BTreeMap<Ipv4Addr, BTreeSet<String>> = text
        .stdout
        .lines()
        .filter_map(|l| {
            let ip: Ipv4Addr = l.split_whitespace().next()?.parse().ok()?;
            Some((ip, macs_in(l).into_iter().collect()))
        })
        .collect();
    assert_eq!(table, want, "only real hosts in the table\n{text}");
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("unsolicited replies, not hosts"))
        .unwrap_or_else(|| panic!("a line counts the unsolicited replies\n{text}"));
    for ip in ["198.51.100.100 ", "198.51.100.25 ", "198.51.100.11 "] {
        assert!(line.contains(ip), "{ip}in {line}");
    }
    assert!(text.stdout.contains("invalid replies, not hosts"), "{text}");

    let (stop, forger) = forge();
    let out = sweep(true);
    stop.store(true, Ordering::Relaxed);
    assert_forger_ran_and_saw_the_early_ones_asked(forger, &out);
    assert_exit(&out, 0, "sweep with a forger");
    let doc = out.json();
    assert_eq!(sweep_json_hosts(&doc), want, "only real hosts\n{out}");
    for h in array(&doc, "hosts") {
        assert!(!boolean(h, "duplicate"), "{h}\n{out}");
    }
    let unsolicited = field(&doc, "unsolicited");
    assert!(num(unsolicited, "count") >= 3.0, "{doc}");
    let got: BTreeSet<(String, String)> = array(unsolicited, "first")
        .iter()
        .map(|u| (string(u, "ip").to_string(), string(u, "mac").to_string()))
        .collect();
    for (m, ip) in [(f100, v4(100)), (f25, v4(25)), (f11, v4(11))] {
        assert!(
            got.contains(&(ip.to_string(), mac_text(m))),
            "{ip} [{}] is unsolicited: {doc}",
            mac_text(m)
        );
    }
    let invalid = field(&doc, "invalid");
    assert!(num(invalid, "count") >= 1.0, "{doc}");
    assert!(
        array(invalid, "first")
            .iter()
            .any(|i| i["ip"] == "198.51.100.12" && i["mac"] == "00:00:00:00:00:00"),
        "{doc}"
    );
}

// ---------------------------------------------------------------------------
// Bad input: one line, exit 2

#[test]
fn unknown_interface_is_one_line_naming_the_interfaces_that_exist() {
    // Guards: the neighbour table of `nosuchif0` was an empty table and
    // exit 1. (`-i` is the interval: tests/arp_cache.rs has its refusal.)
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    for args in [
        &["-I", "nosuchif0"][..],
        &["-n", "-6", "-I", "nosuchif0"],
        &["--json", "-I", "nosuchif0"],
        &["-c", "1", "-I", "nosuchif0", "198.51.100.2"],
    ] {
        let out = arp(&pair.a, args);
        let what = format!("arp {}", args.join(" "));
        assert_exit(&out, 2, &what);
        let line = one_stderr_line(&out, &what);
        let name = args[args.iter().position(|a| *a == "-I").unwrap() + 1];
        assert!(line.contains(name), "names what was given: {line}");
        let list: BTreeSet<&str> = line
            .split_once("the interfaces here are ")
            .unwrap_or_else(|| panic!("names the interfaces that exist: {line}"))
            .1
            .split(" (")
            .next()
            .unwrap_or_default()
            .split(", ")
            .collect();
        assert_eq!(
            list,
            BTreeSet::from(["lo", pair.a.iface.as_str()]),
            "names the interfaces that exist: {line}"
        );
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout\n{out}");
    }
}

#[test]
fn sweep_retries_past_100_are_refused_not_overflowed() {
    // Guards: `--retries 4294967295` overflowed u32 in the time estimate
    // (a panic in a debug build) after the raw channel was open.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    for n in ["101", "4294967295"] {
        let out = arp(
            &pair.a,
            &["--retries", n, "-I", &pair.a.iface, "198.51.100.0/30"],
        );
        let what = format!("--retries {n}");
        assert_exit(&out, 2, &what);
        let line = one_stderr_line(&out, &what);
        assert!(line.contains(&what) && line.contains("0 to 100"), "{line}");
        assert!(out.stdout.is_empty(), "{out}");
    }
}

#[test]
fn the_ndp_socket_sees_the_kernels_solicitations_and_nothing_else() {
    // The NDP filter (ethertype, next header 58, ICMPv6 type 135/136 at
    // fixed offsets, or an options header first for user space to look
    // behind) against the frames a real kernel sends: A resolving B for a
    // UDP datagram sends a solicitation; B's socket must pass it, at most
    // 2048 bytes, and pass neither the IPv6 datagram that follows nor A's
    // ARP for B's IPv4 address; with ARP and NDP both, the ARP request
    // too. (The kernel's MLD reports start with a hop-by-hop header: they
    // pass.)
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let b6 = pair.b.ip6.expect("B has IPv6");
    let (b4, a_mac) = (pair.b.ip, mac_bytes(&pair.a.mac()));
    let mut seen = Vec::new();
    for frames in [nettool::sys::Frames::Ndp, nettool::sys::Frames::ArpAndNdp] {
        // Forget B, so A asks again each round.
        pair.a.run("ip", &["neigh", "flush", "dev", &pair.a.iface]);
        let iface = pair.b.iface.clone();
        let (ready, is_ready) = std::sync::mpsc::channel();
        let reader = lab::thread_in(&pair.b.ns, move || {
            let fd = nettool::sys::packet_socket(frames).expect("packet socket");
            let ni = pnet_datalink::interfaces()
                .into_iter()
                .find(|i| i.name == iface)
                .expect("the interface");
            let config = pnet_datalink::Config {
                read_timeout: Some(Duration::from_millis(100)),
                socket_fd: Some(fd),
                ..pnet_datalink::Config::default()
            };
            let Ok(pnet_datalink::Channel::Ethernet(_tx, mut rx)) =
                pnet_datalink::channel(&ni, config)
            else {
                panic!("no raw channel")
            };
            let _ = ready.send(());
            let mut frames = Vec::new();
            let end = Instant::now() + Duration::from_secs(2);
            while Instant::now() < end {
                if let Ok(f) = rx.next() {
                    frames.push(f.to_vec());
                }
            }
            frames
        });
        wait_ready(&is_ready);
        let sender = lab::thread_in(&pair.a.ns, move || {
            let s6 = std::net::UdpSocket::bind("[::]:0").expect("udp6");
            let s4 = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp4");
            for _ in 0..3 {
                let _ = s6.send_to(b"x", (b6, 9));
                let _ = s4.send_to(b"x", (b4, 9));
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        sender.join().expect("sender");
        seen.push((frames, reader.join().expect("reader")));
    }
    for (frames, got) in seen {
        let kinds: Vec<(u16, u8, u8, usize)> = got
            .iter()
            .map(|f| {
                let ethertype = u16::from_be_bytes([f[12], f[13]]);
                let (next, icmp) = if ethertype == 0x86dd {
                    (f[20], f[54])
                } else {
                    (0, 0)
                };
                (ethertype, next, icmp, f.len())
            })
            .collect();
        let from_a: Vec<&Vec<u8>> = got.iter().filter(|f| f[6..12] == a_mac).collect();
        assert!(
            from_a
                .iter()
                .any(|f| f[12..14] == [0x86, 0xdd] && f[20] == 58 && f[54] == 135),
            "{frames:?}: A's solicitation for B passed: {kinds:?}"
        );
        assert!(
            kinds.iter().all(|&(t, next, icmp, len)| (t == 0x86dd
                && (next == 58 && matches!(icmp, 135 | 136) || matches!(next, 0 | 60))
                && len <= 2048)
                || (t == 0x0806 && frames == nettool::sys::Frames::ArpAndNdp && len <= 64)),
            "{frames:?}: only NDP (and ARP with both) passed: {kinds:?}"
        );
        let arp = kinds.iter().any(|&(t, _, _, _)| t == 0x0806);
        assert_eq!(
            arp,
            frames == nettool::sys::Frames::ArpAndNdp,
            "{frames:?}: A's ARP request passed only with ARP asked for: {kinds:?}"
        );
    }
}

#[test]
fn ipv6_targets_find_their_interface_source_and_refusals() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    pair.a.run(
        "ip",
        &[
            "-6",
            "route",
            "add",
            "2001:db8:5::/64",
            "via",
            "2001:db8::2",
        ],
    );
    let iface = pair.a.iface.clone();
    let got = lab::thread_in(&pair.a.ns, move || {
        let ip = |s: &str| s.parse::<std::net::Ipv6Addr>().unwrap();
        let on_link = nettool::arp::interface_for6(ip("2001:db8::2"), None).map(|(i, pref)| {
            (
                i.name().to_string(),
                pref,
                i.source6_for(ip("2001:db8::2"), pref),
            )
        });
        let pinned = nettool::arp::interface_for6(ip("2001:db8::2"), Some(&iface))
            .map(|(i, _)| i.name().to_string());
        // One interface with a link-local address: no zone needed.
        let link_local =
            nettool::arp::interface_for6(ip("fe80::2"), None).map(|(i, _)| i.name().to_string());
        let gateway = nettool::arp::interface_for6(ip("2001:db8:5::1"), None)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let nowhere = nettool::arp::interface_for6(ip("2001:db8:99::1"), None)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let no_iface = nettool::arp::interface_for6(ip("2001:db8::2"), Some("nt-nope0"))
            .map(|_| ())
            .map_err(|e| e.to_string());
        (on_link, pinned, link_local, gateway, nowhere, no_iface)
    })
    .join()
    .expect("lookups");
    let (on_link, pinned, link_local, gateway, nowhere, no_iface) = got;
    let want_src: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    assert_eq!(
        on_link.expect("on-link target"),
        (pair.a.iface.clone(), Some(want_src), Some(want_src))
    );
    assert_eq!(pinned.expect("pinned"), pair.a.iface);
    assert_eq!(link_local.expect("link-local"), pair.a.iface);
    let g = gateway.expect_err("behind a gateway");
    assert!(
        g.contains("via 2001:db8::2") && g.contains("do not cross routers"),
        "{g}"
    );
    let n = nowhere.expect_err("no route");
    assert!(n.starts_with("no route to 2001:db8:99::1"), "{n}");
    let i = no_iface.expect_err("no such interface");
    assert!(i.contains("no interface named nt-nope0"), "{i}");
}

#[test]
fn the_ring_reads_a_100k_per_second_flood_whole_and_a_lone_frame_at_once() {
    // The watch's receive path (a TPACKET_V3 ring): a plain packet socket
    // read frame by frame lost a quarter of this flood in the kernel's
    // queue on this machine kind. Every flood frame must come out, cut to
    // 64 bytes and intact, with no drop counted; then, on a quiet link,
    // one frame must not wait for a full block.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let to = (mac_bytes(&pair.a.mac()), pair.a.ip);
    let iface = pair.a.iface.clone();
    let (ready, is_ready) = std::sync::mpsc::channel();
    let (flooded, flood_over) = std::sync::mpsc::channel::<u64>();
    let reader = lab::thread_in(&pair.a.ns, move || {
        let idx = nettool::sys::interface_index(&iface).expect("ifindex");
        let mut ring = nettool::sys::ring::PacketRing::open(nettool::sys::Frames::ArpAndNdp, idx)
            .expect("ring");
        let _ = ready.send(());
        let (mut flood, mut other, mut late) = (0u64, 0u64, 0u64);
        let mut sent = None;
        let give_up = Instant::now() + Duration::from_secs(60);
        while sent.is_none_or(|n| flood < n) && Instant::now() < give_up {
            if sent.is_none() {
                sent = flood_over.try_recv().ok();
            }
            let Ok(Some((f, at))) = ring.next(Duration::from_millis(50)) else {
                continue;
            };
            // Forged replies from 198.51.100.2 (see `flood`).
            if f.len() == 64
                && f[12..14] == [8, 6]
                && f[20..22] == [0, 2]
                && f[28..32] == [198, 51, 100, 2]
            {
                flood += 1;
            } else {
                other += 1;
            }
            if std::time::SystemTime::now()
                .duration_since(at)
                .is_ok_and(|d| d > Duration::from_secs(5))
            {
                late += 1;
            }
        }
        let drops = ring.drops().expect("PACKET_STATISTICS");
        // Quiet now: one frame, read back within a fraction of a second.
        let _ = ready.send(());
        let t0 = Instant::now();
        let mut lone = None;
        while t0.elapsed() < Duration::from_secs(3) {
            if let Ok(Some((f, _))) = ring.next(Duration::from_millis(500)) {
                if f[12..14] == [8, 6] {
                    lone = Some(t0.elapsed());
                    break;
                }
            }
        }
        (flood, other, late, drops, sent, lone)
    });
    wait_ready(&is_ready);
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let (iface, stop) = (pair.b.iface.clone(), stop.clone());
        lab::thread_in(&pair.b.ns, move || {
            flood(&iface, v4(2), to, 100_000, 300_000, &stop)
        })
    };
    let sent = forger.join().expect("forger");
    let _ = flooded.send(sent);
    wait_ready(&is_ready);
    let b = pair.b.iface.clone();
    lab::thread_in(&pair.b.ns, move || {
        flood(&b, v4(2), to, 1000, 1, &AtomicBool::new(false))
    })
    .join()
    .expect("one frame");
    let (flood, other, late, drops, seen_sent, lone) = reader.join().expect("reader");
    eprintln!(
        "{sent} sent, {flood} read ({other} other), {drops} dropped, lone frame after {lone:?}"
    );
    assert_eq!(seen_sent, Some(sent), "the reader heard the count");
    assert!(sent >= 300_000, "the flood happened: {sent}");
    assert_eq!(
        flood, sent,
        "every flood frame came out of the ring, intact"
    );
    assert_eq!(drops, 0, "no drop counted");
    assert_eq!(late, 0, "kernel timestamps are of now");
    let lone = lone.expect("the lone frame came out");
    assert!(
        lone < Duration::from_millis(500),
        "{lone:?}: a quiet link's frame waits at most the retire time"
    );
}
