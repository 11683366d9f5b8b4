//! `nettool arp` with IPv6 targets (NDP) against real kernels in the lab
//! (tests/lab): solicitations answered by Linux's own neighbour code,
//! duplicate address detection, unsolicited advertisements that a peer's
//! kernel takes, a spoofer that answers for another host's address, and
//! the refusals. `ndisc6` is the independent witness.
//!
//! Every nettool run happens inside a namespace the test made, on
//! `2001:db8::/32` (shared/LAB.md). Counts stay at 2-3, intervals at 0.2 s.

mod lab;
mod util;

use std::net::Ipv6Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nettool::wire::MacAddr;
use nettool::wire::icmpv6::{NaFlags, NdRepr, NdpFrame, NeighborAdvert};
use serde_json::Value;

use lab::{arp, macs_in, v4};
use util::{Output, assert_exit};

/// Asserts exit 2, nothing on stdout and exactly one line on stderr, and
/// returns that line.
#[track_caller]
fn refused<'a>(out: &'a Output, guards: &str) -> &'a str {
    assert_exit(out, 2, guards);
    assert!(out.stdout.is_empty(), "{guards}: nothing on stdout\n{out}");
    let lines = out.stderr_nonblank_lines();
    assert_eq!(lines.len(), 1, "{guards}: one line on stderr\n{out}");
    lines[0]
}

/// The MACs of the "reply from ADDR [MAC]" lines for `addr`.
fn reply_macs(out: &Output, addr: &str) -> Vec<String> {
    let head = format!("reply from {addr} [");
    out.stdout
        .lines()
        .filter(|l| l.starts_with(&head))
        .filter_map(|l| macs_in(l).first().cloned())
        .collect()
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count in {v}"))
}

/// Reads NDP frames (NS and NA only, as nettool's own filter passes them)
/// on `iface` of `ns` for `secs`, starting before this returns.
fn capture_ndp(ns: &str, iface: &str, secs: f64) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    capture(ns, iface, nettool::sys::Frames::Ndp, secs)
}

/// [`capture_ndp`] for any frames nettool's filters pass.
fn capture(
    ns: &str,
    iface: &str,
    frames: nettool::sys::Frames,
    secs: f64,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    let iface = iface.to_string();
    let (ready, is_ready) = std::sync::mpsc::channel();
    let reader = lab::thread_in(ns, move || {
        let fd = nettool::sys::packet_socket(frames).expect("packet socket");
        let ni = pnet_datalink::interfaces()
            .into_iter()
            .find(|i| i.name == iface)
            .expect("the interface");
        let config = pnet_datalink::Config {
            read_timeout: Some(Duration::from_millis(50)),
            socket_fd: Some(fd),
            ..pnet_datalink::Config::default()
        };
        let Ok(pnet_datalink::Channel::Ethernet(_tx, mut rx)) = pnet_datalink::channel(&ni, config)
        else {
            panic!("no raw channel")
        };
        let _ = ready.send(());
        let mut frames = Vec::new();
        let end = Instant::now() + Duration::from_secs_f64(secs);
        while Instant::now() < end {
            if let Ok(f) = rx.next() {
                frames.push(f.to_vec());
            }
        }
        frames
    });
    is_ready
        .recv_timeout(Duration::from_secs(10))
        .expect("the capture started");
    reader
}

fn ip6(s: &str) -> Ipv6Addr {
    s.parse().expect("IPv6 address")
}

fn mac_of(s: &str) -> MacAddr {
    s.parse().expect("MAC")
}

// ---------------------------------------------------------------------------
// Probing a neighbour

