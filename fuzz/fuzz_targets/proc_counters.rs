//! /proc/net/snmp and netstat (first byte even) or snmp6 (odd): any bytes
//! give counters whose every section and key is taken from the input,
//! never a panic; a reading compared with itself changed by nothing.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::counters::{Counters, Interval, parse_flat, parse_pairs};

fuzz_target!(|data: &[u8]| {
    let Some((&which, text)) = data.split_first() else {
        return;
    };
    let mut c = Counters::default();
    let path = Path::new("counters");
    let parsed = if which % 2 == 0 {
        parse_pairs(text, path, &mut c, &mut |_| {})
    } else {
        parse_flat(text, path, &mut c, &mut |_| {})
    };
    parsed.expect("reading a byte slice cannot fail");
    let lossy = String::from_utf8_lossy(text);
    for (section, key, _) in c.iter() {
        let whole = format!("{section}{key}");
        // snmp6 names are section + key; one of no known section is kept
        // whole under Snmp6.
        assert!(
            (lossy.contains(section) && lossy.contains(key))
                || lossy.contains(&whole)
                || (section == "Snmp6" && lossy.contains(key)),
            "{section} {key}"
        );
    }
    let same = Interval::between(&c, &c, 1.0);
    assert!(same.deltas.iter().all(|(_, _, d)| d == 0));
    assert!(same.resets.is_empty());
});
