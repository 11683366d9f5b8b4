//! Addresses as users write them: `HOST:PORT`, `[IPV6]:PORT`, IPv6 zones
//! (`fe80::1%eth0`) and CIDR networks, for every subcommand.
//!
//! Pure text handling except [`zone_index`], which asks this network
//! namespace for an interface. Nothing here asks DNS: a name comes back as
//! [`Host::Name`] and the caller resolves it only when the user gave one.
//! Errors say what is wrong without quoting the whole argument; callers
//! prefix the argument or the flag, as their messages need.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What is wrong with an address argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("an IPv6 address in brackets needs its ']'")]
    UnclosedBracket,
    #[error("write [ADDR]:PORT")]
    AfterBracket,
    #[error("port '{0}' is not valid: give 1-65535")]
    BadPort(String),
    #[error("no host given")]
    NoHost,
    #[error("'{0}' is not an IPv6 address")]
    NotIpv6(String),
    #[error("only an IPv6 address takes a %ZONE (an interface), e.g. fe80::1%eth0")]
    ZoneWithoutIpv6,
    #[error("no interface named '{0}' here (see `ip link`)")]
    NoSuchInterface(String),
    #[error("no interface with index {0} here (see `ip link`)")]
    NoSuchIndex(u32),
    #[error("'{0}' is not an IP address")]
    BadAddress(String),
    #[error("'{0}' is not a prefix length")]
    BadPrefix(String),
    #[error("prefix /{len} is too long for {ip}: at most /{max}")]
    PrefixTooLong { ip: IpAddr, len: u8, max: u8 },
}

/// An argument split into its host and port text, neither judged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    pub host: &'a str,
    pub port: Option<&'a str>,
    /// The host was written in brackets, `[..]`.
    pub bracketed: bool,
}

/// Split `[H]`, `[H]:P`, `H:P` (exactly one colon, `H` may be empty) or `H`
/// (no colon, or two or more: a bare IPv6 address, which cannot carry a
/// port without brackets).
pub fn split_host_port(s: &str) -> Result<Split<'_>, AddrError> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(AddrError::UnclosedBracket)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(AddrError::AfterBracket)?),
        };
        return Ok(Split {
            host,
            port,
            bracketed: true,
        });
    }
    let (host, port) = match s.split_once(':') {
        Some((h, p)) if !p.contains(':') => (h, Some(p)),
        _ => (s, None),
    };
    Ok(Split {
        host,
        port,
        bracketed: false,
    })
}

/// A port written in decimal digits only (no sign, no spaces): 1-65535,
/// or 0-65535 when `zero` is allowed (a filter on unconnected sockets).
pub fn parse_port(p: &str, zero: bool) -> Result<u16, AddrError> {
    let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    match p.parse::<u16>() {
        Ok(n) if digits && (zero || n != 0) => Ok(n),
        _ => Err(AddrError::BadPort(p.to_string())),
    }
}