#[test]
fn ndp_probe_reports_the_mac_that_ip_link_and_ndisc6_report() {
    let Some(lab) = lab::require_with(&["ndisc6"]) else {
        return;
    };
    let pair = lab.pair_v6();
    let b_mac = pair.b.mac();
    let out = arp(&pair.a, &["-c", "3", "-i", "0.2", "2001:db8::2"]);
    assert_exit(&out, 0, "B answers");
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("NDPING 2001:db8::2 from 2001:db8::1 [")
            && first.ends_with(&format!("on {}", pair.a.iface)),
        "header names target, source and interface\n{out}"
    );
    assert_eq!(
        reply_macs(&out, "2001:db8::2"),
        vec![b_mac.clone(); 3],
        "{out}"
    );
    assert!(
        out.stdout.contains("--- 2001:db8::2 NDP statistics ---")
            && out.stdout.contains("3 sent, 3 received, 0% loss"),
        "{out}"
    );
    // ndisc6 in the same namespace sees the same MAC for the same target.
    let witness = pair.a.run(
        "ndisc6",
        &["-1", "-n", "-r", "3", "2001:db8::2", &pair.a.iface],
    );
    assert_eq!(witness.code(), Some(0), "ndisc6 found B\n{witness}");
    assert_eq!(
        macs_in(&witness.stdout),
        std::slice::from_ref(&b_mac),
        "{witness}"
    );

    let json = arp(&pair.a, &["--json", "-c", "2", "-i", "0.2", "2001:db8::2"]);
    assert_exit(&json, 0, "JSON: B answers");
    let doc = json.json();
    assert_eq!(doc["schema"], "nettool.arp/1", "{doc}");
    assert_eq!(doc["mode"], "probe", "{doc}");
    assert_eq!(doc["target"], "2001:db8::2", "{doc}");
    assert_eq!(doc["source"]["ip"], "2001:db8::1", "{doc}");
    assert_eq!(doc["source"]["mac"], pair.a.mac().as_str(), "{doc}");
    assert_eq!((num(&doc, "sent"), num(&doc, "received")), (2, 2), "{doc}");
    assert_eq!(doc["replies"][0]["ip"], "2001:db8::2", "{doc}");
    assert_eq!(doc["replies"][0]["mac"], b_mac.as_str(), "{doc}");
    assert_eq!(num(&doc, "distinct_macs"), 1, "{doc}");

    // -d with one honest answerer succeeds.
    let strict = arp(
        &pair.a,
        &["-d", "-q", "-c", "2", "-i", "0.2", "2001:db8::2"],
    );
    assert_exit(&strict, 0, "-d without a duplicate");
}

#[test]
fn ndp_probe_of_a_missing_host_exits_1_with_the_statistics() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let t0 = Instant::now();
    let out = arp(&pair.a, &["-c", "2", "-i", "0.2", "2001:db8::7"]);
    assert_exit(&out, 1, "nobody has 2001:db8::7");
    assert!(
        out.stdout.contains("--- 2001:db8::7 NDP statistics ---")
            && out.stdout.contains("2 sent, 0 received, 100% loss"),
        "{out}"
    );
    assert!(reply_macs(&out, "2001:db8::7").is_empty(), "{out}");
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}

#[test]
fn a_link_local_target_with_its_zone_and_without_on_a_single_link() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    lab::ip(
        &pair.b.ns,
        &["addr", "add", "fe80::b/64", "dev", &pair.b.iface, "nodad"],
    );
    let b_mac = pair.b.mac();
    let zoned = format!("fe80::b%{}", pair.a.iface);
    let out = arp(&pair.a, &["-c", "2", "-i", "0.2", &zoned]);
    assert_exit(&out, 0, "fe80::b%IFACE answers");
    assert_eq!(reply_macs(&out, "fe80::b"), vec![b_mac.clone(); 2], "{out}");
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("NDPING fe80::b from ") && first.ends_with(&pair.a.iface),
        "{out}"
    );
    // One interface that does NDP: no zone needed.
    let out = arp(&pair.a, &["-c", "1", "fe80::b"]);
    assert_exit(&out, 0, "fe80::b on the only link");
    assert_eq!(reply_macs(&out, "fe80::b"), [b_mac], "{out}");
}

// ---------------------------------------------------------------------------
// Duplicate address detection

