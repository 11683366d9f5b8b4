//! `nettool arp --watch` on hostile input: any bytes as a station database
//! are parsed or refused without panicking, and what parses saves and
//! parses back the same; any bytes as a run of captured frames (each a
//! length byte and that many bytes, ARP or NDP or neither) go through the
//! frame-to-observation mapping and the event machine with small caps:
//! no panic, the caps hold, and the summary's counts equal the events made.
#![no_main]

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use nettool::addr::Cidr;
use nettool::arp::watch::run::observation;
use nettool::arp::watch::{EventKind, Limits, Watch, WatchIface, db};

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(rest.len());
    let (text, frames) = rest.split_at(at);
    if let Ok(stations) = db::parse(text) {
        let mut out = Vec::new();
        db::write_to(&mut out, &stations).expect("to memory");
        assert_eq!(db::parse(&out[..]), Ok(stations), "a saved database reads back");
    }
    let net = |s: &str, len| Cidr::new(s.parse::<IpAddr>().unwrap(), len).unwrap();
    let limits = Limits {
        stations: 8,
        history: 2,
        reports: 4,
        many_ips: 3,
    };
    let mut w = Watch::new(
        vec![WatchIface {
            ifindex: 1,
            name: "lab0".into(),
            nets: vec![net("198.51.100.0", 24), net("2001:db8::", 64)],
        }],
        limits,
    );
    let mut events = Vec::new();
    let mut rest = frames;
    let mut t = SystemTime::UNIX_EPOCH;
    while let Some((&len, tail)) = rest.split_first() {
        let (frame, after) = tail.split_at(usize::from(len).min(tail.len()));
        rest = after;
        t += Duration::from_millis(1);
        // Interface 2 is not watched: counted, nothing else.
        let iface = 1 + u32::from(len & 1 == 1 && frame.len() % 7 == 0);
        if let Some(o) = observation(t, iface, frame) {
            w.observe(&o, &mut events);
        }
    }
    let s = w.summary();
    let counted: u64 = EventKind::ALL.iter().map(|&k| s.events.get(k)).sum();
    assert_eq!(counted, events.len() as u64, "every event is counted once");
    assert!(s.stations <= limits.stations as u64, "the station cap holds");
    assert_eq!(
        s.events.get(EventKind::NewStation),
        s.stations + s.evicted_stations,
        "new stations are held or evicted"
    );
});
