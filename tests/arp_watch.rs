//! `nettool arp --watch` in the lab (tests/lab): real kernels announce, change
//! MACs and spoof on a bridge, nettool watches from the client namespace,
//! and `arpwatch` (the tool users know) watches the same link beside it as
//! the oracle. Every frame stays inside the test's namespaces
//! (shared/LAB.md).

mod lab;
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use lab::Host;
use util::{Bg, Output, peak_rss_kib};

/// A station event as both tools can say it: (kind, IP, MAC, old MAC).
type Seen = (String, String, String, String);

/// Waits for a background run that stops by itself (`--duration`); kills
/// it after `limit`.
fn finish(mut bg: Bg, limit: Duration) -> Output {
    let start = Instant::now();
    while bg.running() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
    bg.stop()
}

/// `nettool arp --watch ARGS...` in `host`, in the background.
fn watch(host: &Host, args: &[&str]) -> Bg {
    let mut all = vec!["arp", "--watch", "-I", &host.iface];
    all.extend_from_slice(args);
    host.nettool_cmd(&all).spawn()
}

/// A gratuitous ARP for `ip` from `host` (Habets arping, an independent
/// sender: `-S` the sender IP, `-i` the interface; it then waits a second
/// for a reply that never comes, hence its exit status is not looked at).
fn announce(host: &Host, ip: Ipv4Addr) {
    let ip = ip.to_string();
    let _ = host.run(
        "arping",
        &["-U", "-c", "1", "-S", &ip, "-i", &host.iface, &ip],
    );
}

fn set_mac(host: &Host, mac: &str) {
    lab::ip(&host.ns, &["link", "set", &host.iface, "address", mac]);
}

/// The JSON lines of a watch: events, then the summary.
fn json_lines(out: &Output) -> (Vec<Value>, Value) {
    let mut lines: Vec<Value> = out
        .stdout
        .as_str()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}\n{out}")))
        .collect();
    let summary = lines.pop().unwrap_or_else(|| panic!("no summary\n{out}"));
    assert_eq!(summary["event"], "summary", "{out}");
    for l in &lines {
        assert_eq!(l["schema"], "nettool.arp.event/1", "{l}");
    }
    (lines, summary)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The IPv4 station events of a JSON watch (hosts' IPv6 link-local
/// chatter is not the scenario's).
fn station_events(events: &[Value]) -> Vec<Seen> {
    station_events_where(events, |ip| ip.contains('.'))
}

/// The station events of a JSON watch for the addresses `keep` takes.
fn station_events_where(events: &[Value], keep: impl Fn(&str) -> bool) -> Vec<Seen> {
    events
        .iter()
        .filter(|e| keep(&text(&e["ip"])))
        .filter(|e| ["new_station", "changed", "flip_flop"].contains(&e["event"].as_str().unwrap()))
        .map(|e| {
            (
                text(&e["event"]),
                text(&e["ip"]),
                text(&e["mac"]),
                text(&e["old_mac"]),
            )
        })
        .collect()
}

/// The same from the text lines: `TIME IFACE new station IP MAC ...`,
/// `changed MAC IP MAC VENDOR (was OLD, ...)`, `flip-flop IP MAC (back from OLD, ...)`.
fn station_lines(out: &Output) -> Vec<Seen> {
    let mut v = Vec::new();
    for l in out.stdout.as_str().lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let old = |after: &str| {
            w.iter()
                .position(|x| *x == after)
                .map(|i| w[i + 1].trim_end_matches(',').to_string())
                .unwrap_or_default()
        };
        let (kind, ip, mac, old) = match w.get(2..4) {
            Some(["new", "station"]) => ("new_station", w[4], w[5], String::new()),
            Some(["changed", "MAC"]) => ("changed", w[4], w[5], old("(was")),
            Some(["flip-flop", _]) => ("flip_flop", w[3], w[4], old("from")),
            _ => continue,
        };
        if ip.contains('.') {
            v.push((kind.into(), ip.into(), mac.into(), old));
        }
    }
    v
}

