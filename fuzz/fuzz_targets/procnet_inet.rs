//! /proc/net/{tcp,udp,raw}[6]: any bytes give rows or one-line warnings,
//! never a panic; every row came from a line of the input.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::StateSet;
use nettool::sockstat::model::Proto;
use nettool::sockstat::procnet::read_inet_from;

fuzz_target!(|input: (u8, &[u8])| {
    let (sel, data) = input;
    let proto = match sel % 3 {
        0 => Proto::Tcp,
        1 => Proto::Udp,
        _ => Proto::Raw,
    };
    let v6 = sel & 4 != 0;
    let mut rows = Vec::new();
    let mut warnings = 0usize;
    let _ = read_inet_from(
        Cursor::new(data),
        Path::new("net/tcp"),
        proto,
        v6,
        StateSet::ALL,
        &mut rows,
        &mut |_| warnings += 1,
    );
    let lines = data.split(|&b| b == b'\n').count();
    assert!(rows.len() < lines.max(1));
    assert!(rows.iter().all(|s| s.proto == proto && s.v6 == v6));
});
