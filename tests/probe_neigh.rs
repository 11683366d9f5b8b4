//! `nettool probe` on the local link, against real kernels in the lab: an
//! address of B's subnet that nobody has (198.51.100.3, `2001:db8::3`) is
//! "no ARP/NDP reply", not "filtered"; a present host whose port B's
//! firewall drops is still "filtered"; and the rtnetlink reader
//! (`nettool::neigh`) agrees with `ip -j neigh` / `ip -j route get` in A.
//!
//! nettool (and the reader, on a thread that joined A) runs only inside
//! namespace A of a lab pair; nothing is sent outside the pair
//! (shared/LAB.md). The kernel gives up a resolution after 3 probes 1 s
//! apart: with `-W 4` the attempt ends when it does (FAILED), with `-W 1.5`
//! before it does (INCOMPLETE); both cases are asserted, each
//! deterministic.

mod lab;
mod util;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::thread;

use serde_json::Value;

use lab::Host;
use util::Output;

const PORT: u16 = 7000;

/// `nettool probe -c 1 ARGS... TARGET` in A, as text and as `--json`, at
/// the same time; the JSON attempt record's outcome comes with them.
fn probe_both(a: &Host, args: &[&str], target: &str) -> (Output, Output, Value) {
    let mut text_args = vec!["probe", "-c", "1"];
    text_args.extend_from_slice(args);
    text_args.push(target);
    let mut json_args = text_args.clone();
    json_args.insert(1, "--json");
    let (text, json) = thread::scope(|s| {
        let t = s.spawn(|| a.nettool(&text_args));
        let j = s.spawn(|| a.nettool(&json_args));
        (t.join().unwrap(), j.join().unwrap())
    });
    let first = json.stdout.lines().next().unwrap_or_default().to_string();
    let record: Value = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("the first --json line is not JSON ({e})\n{json}"));
    assert_eq!(record["type"], "attempt", "{json}");
    (text, json, record["outcome"].clone())
}

/// The text line of attempt 1.
#[track_caller]
fn line(out: &Output) -> &str {
    out.stdout
        .lines()
        .find(|l| l.starts_with("1: "))
        .unwrap_or_else(|| panic!("no line for attempt 1\n{out}"))
}

/// `ip -j neigh show ADDR` in `ns`: the entry's state, upper case.
#[track_caller]
fn neigh_state(ns: &str, addr: &str) -> String {
    let v = lab::ip_json(ns, &["neigh", "show", addr]);
    v[0]["state"][0].as_str().unwrap_or_default().to_string()
}

struct Absent {
    name: &'static str,
    v6: bool,
    wait: &'static str,
    state: &'static str,
}

const ABSENT: &[Absent] = &[
    Absent {
        name: "IPv4, the kernel gave up (FAILED)",
        v6: false,
        wait: "4",
        state: "failed",
    },
    Absent {
        name: "IPv4, still asking when -W ends (INCOMPLETE)",
        v6: false,
        wait: "1.5",
        state: "incomplete",
    },
    Absent {
        name: "IPv6, the kernel gave up (FAILED)",
        v6: true,
        wait: "4",
        state: "failed",
    },
    Absent {
        name: "IPv6, still asking when -W ends (INCOMPLETE)",
        v6: true,
        wait: "1.5",
        state: "incomplete",
    },
];

