//! sock_diag replies: any datagram (messages and attributes with lying
//! lengths, `tcp_info` of any length) is framed and parsed or refused,
//! never a panic, never a read past its end; what -i/-m would print and
//! put in JSON is rendered from whatever the parse kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::output::sockstat::write_internals;
use nettool::sockstat::netlink::parse_datagram;
use nettool::sockstat::report::{Listing, Report};
use nettool::sockstat::Extensions;

fuzz_target!(|data: &[u8]| {
    let mut rows = Vec::new();
    let _ = parse_datagram(data, &mut rows);
    // A socket message is at least a netlink header and a diag message.
    assert!(rows.len() <= data.len() / 16);
    let both = Extensions {
        info: true,
        memory: true,
    };
    let mut line = String::new();
    for s in &rows {
        write_internals(&mut line, s, both);
        // Every line is indented and ends the line; nothing else breaks it.
        assert!(line.lines().all(|l| l.starts_with("    ")));
        assert!(!line.chars().any(|c| c.is_control() && c != '\n'));
        line.clear();
    }
    let report = Report::Sockets(Listing {
        sockets: rows,
        owners: None,
        uninspected: 0,
        namespaces: Vec::new(),
        extensions: both,
    });
    let mut json = Vec::new();
    nettool::output::sockstat::write_json(&mut json, &report).unwrap();
});