/// arpwatch's reports (`-d`: printed, not mailed): subject, then `ip
/// address:`, `ethernet address:`, `old ethernet address:`.
fn arpwatch_reports(out: &Output) -> Vec<Seen> {
    let err = format!("{}\n{}", out.stdout, out.stderr);
    let mut v = Vec::new();
    for block in err.split("From: arpwatch").skip(1) {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let subject = field("Subject:");
        let kind = if subject.starts_with("new station") {
            "new_station"
        } else if subject.starts_with("changed ethernet address") {
            "changed"
        } else if subject.starts_with("flip flop") {
            "flip_flop"
        } else {
            continue;
        };
        v.push((
            kind.into(),
            field("ip address:"),
            field("ethernet address:"),
            field("old ethernet address:"),
        ));
    }
    v
}

fn sorted(v: &[Seen]) -> BTreeSet<Seen> {
    v.iter().cloned().collect()
}

#[test]
fn new_changed_flip_flop_and_spoofed_stations_match_arpwatch() {
    // Guards: a station reported twice, a change missed or reported
    // without the MAC it replaced, a flip-flop taken for a change, and the
    // text and JSON renderers telling different stories; arpwatch, on the
    // same link, must find the same stations and changes.
    let Some(lab) = lab::require_with(&["arping", "arpwatch"]) else {
        return;
    };
    let star = lab.star(3);
    let (h0, h1, h2) = (&star.hosts[0], &star.hosts[1], &star.hosts[2]);
    let (mac0, mac1, mac2) = (h0.mac(), h1.mac(), h2.mac());
    let moved = "02:00:00:00:01:99";
    let dir = tempfile::tempdir().unwrap();
    let dat = dir.path().join("arp.dat");
    std::fs::write(&dat, "").unwrap();
    let client = &star.client;
    let arpwatch = lab::spawn_in(
        &client.ns,
        "arpwatch",
        &[
            "-d",
            "-N",
            "-p",
            "-i",
            &client.iface,
            "-f",
            dat.to_str().unwrap(),
        ],
    );
    let json = watch(client, &["--duration", "14", "--json"]);
    let lines = watch(client, &["--duration", "14"]);
    // Both watchers open their rings within this (the vendor registry
    // is read first).
    std::thread::sleep(Duration::from_secs(3));
    let pause = || std::thread::sleep(Duration::from_millis(400));
    announce(h0, h0.ip);
    pause();
    announce(h1, h1.ip);
    pause();
    set_mac(h1, moved);
    announce(h1, h1.ip);
    pause();
    set_mac(h1, &mac1);
    announce(h1, h1.ip);
    pause();
    // h2 claims h0's address.
    lab::ip(
        &h2.ns,
        &["addr", "add", "198.51.100.10/32", "dev", &h2.iface],
    );
    announce(h2, h0.ip);
    pause();
    let json = finish(json, Duration::from_secs(30));
    let lines = finish(lines, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    let arpwatch = arpwatch.stop();
    assert_eq!(json.code(), Some(0), "{json}");
    assert_eq!(lines.code(), Some(0), "{lines}");

    let s = |k: &str, ip: Ipv4Addr, mac: &str, old: &str| -> Seen {
        (k.into(), ip.to_string(), mac.into(), old.into())
    };
    let want = vec![
        s("new_station", h0.ip, &mac0, ""),
        s("new_station", h1.ip, &mac1, ""),
        s("changed", h1.ip, moved, &mac1),
        s("flip_flop", h1.ip, &mac1, moved),
        s("changed", h0.ip, &mac2, &mac0),
    ];
    let (events, summary) = json_lines(&json);
    let got = station_events(&events);
    assert_eq!(got, want, "JSON events, in order, each once\n{json}");
    assert_eq!(station_lines(&lines), want, "text lines\n{lines}");
    // Every event line is counted once in the summary, and none twice.
    let mut per_kind: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events {
        *per_kind.entry(text(&e["event"])).or_default() += 1;
    }
    for (k, n) in summary["events"].as_object().unwrap() {
        assert_eq!(
            per_kind.get(k).copied().unwrap_or(0),
            n.as_u64().unwrap(),
            "{k}: lines vs summary\n{json}"
        );
    }
    let distinct: BTreeSet<String> = events.iter().map(ToString::to_string).collect();
    assert_eq!(distinct.len(), events.len(), "an event twice\n{json}");
    // The spoof is also an announcement by h2's MAC.
    assert!(
        events.iter().any(|e| e["event"] == "announcement"
            && e["ip"] == h0.ip.to_string()
            && e["mac"] == mac2.as_str()),
        "{json}"
    );
    assert_eq!(summary["kernel_drops"], 0, "{json}");
    assert!(summary["frames"].as_u64().unwrap() >= 5, "{json}");

    let oracle = arpwatch_reports(&arpwatch);
    assert_eq!(
        sorted(&oracle),
        sorted(&want),
        "arpwatch saw other stations or changes\n{arpwatch}"
    );
}

/// Whether `h` has `addr` and it is past duplicate address detection.
fn settled(h: &Host, addr: &str) -> bool {
    let out = h.run("ip", &["-6", "addr", "show", "dev", &h.iface]);
    out.stdout.lines().any(|l| {
        l.split_whitespace()
            .nth(1)
            .and_then(|a| a.split('/').next())
            == Some(addr)
            && !l.contains("tentative")
    })
}

/// A star of two hosts whose kernels advertise their IPv6 addresses to
/// all nodes (`ndisc_notify`) once DAD is done and whenever the MAC changes;
/// the client (the watcher) holds `2001:db8::1/64`, the bridge no IPv6.
fn star_advertising(lab: lab::Lab) -> lab::Star {
    let star = lab.star(2);
    lab::sysctl(
        &star.hub,
        &format!("net.ipv6.conf.{}.disable_ipv6", star.bridge),
        "1",
    );
    // The watcher's network: an address outside it would be a bogon.
    lab::ip(
        &star.client.ns,
        &[
            "addr",
            "add",
            "2001:db8::1/64",
            "dev",
            &star.client.iface,
            "nodad",
        ],
    );
    let (h0, h1) = (&star.hosts[0], &star.hosts[1]);
    // Link-local addresses settled first, so that they are advertised
    // only when the MACs change.
    let end = Instant::now() + Duration::from_secs(10);
    while [h0, h1].iter().any(|h| {
        let out = h.run("ip", &["-6", "addr", "show", "dev", &h.iface]);
        !out.stdout.contains("fe80:") || out.stdout.contains("tentative")
    }) {
        assert!(
            Instant::now() < end,
            "lab: link-local addresses stay tentative"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for h in [h0, h1] {
        lab::sysctl(
            &h.ns,
            &format!("net.ipv6.conf.{}.ndisc_notify", h.iface),
            "1",
        );
        // DAD's one probe and its wait take 0.1 s instead of 1 s.
        lab::sysctl(
            &h.ns,
            &format!("net.ipv6.neigh.{}.retrans_time_ms", h.iface),
            "100",
        );
    }
    star
}

#[test]
fn ipv6_stations_from_the_kernels_own_advertisements() {
    // Guards the NDP half of the watch on a real link: the filter and the
    // ring passing the kernel's neighbour advertisements, an advertisement
    // mapped to its target and link-layer address, a DAD probe from :: taken
    // for a station, and a MAC change under an IPv6 address missed, taken
    // for a new station, or reported twice. Every sender is a host's own
    // kernel: with ndisc_notify on, Linux advertises an address to all
    // nodes once its DAD is done and every address again when the link's
    // MAC changes. `ip link` is the oracle for the MACs.
    let Some(lab) = lab::require() else {
        return;
    };
    let star = star_advertising(lab);
    let (h0, h1) = (&star.hosts[0], &star.hosts[1]);
    let (mac0, mac1) = (h0.mac(), h1.mac());
    let (moved, spoof) = ("02:00:00:00:01:99", "02:00:00:00:02:99");
    let target = "2001:db8::10";
    let json = watch(&star.client, &["--duration", "9", "--json"]);
    std::thread::sleep(Duration::from_secs(3));
    let pause = || std::thread::sleep(Duration::from_millis(400));
    // h0 takes the address with DAD: a probe from ::, then, the address
    // settled, its unsolicited advertisement.
    lab::ip(
        &h0.ns,
        &["addr", "add", &format!("{target}/64"), "dev", &h0.iface],
    );
    let end = Instant::now() + Duration::from_secs(5);
    while !settled(h0, target) {
        assert!(Instant::now() < end, "lab: {target} stays tentative on h0");
        std::thread::sleep(Duration::from_millis(50));
    }
    pause();
    set_mac(h0, moved);
    pause();
    set_mac(h0, &mac0);
    pause();
    // h1 claims h0's address: taken without DAD (which h0 would answer),
    // so nothing is sent until h1's MAC changes and it advertises all its
    // addresses.
    lab::ip(
        &h1.ns,
        &[
            "addr",
            "add",
            &format!("{target}/128"),
            "dev",
            &h1.iface,
            "nodad",
        ],
    );
    pause();
    set_mac(h1, spoof);
    pause();
    let json = finish(json, Duration::from_secs(25));
    assert_eq!(json.code(), Some(0), "{json}");
    assert_eq!(h0.mac(), mac0, "lab: h0's MAC restored");
    assert_ne!(mac1, spoof);

    let (events, summary) = json_lines(&json);
    let s = |k: &str, mac: &str, old: &str| -> Seen {
        (k.into(), target.into(), mac.into(), old.into())
    };
    let want = vec![
        s("new_station", &mac0, ""),
        s("changed", moved, &mac0),
        s("flip_flop", &mac0, moved),
        s("changed", spoof, &mac0),
    ];
    let got = station_events_where(&events, |ip| ip == target);
    assert_eq!(got, want, "station events for {target}, in order\n{json}");
    // The advertisements are announcements too (no solicited flag), each
    // reported once per station and announcing MAC: h0's return to its
    // own MAC is not a second one.
    let announced: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "announcement" && e["ip"] == target)
        .map(|e| text(&e["mac"]))
        .collect();
    assert_eq!(announced, [mac0.as_str(), moved, spoof], "{json}");
    assert!(
        events
            .iter()
            .filter(|e| e["ip"] == target)
            .all(|e| e["frame"] == "na"),
        "{json}"
    );
    // h0's link-local address was advertised from the moved MAC first:
    // new there, then changed back, never a flip-flop.
    let lla: Vec<(String, String, String)> =
        station_events_where(&events, |ip| ip.starts_with("fe80:"))
            .into_iter()
            .filter(|(_, _, mac, old)| mac == moved || old == moved)
            .map(|(k, _, mac, old)| (k, mac, old))
            .collect();
    let l = |k: &str, mac: &str, old: &str| (k.to_string(), mac.to_string(), old.to_string());
    assert_eq!(
        lla,
        [l("new_station", moved, ""), l("changed", &mac0, moved)],
        "{json}"
    );
    let distinct: BTreeSet<String> = events.iter().map(ToString::to_string).collect();
    assert_eq!(distinct.len(), events.len(), "an event twice\n{json}");
    assert!(
        summary["dad_probes"].as_u64().unwrap() >= 1,
        "h0's DAD probe counted as one, not a station\n{json}"
    );
    assert!(
        events.iter().all(|e| e["ip"] != "::"),
        "the unspecified address is never a station\n{json}"
    );
    assert_eq!(summary["kernel_drops"], 0, "{json}");
}

/// Sends `frame` once on `iface` (a raw channel of this thread's
/// namespace).
fn send_frame(iface: &str, frame: &[u8]) {
    let ni = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .unwrap_or_else(|| panic!("send_frame: no interface {iface} here"));
    let Ok(pnet_datalink::Channel::Ethernet(mut tx, _rx)) =
        pnet_datalink::channel(&ni, pnet_datalink::Config::default())
    else {
        panic!("send_frame: raw channel on {iface}");
    };
    assert!(
        matches!(tx.send_to(frame, None), Some(Ok(()))),
        "send_frame: not sent"
    );
}

#[test]
fn advertisements_padded_or_behind_an_options_header_are_still_seen() {
    // Guards two blind spots, advertisements the kernel takes that the
    // capture filter used to miss: options it does not know before the
    // link-layer option (a frame cut short was ignored) and a hop-by-hop
    // options header before the ICMPv6 message.
    let Some(lab) = lab::require() else {
        return;
    };
    let star = star_advertising(lab);
    let h0 = &star.hosts[0];
    let mac0 = h0.mac();
    let json = watch(&star.client, &["--duration", "5", "--json"]);
    std::thread::sleep(Duration::from_secs(3));
    let mac: nettool::wire::MacAddr = mac0.parse().expect("MAC");
    let disguises: [(&str, lab::Disguise); 3] = [
        ("2001:db8::20", |f| lab::pad_ndp(f, 256)),
        ("2001:db8::21", |f| lab::pad_ndp(f, 1400)),
        ("2001:db8::22", lab::hop_by_hop),
    ];
    for (ip, disguise) in disguises {
        let na =
            nettool::wire::icmpv6::NdpFrame::unsolicited_advert(mac, ip.parse().unwrap(), false);
        let frame = disguise(&na.to_bytes());
        let iface = h0.iface.clone();
        lab::thread_in(&h0.ns, move || send_frame(&iface, &frame))
            .join()
            .expect("sender");
    }
    let json = finish(json, Duration::from_secs(20));
    assert_eq!(json.code(), Some(0), "{json}");
    let (events, summary) = json_lines(&json);
    let got = station_events_where(&events, |ip| ip.starts_with("2001:db8::2"));
    let s = |ip: &str| -> Seen { ("new_station".into(), ip.into(), mac0.clone(), String::new()) };
    assert_eq!(
        got,
        [s("2001:db8::20"), s("2001:db8::21"), s("2001:db8::22")],
        "{json}"
    );
    assert_eq!(summary["kernel_drops"], 0, "{json}");
}

#[test]
fn the_database_carries_stations_across_runs() {
    // Guards: a database not read (every known station new again), not
    // written, or a change between two runs not reported against the MAC
    // the first run knew.
    let Some(lab) = lab::require_with(&["arping"]) else {
        return;
    };
    let star = lab.star(2);
    let (h0, h1) = (&star.hosts[0], &star.hosts[1]);
    let (mac0, mac1) = (h0.mac(), h1.mac());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stations.db");
    let db_arg = db.to_str().unwrap();
    let client = &star.client;
    let run = |then_mac: Option<&str>| {
        let bg = watch(client, &["--duration", "5", "--json", "--db", db_arg]);
        std::thread::sleep(Duration::from_millis(2500));
        if let Some(m) = then_mac {
            set_mac(h1, m);
        }
        announce(h0, h0.ip);
        announce(h1, h1.ip);
        finish(bg, Duration::from_secs(30))
    };
    let first = run(None);
    assert_eq!(first.code(), Some(0), "{first}");
    let (events, summary) = json_lines(&first);
    let got = station_events(&events);
    assert!(
        got.contains(&(
            "new_station".into(),
            h0.ip.to_string(),
            mac0.clone(),
            String::new()
        )) && got.contains(&(
            "new_station".into(),
            h1.ip.to_string(),
            mac1.clone(),
            String::new()
        )),
        "{first}"
    );
    assert_eq!(summary["loaded_stations"], 0, "{first}");
    let saved = summary["saved_stations"].as_u64().unwrap();
    assert!(saved >= 2, "{first}");
    let text = std::fs::read_to_string(&db).unwrap();
    assert!(
        text.starts_with("{\"schema\":\"nettool.arp.db/1\"}\n"),
        "{text}"
    );

    let moved = "02:00:00:00:01:77";
    let second = run(Some(moved));
    assert_eq!(second.code(), Some(0), "{second}");
    let (events, summary) = json_lines(&second);
    assert_eq!(summary["loaded_stations"].as_u64(), Some(saved), "{second}");
    assert_eq!(
        station_events(&events),
        vec![(
            "changed".to_string(),
            h1.ip.to_string(),
            moved.to_string(),
            mac1.clone()
        )],
        "h0 is known from the first run; h1 changed between runs\n{second}"
    );
}

#[test]
fn a_corrupt_database_is_moved_aside_with_a_warning_and_bad_ones_refused() {
    // Guards: a corrupt database silently reset (its stations lost without
    // a word), a foreign file overwritten, and an unwritable --db found
    // only at exit, after the whole watch.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let a = &pair.a;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stations.db");
    std::fs::write(
        &db,
        "{\"schema\":\"nettool.arp.db/1\"}\n{\"interface\":\"x\",\"ip\":\"not an ip\"}\n",
    )
    .unwrap();
    let db_arg = db.to_str().unwrap();
    let iface = a.iface.as_str();
    let out = a.nettool(&[
        "arp",
        "--watch",
        "-I",
        iface,
        "--duration",
        "0.5",
        "--db",
        db_arg,
    ]);
    assert_eq!(out.code(), Some(0), "{out}");
    let warning = out.stderr_nonblank_lines().join("\n");
    let moved: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("stations.db.corrupt-"))
        .collect();
    assert_eq!(moved.len(), 1, "moved aside once: {moved:?}\n{out}");
    assert!(
        warning.contains("corrupt at line 2") && warning.contains(&moved[0]),
        "the warning names the line and where the file went\n{out}"
    );
    let saved = std::fs::read_to_string(&db).unwrap();
    assert_eq!(
        saved, "{\"schema\":\"nettool.arp.db/1\"}\n",
        "a fresh, empty database"
    );

    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "my notes\n").unwrap();
    let out = a.nettool(&[
        "arp",
        "--watch",
        "-I",
        iface,
        "-w",
        "0.5",
        "--db",
        foreign.to_str().unwrap(),
    ]);
    out.expect_error_line(2, &["not a nettool station database"]);
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "my notes\n");

    let nowhere = dir.path().join("missing-dir").join("s.db");
    let out = a.nettool(&[
        "arp",
        "--watch",
        "-I",
        iface,
        "-w",
        "0.5",
        "--db",
        nowhere.to_str().unwrap(),
    ]);
    out.expect_error_line(2, &["cannot save the station database"]);
    assert!(!Path::new(&nowhere).exists());

    let out = a.nettool(&["arp", "--watch", "-I", "nt-no-such0", "-w", "0.5"]);
    out.expect_error_line(2, &["no interface named nt-no-such0"]);

    // Root with every capability but CAP_NET_RAW: the ring cannot open.
    if util::which("setpriv").is_some() {
        let out = a
            .nettool_cmd(&["arp", "--watch", "-I", iface, "-w", "0.5"])
            .wrapped(&[
                "setpriv",
                "--bounding-set=-net_raw",
                "--inh-caps=-net_raw",
                "--",
            ])
            .run();
        out.expect_error_line(2, &["CAP_NET_RAW"]);
    }
}