/// Nobody has 198.51.100.3 / `2001:db8::3` on A's link: the neighbour
/// failure is said, in text and JSON, exit 1, and `ip neigh` agrees.
#[test]
fn an_absent_host_on_the_link_is_no_arp_or_ndp_reply() {
    let Some(lab) = lab::require() else { return };
    util::run_cases(
        ABSENT,
        |c| c.name,
        |c| {
            let pair = lab.pair_v6();
            let (absent, target, proto, result_proto) = if c.v6 {
                ("2001:db8::3", format!("[2001:db8::3]:{PORT}"), "NDP", "ndp")
            } else {
                ("198.51.100.3", format!("198.51.100.3:{PORT}"), "ARP", "arp")
            };
            let (text, json, outcome) = probe_both(&pair.a, &["-W", c.wait], &target);
            for out in [&text, &json] {
                assert_eq!(out.code(), Some(1), "{out}");
                assert!(out.stderr.trim().is_empty(), "{out}");
            }
            let want = format!(
                "1: {target} no {proto} reply from {absent} (no host at this address on {}), after ",
                pair.a.iface
            );
            assert!(line(&text).starts_with(&want), "want {want:?}\n{text}");
            assert_eq!(outcome["result"], "no_neighbour", "{json}");
            assert_eq!(outcome["protocol"], result_proto, "{json}");
            assert_eq!(outcome["neighbour"], absent, "{json}");
            assert_eq!(outcome["gateway"], false, "{json}");
            assert_eq!(outcome["iface"], pair.a.iface.as_str(), "{json}");
            let after = outcome["after_us"].as_f64().unwrap();
            if c.state == "failed" {
                // The kernel's 3 probes 1 s apart ended the attempt, not
                // -W 4. The entry is FAILED then, unless TCP's SYN
                // retransmit at 3 s (RTO 1 s, then 2 s) came right after
                // and started asking again: INCOMPLETE. Either is no host.
                assert!((2.5e6..3.9e6).contains(&after), "{after}\n{json}");
                assert!(
                    ["failed", "incomplete"].contains(&outcome["state"].as_str().unwrap_or("")),
                    "{json}"
                );
                let now = neigh_state(&pair.a.ns, absent);
                assert!(["FAILED", "INCOMPLETE"].contains(&now.as_str()), "{now}");
            } else {
                assert_eq!(outcome["state"], c.state, "{json}");
                assert!((1.4e6..2.5e6).contains(&after), "{after}\n{json}");
            }
        },
    );
}

/// B is there and answers ARP, its firewall drops the port: "filtered",
/// as before, with B's entry REACHABLE in A.
#[test]
fn a_present_host_that_drops_the_port_is_still_filtered() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    lab::nft(
        &pair.b.ns,
        "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 7000 drop\n }\n}\n",
    );
    for (target, addr) in [
        (format!("198.51.100.2:{PORT}"), "198.51.100.2"),
        (format!("[2001:db8::2]:{PORT}"), "2001:db8::2"),
    ] {
        let (text, json, outcome) = probe_both(&pair.a, &["-W", "1.5"], &target);
        assert_eq!(text.code(), Some(1), "{text}");
        assert!(
            line(&text).starts_with(&format!("1: {target} filtered (")),
            "{text}"
        );
        assert_eq!(outcome["result"], "filtered", "{json}");
        let state = neigh_state(&pair.a.ns, addr);
        // What the rule reads: B answered, so its entry is neither FAILED
        // nor INCOMPLETE (REACHABLE, or STALE / DELAY / PROBE on a slow
        // machine whose reachable time ran out meanwhile).
        assert!(
            ["REACHABLE", "STALE", "DELAY", "PROBE"].contains(&state.as_str()),
            "B answered: {addr} is {state}"
        );
    }
}

/// A route through a gateway nobody has: the gateway is named.
#[test]
fn a_gateway_that_does_not_answer_is_named() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    lab::ip(
        &pair.a.ns,
        &["route", "add", "203.0.113.0/24", "via", "198.51.100.9"],
    );
    let target = format!("203.0.113.5:{PORT}");
    let (text, json, outcome) = probe_both(&pair.a, &["-W", "4"], &target);
    assert_eq!(json.code(), Some(1), "{json}");
    let want = format!(
        "1: {target} no ARP reply from the gateway 198.51.100.9 (the router on {} is down or gone), after ",
        pair.a.iface
    );
    assert!(line(&text).starts_with(&want), "want {want:?}\n{text}");
    assert_eq!(outcome["result"], "no_neighbour", "{json}");
    assert_eq!(outcome["neighbour"], "198.51.100.9", "{json}");
    assert_eq!(outcome["gateway"], true, "{json}");
    assert_eq!(outcome["state"], "failed", "{json}");
}