#[test]
fn dad_for_a_used_address_names_its_holder_and_a_free_one_exits_0() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let used = arp(&pair.a, &["-D", "-c", "2", "-i", "0.2", "2001:db8::2"]);
    assert_exit(&used, 1, "2001:db8::2 is B's");
    assert!(
        used.stdout
            .contains(&format!("2001:db8::2 is in use by {}", pair.b.mac())),
        "{used}"
    );
    // Asked from ::, as RFC 4862 says.
    assert!(
        used.stdout.starts_with("NDPING 2001:db8::2 from :: ["),
        "{used}"
    );
    let free = arp(&pair.a, &["-D", "-c", "2", "-i", "0.2", "2001:db8::9"]);
    assert_exit(&free, 0, "2001:db8::9 is nobody's");
    assert!(
        free.stdout
            .contains("2001:db8::9 is free: no reply to 2 probes"),
        "{free}"
    );
    let doc = arp(
        &pair.a,
        &["--json", "-D", "-c", "1", "-i", "0.2", "2001:db8::2"],
    )
    .json();
    assert_eq!(
        (doc["mode"].as_str(), doc["in_use"].as_bool()),
        (Some("dad"), Some(true))
    );
    assert_eq!(doc["source"]["ip"], "::", "{doc}");
}

#[test]
fn dad_hears_another_node_probing_for_the_same_address() {
    // B starts its own detection for 2001:db8::5 while ours listens: its
    // probe (from ::, another nonce) says the address is being taken.
    // Ours is sent once, before B has the address, so B's detection is
    // not cut short by it.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    lab::sysctl(
        &pair.b.ns,
        &format!("net.ipv6.conf.{}.dad_transmits", pair.b.iface),
        "3",
    );
    let mut run = pair
        .a
        .nettool_cmd(&["arp", "-D", "-c", "1", "-i", "3", "2001:db8::5"])
        .spawn();
    std::thread::sleep(Duration::from_millis(300));
    lab::ip(
        &pair.b.ns,
        &["addr", "add", "2001:db8::5/64", "dev", &pair.b.iface],
    );
    let end = Instant::now() + Duration::from_secs(10);
    while run.running() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run.stop();
    assert!(!out.timed_out, "ended by itself\n{out}");
    assert_exit(&out, 1, "B is detecting 2001:db8::5 too");
    assert!(
        out.stdout
            .contains(&format!("2001:db8::5 is in use by {}", pair.b.mac())),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// Unsolicited advertisements

#[test]
fn an_unsolicited_advertisement_corrects_the_peers_neighbour_entry() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let wrong = "02:00:00:00:00:99";
    lab::ip(
        &pair.b.ns,
        &[
            "-6",
            "neigh",
            "replace",
            "2001:db8::1",
            "lladdr",
            wrong,
            "dev",
            &pair.b.iface,
            "nud",
            "stale",
        ],
    );
    assert_eq!(
        lab::neigh_mac(&pair.b.ns, "2001:db8::1").as_deref(),
        Some(wrong)
    );
    let a_mac = pair.a.mac();
    let out = arp(&pair.a, &["-U", "-c", "1", "-s", "2001:db8::1"]);
    assert_exit(&out, 0, "-U for our address");
    assert_eq!(
        out.stdout.trim(),
        format!(
            "sent 1 unsolicited neighbour advertisement(s) announcing 2001:db8::1 is at {a_mac} on {}",
            pair.a.iface
        ),
        "{out}"
    );
    let fixed = lab::neigh_mac(&pair.b.ns, "2001:db8::1");
    assert_eq!(fixed.as_deref(), Some(a_mac.as_str()), "B took the advert");
    let is_router = || {
        lab::ip_json(&pair.b.ns, &["-6", "neigh", "show", "2001:db8::1"])[0]
            .as_object()
            .is_some_and(|e| e.contains_key("router"))
    };
    assert!(!is_router(), "a host's advert has the router flag clear");
    // A router says so (as the kernel does): a router flag clear would
    // make B drop it from its default routers (RFC 4861 7.2.5).
    lab::sysctl(
        &pair.a.ns,
        &format!("net.ipv6.conf.{}.forwarding", pair.a.iface),
        "1",
    );
    let out = arp(&pair.a, &["-U", "-c", "1", "-s", "2001:db8::1"]);
    assert_exit(&out, 0, "-U from a router");
    assert!(
        out.stdout
            .contains("(router flag set: this host forwards IPv6 there)"),
        "{out}"
    );
    assert!(is_router(), "B's entry for A says router");
    // Not ours: refused before anything is sent.
    let line = refused(
        &arp(&pair.a, &["-U", "-c", "1", "-s", "2001:db8::2"]),
        "-U for B's address",
    )
    .to_string();
    assert!(
        line.contains("2001:db8::2 is not an address of any interface here"),
        "{line}"
    );
}

