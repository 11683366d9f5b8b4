//! /proc/net/unix: any bytes give rows or warnings, never a panic.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::StateSet;
use nettool::sockstat::procnet::read_unix_from;

fuzz_target!(|data: &[u8]| {
    let mut rows = Vec::new();
    let _ = read_unix_from(
        Cursor::new(data),
        Path::new("net/unix"),
        StateSet::ALL,
        &mut rows,
        &mut |_| {},
    );
    let lines = data.split(|&b| b == b'\n').count();
    assert!(rows.len() < lines.max(1));
});
