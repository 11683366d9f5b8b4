//! rtnetlink replies (route lookups, neighbour dumps): any datagram is
//! framed and parsed or refused, never a panic, never a read past its end;
//! what probe makes of a parsed route and entry (the neighbour rule, its
//! label) never panics either. Sequence number 7, as in the seeds.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use nettool::neigh::{neighbours_in, parse_neighbour, route_in};
use nettool::probe::{Outcome, neighbour};

const SEQ: u32 = 7;

fuzz_target!(|data: &[u8]| {
    let mut seen = Vec::new();
    let _ = neighbours_in(data, SEQ, &mut |n| seen.push(n));
    // An entry is at least a netlink header, an ndmsg and an NDA_DST.
    assert!(seen.len() <= data.len() / 36);
    for n in &seen {
        assert!(!n.state.name().is_empty());
    }
    let _ = parse_neighbour(data);
    if let Ok(Some(route)) = route_in(data, SEQ) {
        let _ = route.kind.name();
        let target = route.dst.unwrap_or(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 3)));
        let filtered = Outcome::Filtered {
            waited_us: 3e6,
            syn_retransmits: 2,
        };
        let o = neighbour::decide(target, filtered, &route, seen.first(), "veth0", &|_| false);
        assert!(!o.label().is_empty());
    }
});