// ---------------------------------------------------------------------------
// A spoofer answering for B's address, and unicast follow-ups

/// Answers every solicitation for `target` on `iface` with a forged
/// advertisement "target is at `claim`" (S and O set, sent from `spoof`;
/// its frame passed through `disguise`, [`plain`] for none), until
/// `stop`; returns how many it answered.
fn spoofer(
    iface: &str,
    target: Ipv6Addr,
    spoof: MacAddr,
    claim: MacAddr,
    disguise: lab::Disguise,
    stop: &AtomicBool,
    ready: &std::sync::mpsc::Sender<()>,
) -> u64 {
    let ni = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .expect("spoofer: the interface");
    let config = pnet_datalink::Config {
        read_timeout: Some(Duration::from_millis(20)),
        ..pnet_datalink::Config::default()
    };
    let Ok(pnet_datalink::Channel::Ethernet(mut tx, mut rx)) = pnet_datalink::channel(&ni, config)
    else {
        panic!("spoofer: raw channel")
    };
    let _ = ready.send(());
    let mut answered = 0;
    while !stop.load(Ordering::Relaxed) {
        let Ok(f) = rx.next() else { continue };
        let Ok(ns) = NdpFrame::parse(f) else { continue };
        let NdRepr::Solicit(s) = ns.message else {
            continue;
        };
        if s.target != target || ns.ip_src.is_unspecified() || ns.eth_src == spoof {
            continue;
        }
        let na = NdpFrame {
            eth_dst: ns.eth_src,
            eth_src: spoof,
            ip_src: target,
            ip_dst: ns.ip_src,
            hop_limit: 255,
            message: NdRepr::Advert(NeighborAdvert {
                flags: NaFlags {
                    router: false,
                    solicited: true,
                    override_: true,
                },
                target,
                target_mac: Some(claim),
            }),
        };
        if let Some(Ok(())) = tx.send_to(&disguise(&na.to_bytes()), None) {
            answered += 1;
        }
    }
    answered
}

/// [`spoofer`] in `ns`, on `iface`, for `2001:db8::2`, started and
/// listening when this returns; set the flag to stop it, join for its
/// count.
fn start_spoofer(
    ns: &str,
    iface: &str,
    spoof: MacAddr,
    claim: MacAddr,
    disguise: lab::Disguise,
) -> (Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (ready, is_ready) = std::sync::mpsc::channel();
    let forger = {
        let (iface, stop) = (iface.to_string(), stop.clone());
        lab::thread_in(ns, move || {
            spoofer(
                &iface,
                ip6("2001:db8::2"),
                spoof,
                claim,
                disguise,
                &stop,
                &ready,
            )
        })
    };
    is_ready
        .recv_timeout(Duration::from_secs(10))
        .expect("the spoofer started");
    (stop, forger)
}

/// A frame as it is.
fn plain(frame: &[u8]) -> Vec<u8> {
    frame.to_vec()
}

/// Client A (`2001:db8::1`), B (`2001:db8::2`) and a spoofer C on one
/// bridge that floods multicast to every port.
fn spoof_lab(lab: lab::Lab) -> lab::Star {
    let star = lab.star_with(&[v4(2), v4(3)]);
    lab::ip(
        &star.hub,
        &[
            "link",
            "set",
            &star.bridge,
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ],
    );
    let (a, b) = (&star.client, &star.hosts[0]);
    for (h, addr) in [(a, "2001:db8::1/64"), (b, "2001:db8::2/64")] {
        lab::ip(&h.ns, &["addr", "add", addr, "dev", &h.iface, "nodad"]);
    }
    star
}

