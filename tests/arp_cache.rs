//! `nettool arp -a`: the kernel's neighbour table, IPv4 and IPv6, against
//! real kernels in the lab (tests/lab).
//!
//! A lab pair (A and B, IPv4 and IPv6) gets a second veth link, and A's
//! table is filled with an entry in every NUD state the kernel can be put
//! in honestly: REACHABLE after a real datagram to B, FAILED and
//! INCOMPLETE for addresses nobody has (the per-link `neigh` sysctls make
//! one link give up after one quick solicitation and the other keep asking
//! for half a minute), STALE, NOARP, NONE and PERMANENT added with
//! `ip neigh`, DELAY and PROBE by using a STALE entry whose MAC nobody
//! has. Then `nettool arp -a --json` inside A must equal
//! `ip -j neigh show nud all` there, entry for entry. Names come from a
//! hosts file of A's own (/etc/netns/A/hosts, which `ip netns exec`
//! mounts over /etc/hosts), so the machine's /etc/hosts is not assumed.
//!
//! nettool runs only inside A; every datagram goes from A to B or to an
//! address of the lab's links that nobody has, and the solicitations for
//! those stay on the veth links (shared/LAB.md).

mod lab;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use lab::{Host, arp};
use util::Output;

/// One entry as both tools can say it: family, address, MAC, state,
/// router flag, interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    family: &'static str,
    address: IpAddr,
    mac: Option<String>,
    state: String,
    router: bool,
    iface: String,
}

fn family_of(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "ipv4" } else { "ipv6" }
}

/// `ip -j [FAMILY] neigh show nud all [dev IFACE]` in `ns`, read.
#[track_caller]
fn ip_neigh(ns: &str, family: Option<&str>, dev: Option<&str>) -> BTreeSet<Entry> {
    let mut args: Vec<&str> = family.into_iter().collect();
    args.extend(["neigh", "show", "nud", "all"]);
    if let Some(dev) = dev {
        args.extend(["dev", dev]);
    }
    ip_of(&lab::ip_json(ns, &args), dev)
}

