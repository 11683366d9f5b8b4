//! `nettool arp --prometheus` / `--textfile` against real kernels in the
//! network lab (tests/lab): a probe of a neighbour that answers and of an
//! address nobody has, DAD, a sweep of a small star, the neighbour table
//! against `ip -j neigh`, and `--watch` with its textfile rewritten while
//! it runs. nettool runs only inside the lab's namespaces
//! (shared/LAB.md), and every text goes through promtool.

#![allow(
    clippy::float_cmp,
    reason = "exact values read back from the text: counts, 0 and 1"
)]

mod lab;
mod prom;
mod util;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use lab::Host;
use prom::{find, promtool_accepts, samples, value};
use util::Output;

fn arp(host: &Host, args: &[&str]) -> Output {
    let out = lab::arp(host, args);
    if out.code() != Some(2) {
        promtool_accepts(&out.stdout);
    }
    out
}

#[test]
fn a_neighbour_that_answers_is_up_with_its_mac_and_an_absent_one_is_not() {
    // Guards: up said for an address nobody has, the answering MAC
    // missing or wrong, a duplicate invented, the exit status changed.
    let Some(lab) = lab::require_with(&["promtool"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let b_mac = pair.b.mac();
    let iface = pair.a.iface.as_str();
    for target in ["198.51.100.2", "2001:db8::2"] {
        let out = arp(&pair.a, &["-c", "2", "-i", "0.2", "--prometheus", target]);
        assert_eq!(out.code(), Some(0), "{out}");
        let all = samples(&out.stdout);
        let l = [("target", target), ("interface", iface)];
        assert_eq!(value(&all, "nettool_arp_up", &l), 1.0, "{out}");
        assert_eq!(value(&all, "nettool_arp_requests_sent", &l), 2.0, "{out}");
        let replies = find(&all, "nettool_arp_replies", &l);
        assert_eq!(replies.len(), 1, "one MAC answered\n{out}");
        assert_eq!(replies[0].labels["mac"], b_mac, "{out}");
        assert!(replies[0].value >= 2.0, "{out}");
        assert_eq!(value(&all, "nettool_arp_duplicate", &l), 0.0, "{out}");
        let rtt = value(&all, "nettool_arp_rtt_seconds", &l);
        assert!(rtt > 0.0 && rtt < 0.5, "{rtt}\n{out}");
    }
    let absent = "198.51.100.50";
    let out = arp(&pair.a, &["-c", "2", "-i", "0.2", "--prometheus", absent]);
    assert_eq!(
        out.code(),
        Some(1),
        "nobody answered: exit 1 as ever\n{out}"
    );
    let all = samples(&out.stdout);
    let l = [("target", absent), ("interface", iface)];
    assert_eq!(value(&all, "nettool_arp_up", &l), 0.0, "{out}");
    assert!(find(&all, "nettool_arp_replies", &[]).is_empty(), "{out}");
    assert!(
        find(&all, "nettool_arp_rtt_seconds", &[]).is_empty(),
        "{out}"
    );
    assert_eq!(
        value(&all, "nettool_run_success", &[("command", "arp")]),
        1.0,
        "an absent host is a run that did its job\n{out}"
    );

    // DAD: in use 1 for B's address (exit 1), 0 for a free one (exit 0).
    for (target, in_use, code) in [("198.51.100.2", 1.0, 1), (absent, 0.0, 0)] {
        let out = arp(
            &pair.a,
            &["-D", "-c", "2", "-i", "0.2", "--prometheus", target],
        );
        assert_eq!(out.code(), Some(code), "{out}");
        let all = samples(&out.stdout);
        let l = [("target", target), ("interface", iface)];
        assert_eq!(value(&all, "nettool_arp_dad_in_use", &l), in_use, "{out}");
        assert!(find(&all, "nettool_arp_up", &[]).is_empty(), "{out}");
    }

    // -U sends and measures nothing; a probe without -c or -w would run
    // until Ctrl-C, its metrics never written.
    let out = arp(&pair.a, &["-U", "-s", "198.51.100.1", "--prometheus"]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(out.stderr.contains("--prometheus: -U/-A"), "{out}");
    let out = arp(&pair.a, &["--prometheus", "198.51.100.2"]);
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stderr.contains("-c N or -w SECS"), "{out}");
    let out = arp(&pair.a, &["-w", "0.5", "--prometheus", "198.51.100.2"]);
    assert_eq!(out.code(), Some(0), "-w alone ends the probe\n{out}");
}

#[test]
fn a_sweep_counts_the_hosts_the_test_made() {
    // Guards: hosts lost or invented, our own address counted as asked,
    // output besides the textfile.
    let Some(lab) = lab::require_with(&["promtool"]) else {
        return;
    };
    let star = lab.star(3);
    let client = &star.client;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sweep.prom");
    let net = "198.51.100.8/29";
    let out = arp(
        client,
        &[
            "-I",
            &client.iface,
            "--textfile",
            file.to_str().unwrap(),
            net,
        ],
    );
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(prom::names_in(dir.path()), ["sweep.prom"]);
    let text = std::fs::read_to_string(&file).unwrap();
    promtool_accepts(&text);
    let all = samples(&text);
    let l = [
        ("interface", client.iface.as_str()),
        ("family", "ipv4"),
        ("networks", net),
    ];
    // .9 to .14: the star's .10, .11 and .12 answer.
    assert_eq!(value(&all, "nettool_arp_sweep_addresses", &l), 6.0);
    assert_eq!(value(&all, "nettool_arp_sweep_hosts_up", &l), 3.0, "{text}");
    assert_eq!(value(&all, "nettool_arp_sweep_duplicates", &l), 0.0);
    assert!(value(&all, "nettool_arp_sweep_requests_sent", &l) >= 6.0);
    assert_eq!(
        value(
            &all,
            "nettool_run_success",
            &[("command", "arp"), ("textfile", "sweep.prom")]
        ),
        1.0
    );
}

/// `ip -j neigh show nud all` in `ns`, counted by (family, interface,
/// state) as nettool labels them.
fn ip_neigh_counts(ns: &str) -> BTreeMap<(String, String, String), f64> {
    let mut counts = BTreeMap::new();
    let v = lab::ip_json(ns, &["neigh", "show", "nud", "all"]);
    for e in v.as_array().expect("ip -j neigh: an array") {
        let dst = e["dst"].as_str().unwrap();
        let family = if dst.contains(':') { "ipv6" } else { "ipv4" };
        let state = e["state"][0].as_str().unwrap().to_ascii_lowercase();
        let dev = e["dev"].as_str().unwrap().to_string();
        *counts
            .entry((family.to_string(), dev, state))
            .or_insert(0.0) += 1.0;
    }
    counts
}

#[test]
fn the_neighbour_table_counts_are_ip_neighs() {
    // Guards: entries of a state or family left out, counted under the
    // wrong interface, or a series per entry.
    let Some(lab) = lab::require_with(&["promtool"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let (ns, dev) = (&pair.a.ns, pair.a.iface.as_str());
    let add = |addr: &str, mac: &str, nud: &str| {
        lab::ip(
            ns,
            &["neigh", "add", addr, "lladdr", mac, "dev", dev, "nud", nud],
        );
    };
    add("198.51.100.20", "02:00:00:00:00:20", "permanent");
    add("198.51.100.21", "02:00:00:00:00:21", "permanent");
    add("198.51.100.22", "02:00:00:00:00:22", "stale");
    add("2001:db8::20", "02:00:00:00:00:20", "permanent");
    // The kernel may add or age an entry between the two reads: read
    // ip, nettool, ip until both ip reads agree.
    let mut last = String::new();
    for _ in 0..5 {
        let before = ip_neigh_counts(ns);
        let out = arp(&pair.a, &["-a", "--prometheus"]);
        if ip_neigh_counts(ns) != before {
            last = out.to_string();
            continue;
        }
        assert_eq!(out.code(), Some(0), "{out}");
        let all = samples(&out.stdout);
        let got: BTreeMap<(String, String, String), f64> =
            find(&all, "nettool_arp_neighbours", &[])
                .into_iter()
                .map(|s| {
                    let l = |k: &str| s.labels[k].clone();
                    ((l("family"), l("interface"), l("state")), s.value)
                })
                .collect();
        assert_eq!(got, before, "{out}");
        let k = |f: &str, s: &str| (f.to_string(), dev.to_string(), s.to_string());
        assert_eq!(got[&k("ipv4", "permanent")], 2.0);
        assert_eq!(got[&k("ipv4", "stale")], 1.0);
        assert!(got[&k("ipv6", "permanent")] >= 1.0);
        return;
    }
    panic!("the neighbour table kept changing\n{last}");
}

/// A gratuitous ARP for the host's own address (Habets arping).
fn announce(host: &Host) {
    let ip = host.ip.to_string();
    let _ = host.run(
        "arping",
        &["-U", "-c", "1", "-S", &ip, "-i", &host.iface, &ip],
    );
}

/// The textfile's samples, once it exists and `ok` holds for them.
fn wait_for_file(file: &Path, limit: Duration, ok: impl Fn(&[prom::Sample]) -> bool) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(file)
            && ok(&samples(&text))
        {
            return text;
        }
        assert!(
            start.elapsed() < limit,
            "textfile: not as expected after {limit:?}: {:?}",
            std::fs::read_to_string(file)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_watch_rewrites_its_textfile_while_it_runs_and_at_sigterm() {
    // Guards: a textfile written only at the end (node_exporter would see
    // nothing for a watch's lifetime), counters that miss an event, a
    // SIGTERM that ends the watch without its last file, lines on stdout.
    let Some(lab) = lab::require_with(&["arping", "promtool"]) else {
        return;
    };
    let star = lab.star(2);
    let client = &star.client;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("watch.prom");
    let path = file.to_str().unwrap();
    let bg = client
        .nettool_cmd(&["arp", "--watch", "-I", &client.iface, "--textfile", path])
        .spawn();
    let l = [("interfaces", client.iface.as_str())];
    let new = |all: &[prom::Sample]| {
        value(
            all,
            "nettool_arp_watch_events_total",
            &[l[0], ("kind", "new_station")],
        )
    };
    // Written at the start, before any event.
    let text = wait_for_file(&file, Duration::from_secs(10), |_| true);
    promtool_accepts(&text);
    let first = samples(&text);
    assert_eq!(
        value(&first, "nettool_run_success", &[("command", "arp")]),
        1.0
    );
    let before = new(&first);
    // Each host announces itself: two new stations (the hosts' IPv6
    // chatter may add its own).
    announce(&star.hosts[0]);
    announce(&star.hosts[1]);
    let text = wait_for_file(&file, Duration::from_secs(10), |all| {
        new(all) >= before + 2.0
    });
    promtool_accepts(&text);
    let live = samples(&text);
    assert!(
        value(&live, "nettool_arp_watch_frames_total", &l) >= 2.0,
        "{text}"
    );
    assert!(
        value(&live, "nettool_arp_watch_stations", &l) >= 2.0,
        "{text}"
    );
    assert_eq!(find(&live, "nettool_arp_watch_events_total", &[]).len(), 7);
    assert_eq!(prom::names_in(dir.path()), ["watch.prom"]);

    // SIGTERM: the watch ends normally and writes its last file.
    std::fs::remove_file(&file).unwrap();
    let pid = bg.pid().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let mut bg = bg;
    let start = Instant::now();
    while bg.running() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = bg.stop();
    assert_eq!(out.code(), Some(0), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    let text = std::fs::read_to_string(&file).expect("written at SIGTERM");
    promtool_accepts(&text);
    let last = samples(&text);
    assert!(new(&last) >= before + 2.0, "{text}");

    // --prometheus on stdout: once, at the end.
    let out = client
        .nettool_cmd(&[
            "arp",
            "--watch",
            "-I",
            &client.iface,
            "--duration",
            "1",
            "--prometheus",
        ])
        .run();
    assert_eq!(out.code(), Some(0), "{out}");
    promtool_accepts(&out.stdout);
    assert_eq!(
        out.stdout
            .matches("# TYPE nettool_arp_watch_frames_total")
            .count(),
        1
    );
}