#[test]
fn a_spoofer_answering_for_bs_address_is_flagged_and_fails_dash_d() {
    let Some(lab) = lab::require() else { return };
    let star = spoof_lab(lab);
    let (a, b, c) = (&star.client, &star.hosts[0], &star.hosts[1]);
    let (b_mac, c_mac) = (b.mac(), c.mac());
    let spoof = mac_of(&c_mac);
    let (stop, forger) = start_spoofer(&c.ns, &c.iface, spoof, spoof, plain);
    let out = arp(a, &["-c", "3", "-i", "0.2", "2001:db8::2"]);
    let strict = arp(a, &["-d", "-c", "2", "-i", "0.2", "2001:db8::2"]);
    let json = arp(a, &["--json", "-c", "2", "-i", "0.2", "2001:db8::2"]);
    stop.store(true, Ordering::Relaxed);
    let answered = forger.join().expect("spoofer");
    assert!(
        answered >= 7,
        "the spoofer answered every solicitation: {answered}"
    );

    assert_exit(&out, 0, "B answers, and so does the spoofer");
    let mut seen = reply_macs(&out, "2001:db8::2");
    seen.sort();
    seen.dedup();
    let mut want = vec![b_mac.clone(), c_mac.clone()];
    want.sort();
    assert_eq!(seen, want, "both MACs answered\n{out}");
    assert!(
        out.stdout.lines().any(|l| l.contains("DUPLICATE")
            && l.contains("NDP spoofing")
            && macs_in(l).contains(&b_mac)
            && macs_in(l).contains(&c_mac)),
        "a line names both MACs as a duplicate\n{out}"
    );
    assert!(
        out.stdout
            .contains("WARNING: duplicate: 2 distinct MACs answered for 2001:db8::2"),
        "{out}"
    );

    assert_exit(&strict, 1, "-d: a duplicate fails the run");
    assert!(strict.stdout.contains("DUPLICATE"), "{strict}");

    assert_exit(&json, 0, "JSON: answered");
    let doc = json.json();
    assert_eq!(num(&doc, "distinct_macs"), 2, "{doc}");
    assert!(
        doc["replies"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["duplicate"] == true)),
        "{doc}"
    );
}

#[test]
fn a_spoofer_hiding_its_claim_is_flagged_too() {
    // Guards two blind spots, ways the kernel takes an advertisement that
    // nettool's filter used to miss: options it does not know before the
    // link-layer option (padding the claim past the 256 bytes the filter
    // passed: the cut frame was dropped as malformed), and an extension
    // header the kernel steps over before the ICMPv6 message (the filter
    // wanted ICMPv6 right after the IPv6 header).
    let Some(lab) = lab::require() else { return };
    let star = spoof_lab(lab);
    let (a, b, c) = (&star.client, &star.hosts[0], &star.hosts[1]);
    let (b_mac, c_mac) = (b.mac(), c.mac());
    let disguises: [(&str, lab::Disguise); 4] = [
        ("256 bytes of unknown option", |f| lab::pad_ndp(f, 256)),
        ("1400 bytes of unknown option", |f| lab::pad_ndp(f, 1400)),
        ("a hop-by-hop header", lab::hop_by_hop),
        ("a routing header with no segments left", lab::routed),
    ];
    for (how, disguise) in disguises {
        let spoof = mac_of(&c_mac);
        let (stop, forger) = start_spoofer(&c.ns, &c.iface, spoof, spoof, disguise);
        let strict = arp(a, &["-d", "-c", "2", "-i", "0.2", "2001:db8::2"]);
        stop.store(true, Ordering::Relaxed);
        let answered = forger.join().expect("spoofer");
        assert!(answered >= 2, "{how}: the spoofer answered {answered}");
        assert_exit(&strict, 1, "-d: the hidden claim is a duplicate");
        assert!(
            strict.stdout.lines().any(|l| l.contains("DUPLICATE")
                && macs_in(l).contains(&b_mac)
                && macs_in(l).contains(&c_mac)),
            "{how}: both MACs named\n{strict}"
        );
    }
}

