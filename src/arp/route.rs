//! Which interface and next hop the kernel would use for an IPv4 address,
//! from /proc/net/route (parsed from `BufRead`, longest prefix first, then
//! lowest metric), and the interfaces' own addresses.

use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr};

use crate::addr::Cidr;

/// One row of the IPv4 routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub iface: String,
    /// The destination network, from its address and netmask.
    pub dest: Cidr,
    /// `None` for a directly connected network.
    pub gateway: Option<Ipv4Addr>,
    pub metric: u32,
}

impl Route {
    pub fn prefix_len(&self) -> u8 {
        self.dest.prefix_len()
    }
    pub fn matches(&self, ip: Ipv4Addr) -> bool {
        self.dest.contains(IpAddr::V4(ip))
    }
}

const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_REJECT: u32 = 0x0200;

/// The kernel prints each address as the hex of the in-memory (network
/// order) u32 read as a native integer.
fn hex_addr(s: &str) -> Option<Ipv4Addr> {
    if s.len() != 8 {
        return None;
    }
    let n = u32::from_str_radix(s, 16).ok()?;
    Some(Ipv4Addr::from(n.to_ne_bytes()))
}

/// Parse /proc/net/route. Rows that are not up, are reject routes, or do
/// not parse are skipped.
pub fn parse_routes<R: BufRead>(r: R) -> Vec<Route> {
    let mut out = Vec::new();
    for line in r.lines().map_while(Result::ok).skip(1) {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Some(dest), Some(gw), Ok(flags), Ok(metric), Some(mask)) = (
            hex_addr(f[1]),
            hex_addr(f[2]),
            u32::from_str_radix(f[3], 16),
            f[6].parse::<u32>(),
            hex_addr(f[7]),
        ) else {
            continue;
        };
        if flags & RTF_UP == 0 || flags & RTF_REJECT != 0 {
            continue;
        }
        out.push(Route {
            iface: f[0].to_string(),
            dest: Cidr::from_mask(dest, mask),
            gateway: (flags & RTF_GATEWAY != 0 && !gw.is_unspecified()).then_some(gw),
            metric,
        });
    }
    out
}

/// The route the kernel would pick for `ip` (optionally only via `iface`).
pub fn lookup<'a>(routes: &'a [Route], ip: Ipv4Addr, iface: Option<&str>) -> Option<&'a Route> {
    routes
        .iter()
        .filter(|r| r.matches(ip) && iface.is_none_or(|i| r.iface == i))
        .max_by(|a, b| {
            a.prefix_len()
                .cmp(&b.prefix_len())
                .then(b.metric.cmp(&a.metric))
        })
}

/// Read the routing table of this network namespace.
///
/// # Errors
/// /proc/net/route cannot be opened.
pub fn read_routes() -> std::io::Result<Vec<Route>> {
    let f = std::fs::File::open("/proc/net/route")?;
    Ok(parse_routes(std::io::BufReader::new(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t016433C6\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
veth0\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
veth0\t007100CB\t026433C6\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
bad\tline\n\
down0\t00000000\t00000000\t0000\t0\t0\t0\t00000000\t0\t0\t0\n";

    #[test]
    fn longest_prefix_wins_and_gateways_are_seen() {
        let routes = parse_routes(TABLE.as_bytes());
        assert_eq!(
            routes.len(),
            3,
            "the down route and the bad line are skipped"
        );
        let r = lookup(&routes, Ipv4Addr::new(198, 51, 100, 7), None).unwrap();
        assert_eq!((r.iface.as_str(), r.gateway), ("veth0", None));
        let r = lookup(&routes, Ipv4Addr::new(203, 0, 113, 5), None).unwrap();
        assert_eq!(r.gateway, Some(Ipv4Addr::new(198, 51, 100, 2)));
        let r = lookup(&routes, Ipv4Addr::new(192, 0, 2, 1), None).unwrap();
        assert_eq!(
            (r.iface.as_str(), r.gateway),
            ("eth0", Some(Ipv4Addr::new(198, 51, 100, 1)))
        );
        assert!(lookup(&routes, Ipv4Addr::new(192, 0, 2, 1), Some("veth0")).is_none());
        assert!(lookup(&[], Ipv4Addr::new(1, 2, 3, 4), None).is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,300}") {
            let _ = parse_routes(text.as_bytes());
        }
    }
}