/// xorshift64: random-looking MACs and addresses that replay the same.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Sends ARP replies from random MACs for random addresses of
/// 198.51.100.0/24 (every one a station change, some flip-flops) at
/// `rate` per second for `secs` seconds, or until `stop`; returns how many
/// went.
fn flood(iface: &str, rate: u64, secs: u64, stop: &AtomicBool) -> u64 {
    let ni = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .unwrap_or_else(|| panic!("flood: no interface {iface} here"));
    let Ok(pnet_datalink::Channel::Ethernet(mut tx, _rx)) =
        pnet_datalink::channel(&ni, pnet_datalink::Config::default())
    else {
        panic!("flood: raw channel on {iface}");
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let limit = rate * secs;
    let start = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) && sent < limit && start.elapsed().as_secs() < secs + 30 {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a frame count from elapsed time: small, never negative"
        )]
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(limit);
        if sent >= due {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        }
        while sent < due {
            let r = rng.next().to_be_bytes();
            let mac = [(r[0] & 0xfc) | 0x02, r[1], r[2], r[3], r[4], r[5]];
            let host = 2 + r[6] % 250;
            let mut f = [0u8; 60];
            f[0..6].copy_from_slice(&[0xff; 6]);
            f[6..12].copy_from_slice(&mac);
            f[12..14].copy_from_slice(&[0x08, 0x06]);
            f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
            f[22..28].copy_from_slice(&mac);
            f[28..32].copy_from_slice(&[198, 51, 100, host]);
            f[38..42].copy_from_slice(&[198, 51, 100, 1]);
            if let Some(Ok(())) = tx.send_to(&f, None) {
                sent += 1;
            } else {
                std::thread::sleep(Duration::from_micros(200));
                break;
            }
        }
    }
    sent
}