#[test]
fn a_forged_advertisement_is_rejected_shown_and_fails_dash_d() {
    // A forger on B's link answers for B with an advertisement whose
    // link-layer option is not its Ethernet source: never an answer,
    // shown with why, and what -d fails on; B's own answers still count.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let b_mac = pair.b.mac();
    let claim = mac_of("02:00:00:00:00:66");
    let from = mac_of(&b_mac);
    let (stop, forger) = start_spoofer(&pair.b.ns, &pair.b.iface, from, claim, plain);
    let out = arp(&pair.a, &["-c", "2", "-i", "0.2", "2001:db8::2"]);
    let strict = arp(
        &pair.a,
        &["-d", "-q", "-c", "2", "-i", "0.2", "2001:db8::2"],
    );
    let json = arp(&pair.a, &["--json", "-c", "2", "-i", "0.2", "2001:db8::2"]);
    stop.store(true, Ordering::Relaxed);
    assert!(forger.join().expect("forger") >= 6, "the forger answered");

    assert_exit(&out, 0, "B's own answers count");
    assert_eq!(
        reply_macs(&out, "2001:db8::2"),
        vec![b_mac.clone(); 2],
        "{out}"
    );
    let why = format!("sent from {b_mac} but advertises 02:00:00:00:00:66");
    assert!(
        out.stdout.lines().any(
            |l| l.starts_with("rejected advertisement for 2001:db8::2 from [")
                && l.contains(&why)
                && l.ends_with("(not taken as an answer)")
        ),
        "{out}"
    );
    // The run ends at the last request's first answer, often B's: the
    // forgery for it may come after.
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains(" advertisements for 2001:db8::2 rejected, not taken as answers")),
        "{out}"
    );
    assert!(!out.stdout.contains("DUPLICATE"), "one MAC answered\n{out}");
    assert_exit(&strict, 1, "-d: a forged advertisement fails the run");
    let doc = json.json();
    assert_eq!(num(&doc, "distinct_macs"), 1, "{doc}");
    assert!(num(&doc["rejected"], "count") >= 1, "{doc}");
    assert_eq!(doc["rejected"]["first"][0]["mac"], b_mac.as_str(), "{doc}");
    assert_eq!(doc["rejected"]["first"][0]["reason"], why.as_str(), "{doc}");
}

#[test]
fn unicast_follow_ups_go_to_the_mac_that_answered() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    let (a_mac, b_mac) = (mac_of(&pair.a.mac()), mac_of(&pair.b.mac()));
    let target = ip6("2001:db8::2");
    // (Ethernet destination, IPv6 destination) of each of A's
    // solicitations for B, as B receives them.
    let asked = |frames: &[Vec<u8>]| -> Vec<(MacAddr, Ipv6Addr)> {
        frames
            .iter()
            .filter_map(|f| NdpFrame::parse(f).ok())
            .filter(|f| {
                f.eth_src == a_mac && matches!(f.message, NdRepr::Solicit(s) if s.target == target)
            })
            .map(|f| (f.eth_dst, f.ip_dst))
            .collect()
    };
    let group = (mac_of("33:33:ff:00:00:02"), ip6("ff02::1:ff00:2"));
    for (unicast, want) in [
        (true, vec![group, (b_mac, target), (b_mac, target)]),
        (false, vec![group; 3]),
    ] {
        let capture = capture_ndp(&pair.b.ns, &pair.b.iface, 1.5);
        let mut args = vec!["-c", "3", "-i", "0.3", "2001:db8::2"];
        if unicast {
            args.insert(0, "--unicast");
        }
        let out = arp(&pair.a, &args);
        let frames = capture.join().expect("capture");
        assert_exit(&out, 0, "B answers");
        // Linux leaves the link-layer option out of an answer to a
        // unicast solicitation: the answers still count.
        assert!(out.stdout.contains("3 sent, 3 received"), "{out}");
        assert_eq!(asked(&frames), want, "unicast {unicast}\n{out}");
    }
}