/// A scan and `--trace` say it too. A scan asks the neighbour table once
/// per silent host: the absent address's ports are `absent`, B's dropped
/// port stays filtered and its closed port refused. A trace to an address
/// on the link has no router to hear from: it says nobody is there, or
/// that the host itself drops the SYN.
#[test]
fn scans_and_traces_on_the_link_name_the_absent_host() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    lab::nft(
        &pair.b.ns,
        "table inet lab {\n chain input {\n  type filter hook input priority 0;\n  tcp dport 7000 drop\n }\n}\n",
    );
    let iface = pair.a.iface.as_str();
    for (v6, absent, present, proto) in [
        (false, "198.51.100.3", "198.51.100.2", "ARP"),
        (true, "2001:db8::3", "2001:db8::2", "NDP"),
    ] {
        let host = |a: &str| if v6 { format!("[{a}]") } else { a.to_string() };
        let scan = pair.a.nettool(&[
            "probe",
            "-W",
            "1.5",
            &format!("{}:22,80", host(absent)),
            &format!("{}:7000,7001", host(present)),
        ]);
        assert_eq!(scan.code(), Some(1), "{scan}");
        for port in [22, 80] {
            let want = format!(
                "{}:{port} no {proto} reply from {absent} (no host at this address on {iface}), after ",
                host(absent)
            );
            assert!(
                scan.stdout.lines().any(|l| l.starts_with(&want)),
                "want {want:?}\n{scan}"
            );
        }
        let filtered = format!("{}:7000 filtered", host(present));
        let refused = format!("{}:7001 refused (RST)", host(present));
        for want in [&filtered, &refused] {
            assert!(
                scan.stdout.lines().any(|l| l.starts_with(want.as_str())),
                "want {want:?}\n{scan}"
            );
        }
        let counts = scan
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(absent))
            .unwrap_or_else(|| panic!("no count row for {absent}\n{scan}"));
        // HOST open closed filtered absent: this host's two ports, absent.
        let header = scan
            .stdout
            .lines()
            .find(|l| l.starts_with("HOST "))
            .unwrap_or_else(|| panic!("no count table\n{scan}"));
        let column = header.split_whitespace().position(|w| w == "absent");
        assert_eq!(
            column.and_then(|c| counts.split_whitespace().nth(c)),
            Some("2"),
            "{scan}"
        );

        let trace = |addr: &str| {
            pair.a.nettool(&[
                "probe",
                "--trace",
                "--max-silent",
                "2",
                &format!("{}:7000", host(addr)),
            ])
        };
        let nobody = trace(absent);
        assert_eq!(nobody.code(), Some(1), "{nobody}");
        let want = format!(
            "no {proto} reply from {absent} (no host at this address on {iface}): nothing to trace"
        );
        assert_eq!(
            nobody.stdout.lines().last(),
            Some(want.as_str()),
            "{nobody}"
        );
        let drops = trace(present);
        assert_eq!(drops.code(), Some(1), "{drops}");
        let want = format!(
            "no answer from {present}, which is on the local link ({iface}) with no router between: that host drops the SYN (a firewall on it)"
        );
        assert_eq!(drops.stdout.lines().last(), Some(want.as_str()), "{drops}");
    }
}

/// One neighbour entry as `ip -j neigh` and our reader both say it.
type Entry = (String, String, String, Option<String>);

/// Runs `f` on a thread inside `ns` (the reader asks that namespace's
/// kernel).
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    lab::thread_in(ns, f).join().expect("reader thread")
}