/// An `ip -j neigh` document as entries. `ip` writes a state as a list of
/// its bits' names and leaves it out when no bit is set (NONE); the router
/// flag is a key with a null value; asked for one `dev`, it leaves out
/// `dev`.
#[track_caller]
fn ip_of(v: &Value, dev: Option<&str>) -> BTreeSet<Entry> {
    v.as_array()
        .unwrap_or_else(|| panic!("ip -j neigh is not an array: {v}"))
        .iter()
        .map(|e| {
            let address: IpAddr = e["dst"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("dst: {e}"));
            let state: Vec<&str> = e
                .get("state")
                .and_then(Value::as_array)
                .map(|s| s.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            Entry {
                family: family_of(address),
                address,
                mac: e["lladdr"].as_str().map(str::to_ascii_lowercase),
                state: if state.is_empty() {
                    "NONE".into()
                } else {
                    state.join(",")
                },
                router: e.get("router").is_some(),
                iface: e["dev"]
                    .as_str()
                    .or(dev)
                    .unwrap_or_else(|| panic!("dev: {e}"))
                    .to_string(),
            }
        })
        .collect()
}

/// nettool's `--json` array, each object checked for its fields' types.
#[track_caller]
fn nettool_entries(out: &Output) -> Vec<Entry> {
    let doc = out.json();
    doc.as_array()
        .unwrap_or_else(|| panic!("--json is an array\n{out}"))
        .iter()
        .map(|e| {
            let address: IpAddr = e["address"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("address: {e}"));
            let family = e["family"]
                .as_str()
                .unwrap_or_else(|| panic!("family: {e}"));
            assert_eq!(family, family_of(address), "{e}");
            let mac = &e["mac"];
            assert!(
                mac.is_null() || mac.as_str().is_some_and(lab::is_mac),
                "mac: {e}"
            );
            for k in ["used_s", "confirmed_s", "updated_s"] {
                assert!(
                    e[k].is_null() || e[k].as_f64().is_some_and(|s| s >= 0.0),
                    "{k}: {e}"
                );
            }
            assert!(e["name"].is_null() || e["name"].is_string(), "name: {e}");
            Entry {
                family: family_of(address),
                address,
                mac: mac.as_str().map(str::to_string),
                state: e["state"]
                    .as_str()
                    .unwrap_or_else(|| panic!("state: {e}"))
                    .to_string(),
                router: e["router"]
                    .as_bool()
                    .unwrap_or_else(|| panic!("router: {e}")),
                iface: e["iface"]
                    .as_str()
                    .unwrap_or_else(|| panic!("iface: {e}"))
                    .to_string(),
            }
        })
        .collect()
}

/// A pair with a second link and A's table holding every state.
struct Table {
    pair: lab::Pair,
    /// A's end of the second link (203.0.113.0/24, `2001:db8:1::/64`).
    slow: String,
    /// Address -> the state it was put in.
    made: BTreeMap<IpAddr, &'static str>,
    /// Entries with the router flag.
    routers: BTreeSet<IpAddr>,
}

fn ip_addr(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

/// Sends one UDP datagram from A to `addr`'s discard port: bash's
/// /dev/udp, as there is no ping. Whether it leaves does not matter: the
/// kernel starts resolving the neighbour either way.
fn datagram(a: &Host, addr: &str) {
    a.run("bash", &["-c", &format!("echo x > /dev/udp/{addr}/9")]);
}

#[track_caller]
fn sysctls(ns: &str, iface: &str, values: &[(&str, &str)]) {
    for family in ["ipv4", "ipv6"] {
        for (key, value) in values {
            lab::sysctl(ns, &format!("net.{family}.neigh.{iface}.{key}"), value);
        }
    }
}

/// Builds the table. The lab link gives up fast (one solicitation, 0.1 s)
/// and keeps REACHABLE and DELAY for minutes; the second link asks three
/// times 10 s apart, so INCOMPLETE and PROBE last the test out.
fn table(lab: lab::Lab) -> Table {
    let mut pair = lab.pair_v6();
    let (slow, slow_b) = pair.net.veth(&pair.a.ns, &pair.b.ns);
    lab::ip(&pair.a.ns, &["addr", "add", "203.0.113.1/24", "dev", &slow]);
    lab::ip(
        &pair.a.ns,
        &["addr", "add", "2001:db8:1::1/64", "dev", &slow, "nodad"],
    );
    lab::ip(
        &pair.b.ns,
        &["addr", "add", "203.0.113.2/24", "dev", &slow_b],
    );
    lab::ip(
        &pair.b.ns,
        &["addr", "add", "2001:db8:1::2/64", "dev", &slow_b, "nodad"],
    );
    let (a, fast) = (pair.a.clone(), pair.a.iface.clone());
    sysctls(
        &a.ns,
        &fast,
        &[
            ("mcast_solicit", "1"),
            ("retrans_time_ms", "100"),
            ("base_reachable_time_ms", "600000"),
            ("delay_first_probe_time", "600"),
        ],
    );
    sysctls(
        &a.ns,
        &slow,
        &[
            ("mcast_solicit", "3"),
            ("ucast_solicit", "3"),
            ("retrans_time_ms", "10000"),
            ("delay_first_probe_time", "1"),
        ],
    );
    // B's Neighbor Advertisements then carry the router flag.
    lab::sysctl(&pair.b.ns, "net.ipv6.conf.all.forwarding", "1");

    let mut made = BTreeMap::new();
    let mut routers = BTreeSet::new();
    let neigh = |args: &[&str]| lab::ip(&a.ns, &[&["neigh", "add"], args].concat());
    for (v4, v6, dev, state) in [
        ("198.51.100.2", "2001:db8::2", &fast, "REACHABLE"),
        ("198.51.100.3", "2001:db8::3", &fast, "FAILED"),
        ("198.51.100.50", "2001:db8::50", &fast, "PERMANENT"),
        ("198.51.100.51", "2001:db8::51", &fast, "STALE"),
        ("198.51.100.52", "2001:db8::52", &fast, "NOARP"),
        ("198.51.100.53", "2001:db8::53", &fast, "NONE"),
        ("198.51.100.60", "2001:db8::60", &fast, "DELAY"),
        ("203.0.113.3", "2001:db8:1::3", &slow, "INCOMPLETE"),
        ("203.0.113.60", "2001:db8:1::60", &slow, "PROBE"),
    ] {
        for addr in [v4, v6] {
            // A MAC nobody has, its last byte the address's last number.
            let last: u8 = addr
                .rsplit(['.', ':'])
                .next()
                .and_then(|l| l.parse().ok())
                .expect("last number");
            let mac = format!("02:00:5e:00:01:{last:02x}");
            match state {
                "REACHABLE" | "FAILED" | "INCOMPLETE" => datagram(&a, addr),
                "PERMANENT" | "STALE" | "NOARP" | "NONE" => {
                    let nud = state.to_ascii_lowercase();
                    let mut args = vec![addr, "lladdr", &mac, "dev", dev, "nud", &nud];
                    if state == "PERMANENT" && addr.contains(':') {
                        args.push("router");
                        routers.insert(ip_addr(addr));
                    }
                    neigh(&args);
                }
                // A STALE entry used: DELAY, then (on the slow link, after
                // 1 s) PROBE by unicast to a MAC nobody has.
                _ => {
                    neigh(&[addr, "lladdr", &mac, "dev", dev, "nud", "stale"]);
                    datagram(&a, addr);
                }
            }
            made.insert(ip_addr(addr), state);
        }
    }
    routers.insert(ip_addr("2001:db8::2"));
    let settled = util::wait_until(Duration::from_secs(10), || {
        let now: BTreeMap<IpAddr, (String, bool)> = ip_neigh(&a.ns, None, None)
            .into_iter()
            .map(|e| (e.address, (e.state, e.router)))
            .collect();
        made.iter().all(|(addr, state)| {
            now.get(addr)
                .is_some_and(|(s, r)| s == state && *r == routers.contains(addr))
        })
    });
    assert!(
        settled,
        "A's table did not reach the states made: {made:?}, routers {routers:?}\n{:#?}",
        ip_neigh(&a.ns, None, None)
    );
    Table {
        pair,
        slow,
        made,
        routers,
    }
}

/// `ip -j neigh` (of `family`, `dev`) before and after `nettool arp
/// ARGS` in A, until the table held still across the run (entries of their
/// own, such as IPv6 multicast ones, can come meanwhile): that table and
/// nettool's output.
fn while_still(
    t: &Table,
    args: &[&str],
    family: Option<&str>,
    dev: Option<&str>,
) -> (BTreeSet<Entry>, Output) {
    let ns = &t.pair.a.ns;
    for _ in 0..5 {
        let before = ip_neigh(ns, family, dev);
        let out = arp(&t.pair.a, args);
        if ip_neigh(ns, family, dev) == before {
            return (before, out);
        }
    }
    panic!(
        "A's neighbour table kept changing during `nettool arp {}`",
        args.join(" ")
    );
}

#[test]
fn every_state_of_both_families_is_what_ip_neigh_says() {
    let Some(lab) = lab::require() else { return };
    let t = table(lab);
    let (want, out) = while_still(&t, &["-a", "-n", "--json"], None, None);
    assert_eq!(out.code(), Some(0), "{out}");
    assert!(out.stderr.trim().is_empty(), "{out}");
    let got = nettool_entries(&out);
    util::assert_same_set(
        "A's neighbour table",
        "ip -j neigh show nud all",
        &want,
        "nettool arp -a --json",
        &got.iter().cloned().collect(),
    );
    assert_eq!(got.len(), want.len(), "no entry twice: {got:#?}");

    // Every state made is there, in both families, with its flag.
    let by_addr: BTreeMap<IpAddr, &Entry> = got.iter().map(|e| (e.address, e)).collect();
    for (addr, state) in &t.made {
        let e = by_addr
            .get(addr)
            .unwrap_or_else(|| panic!("{addr} missing: {got:#?}"));
        assert_eq!(e.state, *state, "{e:?}");
        assert_eq!(e.router, t.routers.contains(addr), "{e:?}");
    }
    let states: BTreeSet<(&str, &str)> = t.made.iter().map(|(a, s)| (family_of(*a), *s)).collect();
    assert_eq!(states.len(), 18, "nine states in each family: {states:?}");
    // B (forwarding) answered as a router; its MAC is B's.
    let b = by_addr[&ip_addr("2001:db8::2")];
    assert!(b.router, "{b:?}");
    assert_eq!(b.mac.as_deref(), Some(t.pair.b.mac().as_str()), "{b:?}");
    assert!(!by_addr[&ip_addr("198.51.100.2")].router);
    // No MAC while nobody answered (nor in NONE); the one given otherwise.
    for addr in [
        "198.51.100.3",
        "2001:db8::3",
        "203.0.113.3",
        "2001:db8:1::3",
        "2001:db8::53",
    ] {
        assert_eq!(by_addr[&ip_addr(addr)].mac, None, "{addr}");
    }
    assert_eq!(
        by_addr[&ip_addr("2001:db8:1::60")].mac.as_deref(),
        Some("02:00:5e:00:01:3c")
    );

    // Sorted: family, then interface name, then address.
    let keys: Vec<(&str, &str, IpAddr)> = got
        .iter()
        .map(|e| (e.family, e.iface.as_str(), e.address))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by family, interface, address");
    assert!(keys.iter().any(|k| k.1 == t.slow), "both links listed");
}

#[test]
fn the_table_shows_each_state_and_the_router_flag() {
    let Some(lab) = lab::require() else { return };
    let t = table(lab);
    let out = arp(&t.pair.a, &["-n"]);
    assert_eq!(out.code(), Some(0), "{out}");
    let table = out.table();
    assert_eq!(
        table.header,
        [
            "Address",
            "MAC",
            "State",
            "Flags",
            "Iface",
            "Used/Confirmed/Updated"
        ],
        "-n: no Name column\n{out}"
    );
    for (addr, state) in &t.made {
        let rows = table.rows_where("Address", &addr.to_string());
        assert_eq!(rows.len(), 1, "one row for {addr}\n{out}");
        let row = rows[0];
        assert_eq!(table.cell(row, "State"), *state, "{addr}\n{out}");
        let flags = if t.routers.contains(addr) {
            "router"
        } else {
            "-"
        };
        assert_eq!(table.cell(row, "Flags"), flags, "{addr}\n{out}");
        let mac = table.cell(row, "MAC");
        assert!(
            lab::is_mac(mac) || mac == "(incomplete)",
            "{addr}: {mac}\n{out}"
        );
        let iface = if addr.to_string().starts_with("203.")
            || addr.to_string().starts_with("2001:db8:1:")
        {
            &t.slow
        } else {
            &t.pair.a.iface
        };
        assert_eq!(table.cell(row, "Iface"), iface, "{addr}\n{out}");
        let ages = table.cell(row, "Used/Confirmed/Updated");
        assert!(
            ages.ends_with(" s ago") && ages.split('/').count() == 3,
            "{ages}\n{out}"
        );
    }
    let failed = table.rows_where("Address", "2001:db8::3")[0].clone();
    assert_eq!(table.cell(&failed, "MAC"), "(incomplete)", "{out}");
}

#[test]
fn dash_4_dash_6_and_dash_capital_i_pick_entries_as_ip_neigh_does() {
    let Some(lab) = lab::require() else { return };
    let t = table(lab);
    let fast = t.pair.a.iface.as_str();
    let slow = t.slow.as_str();
    for (flags, family, dev) in [
        (&["-4"][..], Some("-4"), None),
        (&["-6"], Some("-6"), None),
        (&["-I", slow], None, Some(slow)),
        (&["-I", fast], None, Some(fast)),
        (&["--ipv6", "-I", slow], Some("-6"), Some(slow)),
        (&["--ipv4", "--interface", fast], Some("-4"), Some(fast)),
    ] {
        let mut args = vec!["-n", "--json"];
        args.extend_from_slice(flags);
        let what = format!("nettool arp {}", args.join(" "));
        let (want, out) = while_still(&t, &args, family, dev);
        assert_eq!(out.code(), Some(0), "{what}\n{out}");
        let got: BTreeSet<Entry> = nettool_entries(&out).into_iter().collect();
        util::assert_same_set(&what, "ip neigh", &want, "nettool", &got);
        // Each filter leaves some entries and drops others.
        assert!(!got.is_empty(), "{what}");
        let all = ip_neigh(&t.pair.a.ns, None, None);
        assert!(got.len() < all.len(), "{what}: {got:#?}");
        for e in &got {
            match family {
                Some("-4") => assert_eq!(e.family, "ipv4", "{what}: {e:?}"),
                Some(_) => assert_eq!(e.family, "ipv6", "{what}: {e:?}"),
                None => {}
            }
            if let Some(dev) = dev {
                assert_eq!(e.iface, dev, "{what}: {e:?}");
            }
        }
    }
}

#[test]
fn an_empty_table_is_an_empty_array_and_exit_1() {
    // README, exit status: 1 when the thing looked for was not found.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let out = arp(&pair.a, &["-n", "-4", "--json"]);
    assert_eq!(out.code(), Some(1), "no IPv4 neighbour yet\n{out}");
    assert_eq!(out.json(), Value::Array(vec![]), "{out}");
    assert!(out.stderr.trim().is_empty(), "{out}");
}

/// `-i` is the interval everywhere; `arp -i IFACE` (arp(8)'s habit) is one
/// line naming `-I`, exit 2, nothing on stdout, and no table is dumped.
#[test]
fn dash_i_is_the_interval_and_the_table_takes_its_interface_as_dash_capital_i() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let iface = pair.a.iface.clone();
    for (args, says) in [
        (vec!["-i", iface.as_str()], format!("give -I {iface}")),
        (
            vec!["-a", "-n", "--json", "-i", iface.as_str()],
            format!("give -I {iface}"),
        ),
        (
            vec!["-i", "0.5"],
            "the neighbour table takes none".to_string(),
        ),
    ] {
        let out = arp(&pair.a, &args);
        let what = format!("arp {}", args.join(" "));
        assert_eq!(out.code(), Some(2), "{what}\n{out}");
        let lines = out.stderr_nonblank_lines();
        assert_eq!(lines.len(), 1, "{what}: one line\n{out}");
        assert!(lines[0].contains(&says), "{what}: {}", lines[0]);
        assert!(out.stdout.is_empty(), "{what}\n{out}");
    }
    let ok = arp(&pair.a, &["-n", "-I", &iface]);
    assert!(
        matches!(ok.code(), Some(0 | 1)),
        "-I is the interface\n{ok}"
    );
    assert!(ok.stderr.trim().is_empty(), "{ok}");
}

/// `ip netns exec NS` bind-mounts each file of /etc/netns/NS over the one
/// of /etc: a hosts file seen by this namespace's processes only. Removed
/// on drop (with /etc/netns when this made it).
struct NetnsHosts {
    dir: PathBuf,
    made_parent: bool,
}

impl NetnsHosts {
    fn new(ns: &str, text: &str) -> NetnsHosts {
        assert!(
            ns.starts_with(&format!("nt-{}-", std::process::id())),
            "{ns}"
        );
        let parent = Path::new("/etc/netns");
        let made_parent = !parent.exists();
        let dir = parent.join(ns);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        std::fs::write(dir.join("hosts"), text).expect("write the namespace's hosts");
        NetnsHosts { dir, made_parent }
    }
}

impl Drop for NetnsHosts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if self.made_parent {
            // Fails, rightly, while another test's namespace has files there.
            let _ = std::fs::remove_dir(Path::new("/etc/netns"));
        }
    }
}

