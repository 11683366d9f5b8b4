//! /proc/net/route: any bytes give routes, never a panic; a route lookup on
//! what was parsed never panics either. (The name is historical: the ARP
//! cache is read over rtnetlink now, fuzzed by the `rtnetlink` target.)
#![no_main]

use std::io::Cursor;
use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use nettool::arp::route;

fuzz_target!(|input: (u32, &[u8])| {
    let (ip, data) = input;
    let routes = route::parse_routes(Cursor::new(data));
    for r in &routes {
        assert!(r.prefix_len() <= 32);
    }
    let _ = route::lookup(&routes, Ipv4Addr::from(ip), None);
});