#[test]
fn dash_d_is_not_failed_by_answers_to_the_hosts_own_reachability_checks() {
    // Guards a false alarm: while A's kernel confirms B by unicast
    // solicitations from the address nettool asks from, B's kernel
    // answers them without a link-layer option (RFC 4861 7.2.4). Those
    // answers claim no MAC; taken as forged, they failed -d on a
    // healthy link.
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair_v6();
    lab::ip(
        &pair.b.ns,
        &["addr", "add", "fe80::b/64", "dev", &pair.b.iface, "nodad"],
    );
    // A confirms a stale neighbour at once (no 5 s in DELAY).
    lab::sysctl(
        &pair.a.ns,
        &format!("net.ipv6.neigh.{}.delay_first_probe_time", pair.a.iface),
        "0",
    );
    // nettool asks from A's link-local address, as the kernel's checks do,
    // once it is past duplicate address detection.
    let settled = util::wait_until(Duration::from_secs(10), || {
        let out = pair.a.run(
            "ip",
            &["-6", "addr", "show", "dev", &pair.a.iface, "scope", "link"],
        );
        out.stdout.contains("fe80:") && !out.stdout.contains("tentative")
    });
    assert!(settled, "lab: A's link-local address stays tentative");
    let b_mac = pair.b.mac();
    let ifindex = lab::ip_json(&pair.a.ns, &["link", "show", "dev", &pair.a.iface])[0]["ifindex"]
        .as_u64()
        .and_then(|i| u32::try_from(i).ok())
        .expect("ifindex");
    let capture = capture_ndp(&pair.a.ns, &pair.a.iface, 4.0);
    let zoned = format!("fe80::b%{}", pair.a.iface);
    let mut bg = pair
        .a
        .nettool_cmd(&["arp", "-d", "-c", "4", "-i", "0.5", &zoned])
        .spawn();
    // A check of B every 0.3 s for as long as nettool runs, so that its
    // answers come while nettool listens however late it starts.
    let end = Instant::now() + Duration::from_secs(10);
    while bg.running() && Instant::now() < end {
        lab::ip(
            &pair.a.ns,
            &[
                "neigh",
                "replace",
                "fe80::b",
                "dev",
                &pair.a.iface,
                "lladdr",
                &b_mac,
                "nud",
                "stale",
            ],
        );
        // Traffic to a stale neighbour: the kernel asks B, unicast.
        lab::thread_in(&pair.a.ns, move || {
            let s = std::net::UdpSocket::bind("[::]:0").expect("udp socket");
            let to = std::net::SocketAddrV6::new(ip6("fe80::b"), 9, 0, ifindex);
            s.send_to(b"x", to).expect("send to B");
        })
        .join()
        .expect("sender");
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = bg.stop();
    let frames = capture.join().expect("capture");
    // The lab did what it is for: B answered A's own checks without the
    // option.
    let bare = frames
        .iter()
        .filter_map(|f| NdpFrame::parse(f).ok())
        .filter(|f| {
            matches!(f.message, NdRepr::Advert(NeighborAdvert { target_mac: None, target, .. })
                if target == ip6("fe80::b"))
        })
        .filter(|f| !f.ip_dst.is_multicast())
        .count();
    assert!(
        bare >= 1,
        "no bare advertisement from B: the lab did not probe\n{out}"
    );
    assert_exit(&out, 0, "-d on a healthy link-local target");
    assert!(out.stdout.contains("4 sent, 4 received"), "{out}");
    assert_eq!(reply_macs(&out, "fe80::b"), vec![b_mac; 4], "{out}");
    assert!(
        !out.stdout.contains("rejected"),
        "bare answers are other traffic\n{out}"
    );
}

// ---------------------------------------------------------------------------
// -d and --unicast for IPv4 too

#[test]
fn ipv4_unicast_follow_ups_and_dash_d_on_a_duplicated_address() {
    let Some(lab) = lab::require() else { return };
    let pair = lab.pair();
    let (a_mac, b_mac) = (mac_of(&pair.a.mac()), mac_of(&pair.b.mac()));
    let capture = capture(&pair.b.ns, &pair.b.iface, nettool::sys::Frames::Arp, 1.5);
    let out = arp(
        &pair.a,
        &["--unicast", "-c", "3", "-i", "0.3", "198.51.100.2"],
    );
    let frames = capture.join().expect("capture");
    assert_exit(&out, 0, "B answers");
    assert!(out.stdout.contains("3 sent, 3 received"), "{out}");
    // A's requests for B, by Ethernet destination and target MAC: the
    // first broadcast, the rest to B (iputils arping's follow-ups).
    let asked: Vec<(MacAddr, MacAddr)> = frames
        .iter()
        .filter(|f| {
            f.len() >= 42
                && f[6..12] == a_mac.0
                && f[20..22] == [0, 1]
                && f[38..42] == [198, 51, 100, 2]
        })
        .filter_map(|f| {
            Some((
                MacAddr::from_slice(&f[..6])?,
                MacAddr::from_slice(&f[32..38])?,
            ))
        })
        .collect();
    assert_eq!(
        asked,
        [
            (MacAddr::BROADCAST, MacAddr::ZERO),
            (b_mac, b_mac),
            (b_mac, b_mac)
        ],
        "{out}"
    );
    drop(pair);

    let star = lab.star_with(&[v4(2), v4(2)]);
    let loose = arp(&star.client, &["-c", "2", "-i", "0.2", "198.51.100.2"]);
    assert_exit(&loose, 0, "two MACs answer: found");
    let strict = arp(
        &star.client,
        &["-d", "-c", "2", "-i", "0.2", "198.51.100.2"],
    );
    assert_exit(&strict, 1, "-d: a duplicate fails the run");
    assert!(strict.stdout.contains("WARNING: duplicate"), "{strict}");
}

// ---------------------------------------------------------------------------
// Refusals: exit 2, one line, nothing sent

#[test]
fn bad_ipv6_targets_and_interfaces_are_refused_with_one_line() {
    let Some(lab) = lab::require_with(&["setpriv"]) else {
        return;
    };
    let pair = lab.pair_v6();
    for (args, want) in [
        (&["-c", "1", "ff02::1"][..], "ff02::1 is a multicast group"),
        (&["-c", "1", "::"], ":: is the unspecified address"),
    ] {
        let line = refused(&arp(&pair.a, args), want).to_string();
        assert!(line.contains(want), "{line}");
    }
    // A second interface that does NDP: a link-local target needs a zone.
    let (x, y) = (lab::unique_name(), lab::unique_name());
    lab::ip(
        &pair.a.ns,
        &["link", "add", &x, "type", "veth", "peer", "name", &y],
    );
    for (dev, ll) in [(&x, "fe80::c/64"), (&y, "fe80::d/64")] {
        lab::ip(&pair.a.ns, &["addr", "add", ll, "dev", dev, "nodad"]);
        lab::ip(&pair.a.ns, &["link", "set", dev, "up"]);
    }
    let line = refused(&arp(&pair.a, &["-c", "1", "fe80::b"]), "no zone").to_string();
    assert!(
        line.contains("fe80::b is a link-local address and more than one interface could reach it")
            && line.contains("fe80::b%IFACE"),
        "{line}"
    );
    // An interface without IPv6.
    lab::sysctl(&pair.a.ns, &format!("net.ipv6.conf.{x}.disable_ipv6"), "1");
    let line = refused(
        &arp(&pair.a, &["-c", "1", "-I", &x, "2001:db8::2"]),
        "no IPv6 on the interface",
    )
    .to_string();
    assert!(
        line.contains(&format!("interface {x} has no IPv6 address")),
        "{line}"
    );
    // Without CAP_NET_RAW: the existing words.
    let out = pair
        .a
        .nettool_cmd(&["arp", "-c", "1", "-i", "0.2", "2001:db8::2"])
        .wrapped(&[
            "setpriv",
            "--bounding-set=-net_raw",
            "--inh-caps=-net_raw",
            "--",
        ])
        .run();
    let line = refused(&out, "no CAP_NET_RAW").to_string();
    assert!(
        line.contains("CAP_NET_RAW") && line.contains("setcap cap_net_raw+ep"),
        "{line}"
    );
    // No interface with IPv6 at all: a link-local target has nowhere to
    // go, which is not the "several interfaces" of a missing zone.
    for dev in [&y, &pair.a.iface] {
        lab::sysctl(
            &pair.a.ns,
            &format!("net.ipv6.conf.{dev}.disable_ipv6"),
            "1",
        );
    }
    let line = refused(&arp(&pair.a, &["-c", "1", "fe80::b"]), "no IPv6 anywhere").to_string();
    assert!(
        line.contains("fe80::b is a link-local address, and no interface here has IPv6 on it"),
        "{line}"
    );
}