/// After some traffic (B answered, .3 did not), the reader lists what
/// `ip -j neigh show nud all` lists: addresses, interfaces, states, MACs;
/// and `lookup` finds single entries.
#[test]
fn the_neighbour_reader_agrees_with_ip_neigh() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    for t in [
        format!("198.51.100.2:{PORT}"),
        format!("[2001:db8::2]:{PORT}"),
        format!("198.51.100.3:{PORT}"),
        format!("[2001:db8::3]:{PORT}"),
    ] {
        // -W 4: the absent ones end FAILED, not INCOMPLETE (which could
        // turn FAILED between the two reads).
        pair.a.nettool(&["probe", "-c", "1", "-W", "4", &t]);
    }
    let theirs = || -> BTreeSet<Entry> {
        let v = lab::ip_json(&pair.a.ns, &["neigh", "show", "nud", "all"]);
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["dst"].as_str().unwrap().to_string(),
                    e["dev"].as_str().unwrap().to_string(),
                    e["state"][0].as_str().unwrap().to_ascii_lowercase(),
                    e["lladdr"].as_str().map(str::to_string),
                )
            })
            .collect()
    };
    let ours = || -> BTreeSet<Entry> {
        in_ns(&pair.a.ns, || {
            nettool::neigh::neighbours(None, None)
                .unwrap()
                .into_iter()
                .map(|n| {
                    (
                        n.addr.to_string(),
                        nettool::sys::interface_name(n.ifindex).unwrap(),
                        n.state.name(),
                        n.lladdr.map(|m| m.to_string()),
                    )
                })
                .collect()
        })
    };
    // States move on their own (REACHABLE turns STALE): read again when
    // the two reads straddle a change.
    let mut tries = 0;
    let (a, b) = loop {
        let (a, b) = (theirs(), ours());
        tries += 1;
        if a == b || tries == 3 {
            break (a, b);
        }
    };
    assert_eq!(b, a, "nettool::neigh vs ip -j neigh show nud all");
    let b_mac = pair.b.mac();
    for (addr, state) in [
        ("198.51.100.2", Some(b_mac.as_str())),
        ("2001:db8::2", Some(b_mac.as_str())),
        ("198.51.100.3", None),
        ("2001:db8::3", None),
    ] {
        assert!(
            a.iter()
                .any(|e| e.0 == addr && e.3.as_deref() == state && e.1 == pair.a.iface),
            "{addr} with MAC {state:?} on {} in {a:?}",
            pair.a.iface
        );
    }
    // Per-family dumps and single lookups.
    let iface = pair.a.iface.clone();
    let (v4, v6, found, missing) = in_ns(&pair.a.ns, move || {
        use nettool::neigh::{Family, lookup, neighbours};
        let i = nettool::sys::interface_index(&iface).unwrap();
        (
            neighbours(Some(Family::V4), Some(i)).unwrap(),
            neighbours(Some(Family::V6), None).unwrap(),
            lookup("198.51.100.3".parse().unwrap(), i).unwrap(),
            lookup("198.51.100.77".parse().unwrap(), i).unwrap(),
        )
    });
    assert!(v4.iter().all(|n| n.addr.is_ipv4()) && !v4.is_empty());
    assert!(v6.iter().all(|n| n.addr.is_ipv6()) && !v6.is_empty());
    let found = found.expect("198.51.100.3 has an entry");
    assert_eq!(found.state.name(), "failed");
    assert!(missing.is_none());
}

/// `route_to` says what `ip -j route get` says: interface, gateway,
/// source, type.
#[test]
fn route_to_agrees_with_ip_route_get() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    lab::ip(
        &pair.a.ns,
        &["route", "add", "203.0.113.0/24", "via", "198.51.100.9"],
    );
    lab::ip(
        &pair.a.ns,
        &[
            "-6",
            "route",
            "add",
            "2001:db8:1::/64",
            "via",
            "2001:db8::9",
        ],
    );
    for dst in [
        "198.51.100.2",
        "198.51.100.3",
        "203.0.113.5",
        "198.51.100.1",
        "2001:db8::2",
        "2001:db8:1::5",
    ] {
        let theirs = lab::ip_json(&pair.a.ns, &["route", "get", dst]);
        let theirs = &theirs[0];
        let addr: IpAddr = dst.parse().unwrap();
        let (route, dev) = in_ns(&pair.a.ns, move || {
            let r = nettool::neigh::route_to(addr, None).unwrap();
            let dev = r.oif.and_then(nettool::sys::interface_name);
            (r, dev)
        });
        assert_eq!(dev.as_deref(), theirs["dev"].as_str(), "{dst}: {theirs}");
        assert_eq!(
            route.gateway.map(|g| g.to_string()).as_deref(),
            theirs["gateway"].as_str(),
            "{dst}: {theirs}"
        );
        assert_eq!(
            route.prefsrc.map(|g| g.to_string()).as_deref(),
            theirs["prefsrc"].as_str(),
            "{dst}: {theirs}"
        );
        // ip leaves the type out for unicast.
        let kind = theirs["type"].as_str().unwrap_or("unicast");
        assert_eq!(route.kind.name(), kind, "{dst}: {theirs}");
        assert_eq!(route.dst, Some(addr));
    }
    // No route: the kernel's ENETUNREACH, as `ip route get` fails.
    let no = lab::run_in(&pair.a.ns, "ip", &["route", "get", "192.0.2.1"]);
    assert_ne!(no.code(), Some(0), "{no}");
    let e = in_ns(&pair.a.ns, || {
        nettool::neigh::route_to("192.0.2.1".parse().unwrap(), None).unwrap_err()
    });
    assert_eq!(e.raw_os_error(), Some(101), "{e}");
}