/// Names come from /etc/hosts (here A's own, through /etc/netns) unless
/// `-n`, for both families; an address it does not name has none.
#[test]
fn names_from_etc_hosts_unless_dash_n() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let _hosts = NetnsHosts::new(&pair.a.ns, "198.51.100.2 peer-b\n2001:db8::2 peer-b6\n");
    lab::ip(
        &pair.a.ns,
        &[
            "neigh",
            "add",
            "198.51.100.9",
            "lladdr",
            "02:00:5e:00:01:09",
            "dev",
            &pair.a.iface,
            "nud",
            "permanent",
        ],
    );
    for addr in ["198.51.100.2", "2001:db8::2"] {
        datagram(&pair.a, addr);
    }
    let resolved = util::wait_until(Duration::from_secs(3), || {
        ["198.51.100.2", "2001:db8::2"]
            .iter()
            .all(|a| lab::neigh_mac(&pair.a.ns, a).is_some())
    });
    assert!(resolved, "A resolved B in both families");

    let json = arp(&pair.a, &["--json", "-I", &pair.a.iface]);
    assert_eq!(json.code(), Some(0), "{json}");
    let names: BTreeMap<String, Value> = json
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| {
            (
                e["address"].as_str().unwrap_or_default().to_string(),
                e["name"].clone(),
            )
        })
        .collect();
    assert_eq!(names["198.51.100.2"], "peer-b", "{json}");
    assert_eq!(names["2001:db8::2"], "peer-b6", "{json}");
    assert_eq!(names["198.51.100.9"], Value::Null, "not in hosts: {json}");

    let text = arp(&pair.a, &["-I", &pair.a.iface]);
    let table = text.table();
    for (addr, name) in [
        ("198.51.100.2", "peer-b"),
        ("2001:db8::2", "peer-b6"),
        ("198.51.100.9", "-"),
    ] {
        let row = table.rows_where("Address", addr);
        assert_eq!(row.len(), 1, "{addr}\n{text}");
        assert_eq!(table.cell(row[0], "Name"), name, "{text}");
    }

    let numeric = arp(&pair.a, &["-n", "--json", "-I", &pair.a.iface]);
    assert_eq!(numeric.code(), Some(0), "{numeric}");
    for e in numeric.json().as_array().expect("an array") {
        assert_eq!(e["name"], Value::Null, "-n: {e}");
    }
    let numeric_text = arp(&pair.a, &["-n", "-I", &pair.a.iface]);
    assert!(
        !numeric_text.table().header.iter().any(|h| h == "Name"),
        "{numeric_text}"
    );
    assert!(!numeric_text.stdout.contains("peer-b"), "{numeric_text}");
}