#[test]
fn a_flood_of_100k_frames_per_second_is_read_whole_in_bounded_memory() {
    // Guards: a receive path that drops under a flood (a plain packet
    // socket lost a quarter of it), and stations, histories or reports
    // that grow with the flood instead of staying capped.
    const LIMIT_KIB: u64 = 96 * 1024;
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let a = &pair.a;
    // -q: the summary only. What is measured is the capture and the
    // machine; rendering a line per event is the front end's and, in a
    // debug build, slower than the flood (serde_json's escaping under
    // debug assertions).
    let mut bg = watch(a, &["--duration", "9", "--json", "-q"]);
    let pid = bg.pid();
    std::thread::sleep(Duration::from_millis(2500));
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (iface, stop) = (pair.b.iface.clone(), stop.clone());
        lab::thread_in(&pair.b.ns, move || flood(&iface, 100_000, 5, &stop))
    };
    let start = Instant::now();
    let mut peak = 0;
    while bg.running() && start.elapsed() < Duration::from_secs(40) {
        peak = peak.max(peak_rss_kib(pid).unwrap_or(0));
        if peak > 4 * LIMIT_KIB {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().expect("flood");
    let out = bg.stop();
    let (events, summary) = json_lines(&out);
    eprintln!(
        "flood: {sent} frames sent in 5 s; nettool: {} frames, {} drops, {} events, peak RSS {peak} KiB",
        summary["frames"],
        summary["kernel_drops"],
        events.len()
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr_lines().join("\n"));
    assert!(sent >= 450_000, "the flood itself fell short: {sent}");
    assert_eq!(summary["kernel_drops"], 0, "drops under the flood");
    assert!(
        summary["frames"].as_u64().unwrap() >= sent,
        "every frame read: {} of {sent}",
        summary["frames"]
    );
    assert!(peak > 0 && peak <= LIMIT_KIB, "peak RSS {peak} KiB");
    // Capped: at most the /24's addresses as stations; every flood frame
    // was news (a MAC its address never had), and -q printed none.
    assert!(events.is_empty(), "-q prints no event");
    assert!(summary["stations"].as_u64().unwrap() <= 254);
    let ev = &summary["events"];
    let news = ev["new_station"].as_u64().unwrap()
        + ev["changed"].as_u64().unwrap()
        + ev["flip_flop"].as_u64().unwrap()
        + summary["repeated_flips"].as_u64().unwrap();
    assert!(news >= sent, "{news} station events for {sent} frames");
    assert!(
        summary["evicted_history"].as_u64().unwrap() > 0,
        "histories capped"
    );
}

#[test]
fn two_interfaces_are_watched_and_count_and_sigterm_stop_with_the_summary() {
    // Guards: a second -I ignored (or taken for the first), events from one
    // interface named after the other, -c not stopping at N events, and
    // SIGTERM killing the watch before the summary and the database save.
    let Some(lab) = lab::require_with(&["arping"]) else {
        return;
    };
    let mut net = lab.net();
    let ns = net.add_namespaces(3);
    let (w1, p1) = net.veth(&ns[0], &ns[1]);
    let (w2, p2) = net.veth(&ns[0], &ns[2]);
    lab::ip(&ns[0], &["addr", "add", "198.51.100.1/24", "dev", &w1]);
    lab::ip(&ns[0], &["addr", "add", "203.0.113.1/24", "dev", &w2]);
    lab::ip(&ns[1], &["addr", "add", "198.51.100.2/24", "dev", &p1]);
    lab::ip(&ns[2], &["addr", "add", "203.0.113.2/24", "dev", &p2]);
    let host = |ns: &str, iface: &str, ip: [u8; 4]| Host {
        ns: ns.to_string(),
        iface: iface.to_string(),
        ip: Ipv4Addr::from(ip),
        ip6: None,
    };
    let watcher = host(&ns[0], &w1, [198, 51, 100, 1]);
    let (h1, h2) = (
        host(&ns[1], &p1, [198, 51, 100, 2]),
        host(&ns[2], &p2, [203, 0, 113, 2]),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let args = ["-I", w2.as_str(), "--json", "--db", db.to_str().unwrap()];
    let bg = watch(&watcher, &args);
    std::thread::sleep(Duration::from_millis(2500));
    announce(&h1, h1.ip);
    announce(&h2, h2.ip);
    std::thread::sleep(Duration::from_millis(300));
    let pid = bg.pid().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let out = finish(bg, Duration::from_secs(10));
    assert_eq!(
        out.code(),
        Some(0),
        "SIGTERM ends the watch normally\n{out}"
    );
    let (events, summary) = json_lines(&out);
    let news: BTreeSet<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "new_station" && text(&e["ip"]).contains('.'))
        .map(|e| (text(&e["interface"]), text(&e["ip"])))
        .collect();
    let want: BTreeSet<(String, String)> = [
        (w1.clone(), "198.51.100.2".to_string()),
        (w2.clone(), "203.0.113.2".to_string()),
    ]
    .into();
    assert_eq!(news, want, "each station on its own interface\n{out}");
    assert_eq!(summary["stopped_by"], "signal", "{out}");
    assert_eq!(summary["interfaces"], serde_json::json!([w1, w2]), "{out}");
    assert!(
        summary["saved_stations"].as_u64().unwrap() >= 2,
        "saved at SIGTERM\n{out}"
    );

    // -c 1: one event, then the summary.
    let bg = watch(&watcher, &["--json", "-c", "1", "--duration", "20"]);
    std::thread::sleep(Duration::from_millis(2500));
    announce(&h1, h1.ip);
    let out = finish(bg, Duration::from_secs(25));
    assert_eq!(out.code(), Some(0), "{out}");
    let (events, summary) = json_lines(&out);
    assert_eq!(events.len(), 1, "{out}");
    assert_eq!(summary["stopped_by"], "count", "{out}");
    // The announcement made two events (new station, announcement): the
    // summary counts the one delivered.
    let counted: u64 = summary["events"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 1, "{out}");
}
