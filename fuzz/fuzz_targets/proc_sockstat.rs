//! /proc/net/sockstat: any text gives (section, key, value) triples, each
//! taken from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::procnet::parse_sockstat;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for (section, key, _) in parse_sockstat(&text) {
        assert!(text.contains(section.as_str()) && text.contains(key.as_str()));
    }
});
