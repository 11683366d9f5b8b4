//! `nettool arp --localnet -6` against real kernels in a bridged lab
//! (tests/lab `star()`): one echo request to all nodes from the client,
//! answered by Linux's own ICMPv6 code in each host namespace. Addresses
//! are link-local (the kernel's own) and `2001:db8::/64`, added here; the
//! hub's bridge has IPv6 off so only the hosts can answer. nettool runs
//! inside the client namespace.

mod lab;
mod util;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::{Host, Star};
use util::Output;

/// `nettool arp ARGS...` inside the client.
#[track_caller]
fn arp(star: &Star, args: &[&str]) -> Output {
    let mut all = vec!["arp"];
    all.extend_from_slice(args);
    star.client.nettool(&all)
}

/// The IPv6 addresses of `h`'s lab interface as `ip -j addr` has them.
fn addrs6(h: &Host) -> Vec<String> {
    lab::ip_json(&h.ns, &["-6", "addr", "show", "dev", &h.iface])[0]["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["local"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `h` still has a tentative address (duplicate address
/// detection not done: the kernel does not answer from it yet).
fn tentative(h: &Host) -> bool {
    let out = h.run("ip", &["-6", "addr", "show", "dev", &h.iface, "tentative"]);
    !out.stdout.trim().is_empty()
}

/// A star of `n` hosts with IPv6 ready: the bridge's IPv6 off, the
/// client at `2001:db8::1/64`, host `i` at `2001:db8::(10+i)/64` when
/// `global(i)`, and every link-local address past its duplicate address
/// detection.
fn star6(lab: lab::Lab, n: usize, global: impl Fn(usize) -> bool) -> Star {
    let star = lab.star(n);
    lab::sysctl(
        &star.hub,
        &format!("net.ipv6.conf.{}.disable_ipv6", star.bridge),
        "1",
    );
    let add = |h: &Host, a: &str| {
        lab::ip(&h.ns, &["addr", "add", a, "dev", &h.iface, "nodad"]);
    };
    add(&star.client, "2001:db8::1/64");
    for (i, h) in star.hosts.iter().enumerate() {
        if global(i) {
            add(h, &format!("2001:db8::{}/64", 10 + i));
        }
    }
    let end = Instant::now() + Duration::from_secs(10);
    let all: Vec<&Host> = std::iter::once(&star.client).chain(&star.hosts).collect();
    while all.iter().any(|h| tentative(h) || addrs6(h).is_empty()) {
        assert!(
            Instant::now() < end,
            "lab: link-local addresses stay tentative"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    star
}

/// The JSON document's hosts by MAC: their addresses.
fn hosts_by_mac(doc: &Value) -> BTreeMap<String, Vec<String>> {
    doc["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            let ips = h["ips"]
                .as_array()
                .expect("ips")
                .iter()
                .map(|a| a.as_str().expect("address").to_string())
                .collect();
            (h["mac"].as_str().expect("mac").to_string(), ips)
        })
        .collect()
}

#[test]
fn every_host_is_found_once_with_its_mac_and_addresses_of_both_scopes() {
    let Some(lab) = lab::require() else {
        return;
    };
    // Hosts 0 and 1 have a global address, host 2 only its link-local one,
    // host 3 ignores multicast echoes, host 4 every echo.
    let star = star6(lab, 5, |i| i != 2);
    lab::sysctl(
        &star.hosts[3].ns,
        "net.ipv6.icmp.echo_ignore_multicast",
        "1",
    );
    lab::sysctl(&star.hosts[4].ns, "net.ipv6.icmp.echo_ignore_all", "1");

    let out = arp(&star, &["--localnet", "-6", "--timeout", "0.3", "--json"]);
    assert_eq!(out.code(), Some(0), "hosts answered\n{out}");
    let doc = out.json();
    assert_eq!(doc["schema"], "nettool.arp.sweep6/1");
    assert_eq!(doc["interface"], star.client.iface.as_str());
    assert_eq!(doc["source"]["mac"], star.client.mac().as_str());
    let got = hosts_by_mac(&doc);
    let mut want = BTreeMap::new();
    for h in &star.hosts[..3] {
        let mut a = addrs6(h);
        // Link-local first, as nettool lists them.
        a.sort_by_key(|x| !x.starts_with("fe80:"));
        want.insert(h.mac(), a);
    }
    assert_eq!(
        got, want,
        "the three answering hosts, by `ip link` MAC\n{out}"
    );
    assert!(
        got[&star.hosts[0].mac()].contains(&"2001:db8::10".to_string()),
        "the global address is grouped with the link-local one\n{out}"
    );
    assert_eq!(got[&star.hosts[2].mac()].len(), 1, "link-local only\n{out}");
    assert_eq!(doc["responded"], 3);
    // Two rounds (--retries 1 by default) from each of two sources.
    assert_eq!(doc["sent"], 4);
    for h in doc["hosts"].as_array().unwrap() {
        assert_eq!(h["duplicate"], false);
        assert!(h["rtt_ms"].as_f64().unwrap() > 0.0, "{h}");
        assert_eq!(h["vendor"], "(locally administered)", "{h}");
    }

    // The lines: each answering MAC on exactly one line, the silent ones
    // on none, then the summary.
    let out = arp(&star, &["--localnet", "-6", "--timeout", "0.3"]);
    assert_eq!(out.code(), Some(0), "{out}");
    for (i, h) in star.hosts.iter().enumerate() {
        let mac = h.mac();
        let n = out.stdout.lines().filter(|l| l.contains(&mac)).count();
        assert_eq!(n, usize::from(i < 3), "host {i} [{mac}] lines\n{out}");
    }
    let row = out
        .stdout
        .lines()
        .find(|l| l.contains(&star.hosts[1].mac()))
        .unwrap();
    assert!(
        row.contains("2001:db8::11") && row.contains("fe80::"),
        "both scopes on one row\n{out}"
    );
    let last = out.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "3 hosts answered an ICMPv6 echo request to all nodes (ff02::1) from fe80::"
        ) && last.contains(", 2001:db8::1 on "),
        "summary\n{out}"
    );
}

#[test]
fn nobody_answering_exits_1_and_says_why_hosts_may_be_silent() {
    let Some(lab) = lab::require() else {
        return;
    };
    let star = star6(lab, 2, |_| true);
    lab::sysctl(
        &star.hosts[0].ns,
        "net.ipv6.icmp.echo_ignore_multicast",
        "1",
    );
    lab::sysctl(&star.hosts[1].ns, "net.ipv6.icmp.echo_ignore_all", "1");
    let out = arp(
        &star,
        &["--localnet", "-6", "--timeout", "0.2", "--retries", "0"],
    );
    assert_eq!(out.code(), Some(1), "nobody answered\n{out}");
    assert!(
        out.stdout
            .contains("0 hosts answered an ICMPv6 echo request to all nodes"),
        "{out}"
    );
    assert!(out.stdout.contains("echo_ignore_multicast=1"), "{out}");
    let out = arp(
        &star,
        &[
            "--localnet",
            "-6",
            "--timeout",
            "0.2",
            "--retries",
            "0",
            "--json",
        ],
    );
    assert_eq!(out.code(), Some(1), "{out}");
    let doc = out.json();
    assert_eq!(doc["responded"], 0);
    assert_eq!(doc["sent"], 2, "one round from two sources");
    assert!(doc["hosts"].as_array().unwrap().is_empty());
}

#[test]
fn an_interface_without_ipv6_is_refused() {
    let Some(lab) = lab::require() else {
        return;
    };
    let star = lab.star(1);
    lab::sysctl(
        &star.client.ns,
        &format!("net.ipv6.conf.{}.disable_ipv6", star.client.iface),
        "1",
    );
    let out = arp(
        &star,
        &[
            "--localnet",
            "-6",
            "-I",
            &star.client.iface,
            "--timeout",
            "0.1",
        ],
    );
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert_eq!(out.stderr_nonblank_lines().len(), 1, "{out}");
}

#[test]
fn an_address_answering_from_two_macs_is_flagged_on_both() {
    let Some(lab) = lab::require() else {
        return;
    };
    let star = star6(lab, 2, |_| false);
    // The same global address on both hosts, duplicate address detection
    // off: both answer from it.
    for h in &star.hosts {
        lab::ip(
            &h.ns,
            &["addr", "add", "2001:db8::20/64", "dev", &h.iface, "nodad"],
        );
    }
    let out = arp(&star, &["--localnet", "-6", "--timeout", "0.3", "--json"]);
    assert_eq!(out.code(), Some(0), "{out}");
    let doc = out.json();
    let hosts = doc["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 2, "{out}");
    for h in hosts {
        assert_eq!(h["duplicate"], true, "{h}");
        assert_eq!(h["shared_ips"], serde_json::json!(["2001:db8::20"]), "{h}");
    }
    let out = arp(&star, &["--localnet", "-6", "--timeout", "0.3"]);
    let flagged = out
        .stdout
        .lines()
        .filter(|l| l.contains("DUPLICATE: 2001:db8::20 also from another MAC"))
        .count();
    assert_eq!(flagged, 2, "{out}");
}