/// A host as written: an address, an IPv6 address with a zone, or a name
/// (which only a resolver can turn into an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host<'a> {
    Ip(IpAddr),
    Zoned { ip: Ipv6Addr, zone: &'a str },
    Name(&'a str),
}

impl<'a> Host<'a> {
    /// A name never holds a ':' or a '%': text with one is an address or
    /// a mistake, never something to ask DNS about.
    pub fn parse(h: &'a str) -> Result<Host<'a>, AddrError> {
        if h.is_empty() {
            return Err(AddrError::NoHost);
        }
        if let Some((address, zone)) = h.split_once('%') {
            let ip = address
                .parse::<Ipv6Addr>()
                .map_err(|_| AddrError::ZoneWithoutIpv6)?;
            return Ok(Host::Zoned { ip, zone });
        }
        if let Ok(ip) = h.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        if h.contains(':') {
            return Err(AddrError::NotIpv6(h.to_string()));
        }
        Ok(Host::Name(h))
    }
}

/// The scope id of a zone: an interface name of this network namespace,
/// or the index of one.
pub fn zone_index(zone: &str) -> Result<u32, AddrError> {
    match zone.parse::<u32>() {
        Ok(n) if crate::sys::interface_name(n).is_some() => Ok(n),
        Ok(n) => Err(AddrError::NoSuchIndex(n)),
        Err(_) => crate::sys::interface_index(zone)
            .ok_or_else(|| AddrError::NoSuchInterface(zone.to_string())),
    }
}

/// An IP network, `ADDR/LEN`. The address is kept as written; [`network`]
/// masks it.
///
/// [`network`]: Cidr::network
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

impl Cidr {
    pub fn new(addr: IpAddr, len: u8) -> Result<Cidr, AddrError> {
        let max = max_len(addr);
        if len > max {
            return Err(AddrError::PrefixTooLong { ip: addr, len, max });
        }
        Ok(Cidr { addr, len })
    }

    /// One address: a network of its full length.
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr {
            addr,
            len: max_len(addr),
        }
    }

    /// A route's destination and netmask, as /proc/net/route gives them.
    /// Linux routes have contiguous masks, so the count of ones is the
    /// prefix length.
    pub fn from_mask(addr: Ipv4Addr, mask: Ipv4Addr) -> Cidr {
        Cidr {
            addr: IpAddr::V4(addr),
            // At most 32: the count of ones of a u32.
            #[allow(clippy::cast_possible_truncation, reason = "at most 32")]
            len: u32::from(mask).count_ones() as u8,
        }
    }

    /// `ADDR` (a network of one address) or `ADDR/LEN`.
    pub fn parse(s: &str) -> Result<Cidr, AddrError> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => {
                let digits = !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit());
                match l.parse::<u8>() {
                    Ok(n) if digits => (a, Some(n)),
                    _ => return Err(AddrError::BadPrefix(l.to_string())),
                }
            }
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| AddrError::BadAddress(a.to_string()))?;
        match len {
            Some(len) => Cidr::new(addr, len),
            None => Ok(Cidr::host(addr)),
        }
    }

    pub fn addr(self) -> IpAddr {
        self.addr
    }

    pub fn prefix_len(self) -> u8 {
        self.len
    }

    /// The address with its host bits cleared.
    pub fn network(self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.len))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.len))),
        }
    }

    /// Whether `ip` is in this network. Both sides are compared in the
    /// IPv6 space, IPv4 as IPv4-mapped (`::ffff:a.b.c.d`): an IPv4 network
    /// matches an address whether it is written as IPv4 or comes from an
    /// IPv6 socket table, and `::ffff:0.0.0.0/96` holds every IPv4 address.
    pub fn contains(self, ip: IpAddr) -> bool {
        let (net, offset) = mapped(self.addr);
        let (ip, _) = mapped(ip);
        let mask = mask128(self.len.saturating_add(offset).min(128));
        ip & mask == net & mask
    }

    /// An IPv4-mapped network of /96 or longer as the IPv4 network it
    /// stands for; any other network unchanged.
    pub fn unmapped(self) -> Cidr {
        match self.addr {
            IpAddr::V6(a) if self.len >= 96 => match a.to_ipv4_mapped() {
                Some(v4) => Cidr {
                    addr: IpAddr::V4(v4),
                    len: self.len - 96,
                },
                None => self,
            },
            _ => self,
        }
    }

    /// How many addresses the network spans (2^128 saturates to `u128::MAX`).
    pub fn size(self) -> u128 {
        let bits = u32::from(max_len(self.addr) - self.len);
        1u128.checked_shl(bits).unwrap_or(u128::MAX)
    }

    /// The usable host addresses of an IPv4 network: all but the network
    /// and broadcast addresses, except on /31 and /32 where every address
    /// is a host. `None` for IPv6 (a /64 cannot be walked).
    pub fn ipv4_hosts(self) -> Option<impl Iterator<Item = Ipv4Addr>> {
        let IpAddr::V4(_) = self.addr else {
            return None;
        };
        let IpAddr::V4(base) = self.network() else {
            return None;
        };
        let base = u32::from(base);
        let size = 1u64 << (32 - u32::from(self.len));
        let (first, last) = if self.len >= 31 {
            (0, size - 1)
        } else {
            (1, size - 2)
        };
        // `i` < 2^32: the truncation keeps every bit.
        #[allow(clippy::cast_possible_truncation, reason = "i < 2^32")]
        Some((first..=last).map(move |i| Ipv4Addr::from(base.wrapping_add(i as u32))))
    }

    /// Every address of the network, the network and broadcast addresses
    /// included (as nmap expands `NET/LEN`), in ascending order, IPv4 and
    /// IPv6 alike. Lazy: callers cap [`size`] before walking a big one.
    ///
    /// [`size`]: Cidr::size
    pub fn addresses(self) -> impl Iterator<Item = IpAddr> {
        let (base, v4) = match self.network() {
            IpAddr::V4(a) => (u128::from(u32::from(a)), true),
            IpAddr::V6(a) => (u128::from(a), false),
        };
        let last = !mask128(128 - (max_len(self.addr) - self.len));
        (0..=last).map(move |i| {
            let a = base | i;
            if v4 {
                // The host part of an IPv4 network is below 2^32.
                #[allow(clippy::cast_possible_truncation, reason = "a < 2^32")]
                IpAddr::V4(Ipv4Addr::from(a as u32))
            } else {
                IpAddr::V6(Ipv6Addr::from(a))
            }
        })
    }
}

