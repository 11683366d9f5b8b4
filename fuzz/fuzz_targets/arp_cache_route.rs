//! /proc/net/arp and /proc/net/route: any bytes give entries or warnings,
//! never a panic; a route lookup on what was parsed never panics either.
#![no_main]

use std::io::Cursor;
use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use nettool::arp::{cache, route};

fuzz_target!(|input: (u32, &[u8])| {
    let (ip, data) = input;
    let entries = cache::parse(Cursor::new(data), &mut |_| {});
    for e in &entries {
        let _ = e.flag_names();
    }
    let routes = route::parse_routes(Cursor::new(data));
    for r in &routes {
        assert!(r.prefix_len() <= 32);
    }
    let _ = route::lookup(&routes, Ipv4Addr::from(ip), None);
});
