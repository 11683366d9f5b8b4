//! sockstat's --src/--dst/--sport/--dport/--state parsers, and address
//! matching checked against a reference: an address is in a net iff its
//! first LEN bits equal the net's, with IPv4 seen as ::ffff:a.b.c.d so the
//! two families meet across the mapping.
#![no_main]

use std::net::{IpAddr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use nettool::sockstat::filter::{parse_addr, parse_port, parse_states};

// Input: 16 address bytes, a flags byte (1: use the first 4 as IPv4), a
// port (u16), then the filter text.
fuzz_target!(|data: &[u8]| {
    let Some((head, text)) = data.split_first_chunk::<19>() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(text) else {
        return;
    };
    let raw: [u8; 16] = head[..16].try_into().unwrap();
    let as_v4 = head[16] & 1 != 0;
    let port = u16::from_be_bytes([head[17], head[18]]);
    let ip = if as_v4 {
        IpAddr::from([raw[0], raw[1], raw[2], raw[3]])
    } else {
        IpAddr::from(raw)
    };
    if let Ok(spec) = parse_addr(s) {
        let want = spec.port.is_none_or(|p| p == port)
            && spec
                .net
                .is_none_or(|net| reference(ip, net.addr(), net.prefix_len()));
        assert_eq!(
            spec.matches(ip, port),
            want,
            "{s:?} {spec:?} vs {ip}:{port}"
        );
    }
    if let Ok(r) = parse_port(s, &|_| None) {
        let _ = r.contains(port);
    }
    let _ = parse_states(&[s.to_string()]);
});

/// The first `len` bits of both, as 128-bit mapped addresses.
fn reference(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let (net, len) = match net {
        IpAddr::V4(n) => {
            assert!(len <= 32, "an IPv4 net with prefix length {len}");
            (n.to_ipv6_mapped(), u32::from(len) + 96)
        }
        IpAddr::V6(n) => {
            assert!(len <= 128, "an IPv6 net with prefix length {len}");
            (n, u32::from(len))
        }
    };
    let mapped = |a: IpAddr| -> Ipv6Addr {
        match a {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        }
    };
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(mapped(ip)) & mask == u128::from(net) & mask
}
