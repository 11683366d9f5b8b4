//! sock_diag destroy notifications (what `sockstat --watch` hears from the
//! multicast groups): any datagram is parsed or skipped, never a panic;
//! each socket it yields becomes a `gone` event whose text and JSON lines
//! are rendered, one line each, without control characters; every other
//! one names a namespace (`--all-netns`) whose command is the input's own
//! bytes, as a hostile process could name itself.
#![no_main]

use std::sync::Arc;
use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use nettool::output::watch::{line, write_json_event};
use nettool::sockstat::netlink::parse_destroyed;
use nettool::sockstat::netns::Netns;
use nettool::sockstat::watch::{diff, Event, Pending, Snapshot};

fuzz_target!(|data: &[u8]| {
    let mut gone = Vec::new();
    // Every other notification as one a dump saw outlived (a remnant).
    parse_destroyed(data, &mut |d| {
        let outlived = gone.len() % 2 == 1;
        gone.push(Pending {
            at_ms: 1,
            gone: d,
            outlived,
            netns: 0,
        });
    });
    // A socket message is at least a netlink header and a diag message.
    assert!(gone.len() <= data.len() / 16);
    let n = gone.len();
    let round = diff(&Snapshot::new(), &mut Snapshot::new(), Snapshot::new(), gone, 2, true);
    assert!(round.changes.len() <= n);
    let ns = Arc::new(Netns {
        inode: 4_026_532_001,
        name: None,
        host: false,
        pid: Some(7),
        command: Some(String::from_utf8_lossy(&data[..data.len().min(32)]).into_owned()),
        container: None,
    });
    for (i, change) in round.changes.into_iter().enumerate() {
        let ev = Event {
            time: SystemTime::UNIX_EPOCH,
            change,
            netns: (i % 2 == 1).then(|| Arc::clone(&ns)),
        };
        let text = line(&ev);
        assert!(!text.chars().any(char::is_control));
        let mut json = Vec::new();
        write_json_event(&mut json, &ev, true).unwrap();
        assert_eq!(json.iter().filter(|&&b| b == b'\n').count(), 1);
    }
});