impl fmt::Display for Cidr {
    /// The network, not the address as written: `198.51.100.0/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.len)
    }
}

fn max_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn mask32(len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
}

fn mask128(len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
}

/// An address as 128 bits, and where the bits a prefix length of its own
/// family counts start: IPv4 is IPv4-mapped, its bits start at 96.
fn mapped(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u128::from(a.to_ipv6_mapped()), 96),
        IpAddr::V6(a) => (u128::from(a), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn splits_every_form() {
        let split = |s| split_host_port(s).map(|x| (x.host, x.port, x.bracketed));
        assert_eq!(
            split("198.51.100.2:22"),
            Ok(("198.51.100.2", Some("22"), false))
        );
        assert_eq!(split("host"), Ok(("host", None, false)));
        assert_eq!(split(":22"), Ok(("", Some("22"), false)));
        assert_eq!(split("2001:db8::2"), Ok(("2001:db8::2", None, false)));
        assert_eq!(
            split("[2001:db8::2]:69"),
            Ok(("2001:db8::2", Some("69"), true))
        );
        assert_eq!(split("[fe80::1%eth0]"), Ok(("fe80::1%eth0", None, true)));
        assert_eq!(split("[::1"), Err(AddrError::UnclosedBracket));
        assert_eq!(split("[::1]69"), Err(AddrError::AfterBracket));
    }

    #[test]
    fn ports_are_decimal_digits() {
        assert_eq!(parse_port("69", false), Ok(69));
        assert_eq!(parse_port("65535", false), Ok(65535));
        assert_eq!(parse_port("0", true), Ok(0));
        assert_eq!(parse_port("000022", false), Ok(22));
        for bad in ["0", "65536", "+22", "-1", "", " 22", "0x16", "0000065536"] {
            assert!(parse_port(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_are_addresses_zones_or_names() {
        assert_eq!(
            Host::parse("198.51.100.2"),
            Ok(Host::Ip(ip("198.51.100.2")))
        );
        assert_eq!(
            Host::parse("fe80::1%eth0"),
            Ok(Host::Zoned {
                ip: "fe80::1".parse().unwrap(),
                zone: "eth0"
            })
        );
        assert_eq!(Host::parse("localhost"), Ok(Host::Name("localhost")));
        assert_eq!(Host::parse(""), Err(AddrError::NoHost));
        assert_eq!(Host::parse("host%eth0"), Err(AddrError::ZoneWithoutIpv6));
        assert_eq!(
            Host::parse("2001:db8::2::3"),
            Err(AddrError::NotIpv6("2001:db8::2::3".into()))
        );
    }

    #[test]
    fn zones_name_interfaces_of_this_namespace() {
        let lo = crate::sys::interface_index("lo").expect("lo exists");
        assert_eq!(zone_index("lo"), Ok(lo));
        assert_eq!(zone_index(&lo.to_string()), Ok(lo));
        assert_eq!(
            zone_index("nosuchif0"),
            Err(AddrError::NoSuchInterface("nosuchif0".into()))
        );
        assert_eq!(zone_index("999999"), Err(AddrError::NoSuchIndex(999_999)));
    }

    #[test]
    fn networks() {
        let n = Cidr::parse("198.51.100.77/24").unwrap();
        assert_eq!(n.to_string(), "198.51.100.0/24");
        assert_eq!(n.addr(), ip("198.51.100.77"));
        assert!(n.contains(ip("198.51.100.1")));
        assert!(n.contains(ip("::ffff:198.51.100.1")));
        assert!(!n.contains(ip("198.51.101.1")));
        assert_eq!(n.size(), 256);
        let hosts: Vec<_> = n.ipv4_hosts().unwrap().collect();
        assert_eq!(hosts.len(), 254);
        assert_eq!(hosts[0].to_string(), "198.51.100.1");
        assert_eq!(
            Cidr::parse("198.51.100.6/31")
                .unwrap()
                .ipv4_hosts()
                .unwrap()
                .count(),
            2
        );
        assert_eq!(
            Cidr::parse("198.51.100.6")
                .unwrap()
                .ipv4_hosts()
                .unwrap()
                .count(),
            1
        );
        assert!(Cidr::parse("2001:db8::/64").unwrap().ipv4_hosts().is_none());
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("203.0.113.9"))
        );
        assert!(
            Cidr::parse("::ffff:0.0.0.0/96")
                .unwrap()
                .contains(ip("203.0.113.9"))
        );
        assert!(
            !Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("203.0.113.9"))
        );
        assert_eq!(
            Cidr::parse("::ffff:198.51.100.0/120").unwrap().unmapped(),
            Cidr::parse("198.51.100.0/24").unwrap()
        );
        assert_eq!(
            Cidr::parse("198.51.100.0/33"),
            Err(AddrError::PrefixTooLong {
                ip: ip("198.51.100.0"),
                len: 33,
                max: 32
            })
        );
        assert!(Cidr::parse("198.51.100.0/+8").is_err());
        assert!(Cidr::parse("198.51.100.0/").is_err());
        let route = Cidr::from_mask(
            "198.51.100.0".parse().unwrap(),
            "255.255.255.0".parse().unwrap(),
        );
        assert_eq!(route, Cidr::parse("198.51.100.0/24").unwrap());
        assert_eq!(Cidr::parse("::/0").unwrap().size(), u128::MAX);
    }

    /// The first `len` bits of both, one bit at a time, in the mapped
    /// space: the definition `contains` must agree with.
    fn reference_contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> Vec<bool> {
            let octets = match a {
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                IpAddr::V6(v6) => v6.octets(),
            };
            (0..128)
                .map(|i| octets[i / 8] >> (7 - i % 8) & 1 == 1)
                .collect()
        };
        let offset = if net.is_ipv4() { 96 } else { 0 };
        let n = usize::from(len) + offset;
        bits(net)[..n] == bits(ip)[..n]
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
            any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
            // IPv4-mapped, so the two spaces meet.
            any::<u32>().prop_map(|n| IpAddr::V6(Ipv4Addr::from(n).to_ipv6_mapped())),
        ]
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,60}") {
            let _ = split_host_port(&s);
            let _ = Host::parse(&s);
            let _ = Cidr::parse(&s);
            let _ = parse_port(&s, true);
        }

        #[test]
        fn split_gives_back_its_parts(s in "[\\[\\]:%a-f0-9.]{0,24}") {
            if let Ok(p) = split_host_port(&s) {
                let rebuilt = match (p.bracketed, p.port) {
                    (true, Some(port)) => format!("[{}]:{port}", p.host),
                    (true, None) => format!("[{}]", p.host),
                    (false, Some(port)) => format!("{}:{port}", p.host),
                    (false, None) => p.host.to_string(),
                };
                prop_assert_eq!(rebuilt, s);
            }
        }

        #[test]
        fn contains_agrees_with_the_reference(net in any_ip(), len in 0u8..=128, ip in any_ip()) {
            let len = len.min(max_len(net));
            let cidr = Cidr::new(net, len).unwrap();
            prop_assert_eq!(cidr.contains(ip), reference_contains(net, len, ip));
            // A network contains its own address and its network address.
            prop_assert!(cidr.contains(net));
            prop_assert!(cidr.contains(cidr.network()));
        }

        #[test]
        fn display_parses_back_to_the_network(net in any_ip(), len in 0u8..=128) {
            let cidr = Cidr::new(net, len.min(max_len(net))).unwrap();
            let back = Cidr::parse(&cidr.to_string()).unwrap();
            prop_assert_eq!(back.network(), cidr.network());
            prop_assert_eq!(back.prefix_len(), cidr.prefix_len());
        }

        #[test]
        fn ports_round_trip(n in 1u16..) {
            prop_assert_eq!(parse_port(&n.to_string(), false), Ok(n));
        }

        #[test]
        fn ipv4_hosts_count(len in 16u8..=32, a in any::<u32>()) {
            let cidr = Cidr::new(IpAddr::V4(Ipv4Addr::from(a)), len).unwrap();
            let expected = if len >= 31 { cidr.size() } else { cidr.size() - 2 };
            let hosts = cidr.ipv4_hosts().unwrap();
            prop_assert_eq!(hosts.count() as u128, expected);
        }

        #[test]
        fn addresses_are_every_address_in_order(net in any_ip(), len in 0u8..=128) {
            let max = max_len(net);
            let cidr = Cidr::new(net, len.min(max).max(max - 10)).unwrap();
            let all: Vec<IpAddr> = cidr.addresses().collect();
            prop_assert_eq!(all.len() as u128, cidr.size());
            prop_assert_eq!(all[0], cidr.network());
            prop_assert!(all.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(all.iter().all(|a| cidr.contains(*a)));
        }
    }
}
